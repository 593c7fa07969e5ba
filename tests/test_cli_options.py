"""Config dataclasses as CLI options (srllm.cli.options.options_from) and the YAML loader (srllm.config): types,
booleans, defaults, help, YAML + flag precedence, unknown keys."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from srllm.cli._app import friendly_errors
from srllm.cli.options import Flag, options_from
from srllm.config import load_config
from srllm.errors import SrllmConfigError

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@dataclass
class Toy:
    name: str = field(default="x", metadata={"help": "A name."})
    n: int = field(default=3, metadata={"help": "How many [at most]."})
    rate: float | None = field(default=None, metadata={"help": "A rate."})
    fast: bool = field(default=False, metadata={"help": "Go fast."})
    keep: bool = field(default=True, metadata={"help": "Keep things."})
    tags: tuple[str, ...] = field(default=("a", "b"), metadata={"help": "Tags."})
    only: tuple[str, ...] | None = field(default=None, metadata={"help": "Only these."})
    grid: list[float] = field(default_factory=lambda: [1.0], metadata={"help": "A grid."})
    files: list[Path] = field(default_factory=list, metadata={"help": "Files."})
    limits: dict[str, int] = field(default_factory=dict, metadata={"help": "Limits."})
    out: Path = field(default=Path("out"), metadata={"help": "Output folder."})

    def __post_init__(self):
        if self.n < 0:
            raise SrllmConfigError(f"n must be >= 0, got {self.n}")


toy_app = typer.Typer()


@toy_app.command()
@friendly_errors
@options_from(Toy, flags={"limits": Flag("--limit-for", metavar="K=N"), "keep": Flag("--keep/--drop")})
def toy(extra: str = typer.Option("e", help="Not a Toy field."), config: Toy = None):
    typer.echo(json.dumps({"extra": extra, **asdict(config)}, default=str))


def run_toy(*args):
    res = runner.invoke(toy_app, list(args))
    return res, (json.loads(res.stdout) if res.exit_code == 0 else None)


def test_no_flags_give_the_dataclass_defaults():
    res, got = run_toy()
    assert res.exit_code == 0, res.output
    assert got == {"extra": "e", **json.loads(json.dumps(asdict(Toy()), default=str))}


def test_flags_are_typed_and_reach_the_config():
    res, got = run_toy("--name", "y", "--n", "5", "--rate", "0.5", "--fast", "--drop", "--tags", "p, q",
                       "--grid", "1,2.5", "--files", "a", "--files", "b,c", "--limit-for", "x=1",
                       "--limit-for", "y=2", "--out", "d", "--extra", "z")
    assert res.exit_code == 0, res.output
    assert got == {"extra": "z", "name": "y", "n": 5, "rate": 0.5, "fast": True, "keep": False, "tags": ["p", "q"],
                   "only": None, "grid": [1.0, 2.5], "files": ["a", "b,c"], "limits": {"x": 1, "y": 2}, "out": "d"}
    res, got = run_toy("--only", "")  # an empty list flag is "not set"
    assert res.exit_code == 0 and got["only"] is None


def test_help_shows_every_field_with_its_help_and_default():
    out = runner.invoke(toy_app, ["--help"], terminal_width=200).output
    for flag in ("--name", "--n ", "--rate", "--fast", "--no-fast", "--keep", "--drop", "--tags", "--grid",
                 "--files", "--limit-for", "--out", "--extra", "--config"):
        assert flag in out, flag
    assert "How many [at most]." in out  # square brackets are not eaten as markup
    assert "[default: 3]" in out and "[default: a,b]" in out and "[default: keep]" in out
    assert "<str,...>" in out and "K=N" in out and "Repeatable." in out


def test_yaml_then_flags_win(tmp_path):
    cfg = tmp_path / "toy.yaml"
    cfg.write_text("name: from-file\nn: 7\ntags: [c]\nfast: true\nlimits: {a: 4}\nrate: 5e-4\n")
    res, got = run_toy("--config", str(cfg), "--n", "9")
    assert res.exit_code == 0, res.output
    assert (got["name"], got["n"], got["tags"], got["fast"], got["limits"], got["rate"]) == \
        ("from-file", 9, ["c"], True, {"a": 4}, 5e-4)
    res, got = run_toy("-c", str(cfg), "--n", "3", "--no-fast")  # a flag equal to the default still wins
    assert res.exit_code == 0 and got["n"] == 3 and got["fast"] is False


@pytest.mark.parametrize("yaml_text,needle", [
    ("nn: 1\n", "toy.yaml: unknown key 'nn'; did you mean 'n'?"),
    ("zzzzzz: 1\n", "unknown key 'zzzzzz'; the keys of Toy: name, n, rate"),
    ("n: four\n", "toy.yaml: n: expected an integer, got 'four'"),
    ("fast: 3\n", "fast: expected true or false, got 3"),
    ("tags: 5\n", "tags: expected a list of strings, got 5"),
    ("n: -1\n", "n must be >= 0, got -1"),
    ("- n\n", "expected a mapping"),
])
def test_bad_yaml_is_one_clear_line(tmp_path, yaml_text, needle):
    cfg = tmp_path / "toy.yaml"
    cfg.write_text(yaml_text)
    res, _ = run_toy("--config", str(cfg))
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output, res.output


@pytest.mark.parametrize("args,needle", [
    (["--grid", "1,x"], "--grid[1]: expected a number, got 'x'"),
    (["--limit-for", "x"], "--limit-for 'x': expected K=N"),
    (["--limit-for", "x=many"], "--limit-for 'x=many': expected K=N"),
    (["--config", "missing.yaml"], "config file missing.yaml does not exist"),
])
def test_bad_flags_are_one_clear_line(args, needle):
    res, _ = run_toy(*args)
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output, res.output


def test_load_config_from_python(tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text("out-dir: x\n")
    with pytest.raises(SrllmConfigError, match="unknown key 'out-dir'; did you mean 'out'"):
        load_config(Toy, cfg)
    cfg.write_text("n: 2\ngrid: '0.5, 2'\nfiles: [a]\n")
    got = load_config(Toy, cfg, name="kw", rate=None)
    assert (got.n, got.grid, got.files, got.name, got.rate) == (2, [0.5, 2.0], [Path("a")], "kw", None)
    with pytest.raises(SrllmConfigError, match="Toy has no field 'nope'"):
        load_config(Toy, nope=1)


def test_shipped_sft_config_loads_as_before():
    from srllm.train.sft_config import SftConfig

    cfg = load_config(SftConfig, ROOT / "configs" / "sft-smollm2-lora.yaml")
    assert (cfg.data, cfg.target_modules, cfg.max_length, cfg.learning_rate, cfg.epochs, cfg.bf16, cfg.save_dtype) == \
        ("runs/cmd-k05-ranked.jsonl", ["all-linear"], 320, 5e-4, 1.0, False, "float16")
