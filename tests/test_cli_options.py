"""Config dataclasses as CLI options (srllm.cli.options.options_from) and the YAML loader (srllm.config): types,
booleans, defaults, help, YAML + flag precedence, unknown keys; each command still parses the command lines the README
and docs show, and its flags reach its config; OMP_WAIT_POLICY is set when a command runs, not on import."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from srllm.cli import app
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


# The command lines the README and docs show --------------------------------------------------------------------


DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "src" / "srllm" / "assets").glob("*/*.md"))]


def _doc_commands() -> list[tuple[str, list[str]]]:
    """(where, argv after `srllm`) of every `srllm ...` line in a fenced code block of the README and docs."""
    found = []
    for path in DOC_FILES:
        fenced, lines = False, path.read_text("utf-8").splitlines()
        for i, line in enumerate(lines, 1):
            if line.startswith("```"):
                fenced = not fenced
                continue
            j = i
            while fenced and line.endswith("\\") and j < len(lines):  # a command continued on the next line
                line, j = line[:-1] + lines[j], j + 1
            m = re.search(r"(?:^|[\s/|])srllm(?:\.cli)? +(.*)", line) if fenced else None
            if m:
                argv = shlex.split(m.group(1).replace("[", "").replace("]", ""), comments=True)
                found.append((f"{path.name}:{i}", argv))
    return found


def _command(words: list[str]):
    """The deepest command the leading words name, and how many words name it."""
    cmd, k = typer.main.get_command(app), 0
    while k < len(words) and hasattr(cmd, "commands") and words[k] in cmd.commands:
        cmd, k = cmd.commands[words[k]], k + 1
    return cmd, k


def _parse(argv: list[str]) -> None:
    """Parse `srllm ARGV` the way the CLI does, without running the command."""
    cmd, k = _command(argv)
    assert not hasattr(cmd, "commands"), f"srllm {shlex.join(argv)}: no such command"
    cmd.make_context(shlex.join(["srllm", *argv[:k]]), argv[k:])


DOC_COMMANDS = _doc_commands()


def test_docs_show_commands():
    assert len(DOC_COMMANDS) >= 15 and {a[0] for _, a in DOC_COMMANDS} >= {"check", "eval", "train", "data", "export"}


@pytest.mark.parametrize("where,argv", DOC_COMMANDS, ids=[w for w, _ in DOC_COMMANDS])
def test_documented_command_lines_parse(where, argv):
    _parse(argv)


def test_documented_inline_flags_exist():
    """Inline `srllm ...` spans (prose and the benchmark commands) name only options their command has."""
    checked = 0
    for path in DOC_FILES:
        for span in re.findall(r"`srllm ([^`]+)`", path.read_text("utf-8")):
            words = shlex.split(span.replace("[", "").replace("]", ""))
            cmd, _ = _command(words)
            if hasattr(cmd, "commands"):
                continue
            names = {"--help", *(o for p in cmd.params for o in (*p.opts, *p.secondary_opts))}
            for w in words:
                if w.startswith("-") and w != "-":
                    assert w.split("=")[0] in names, f"{path.name}: `srllm {span}`: no option {w} in {cmd.name}"
                    checked += 1
    assert checked >= 10


# Each command's flags reach its config ---------------------------------------------------------------------------


class _Stop(SrllmConfigError):
    pass


def test_check_flags_reach_the_rewrite_config(monkeypatch, tmp_path):
    import srllm.guard
    from srllm.rewrite import RewriteConfig

    seen = {}

    def fake_guard(**kw):
        seen.update(kw)
        raise _Stop("stop")

    monkeypatch.setattr(srllm.guard, "Guard", fake_guard)
    res = runner.invoke(app, ["check", "x"])
    assert res.exit_code == 2 and seen["rewrite_config"] == RewriteConfig()
    runner.invoke(app, ["check", "x", "--similarity-threshold", "0.3", "--max-attempts", "1", "--retry-samples", "0",
                        "--span-edit-categories", "toxicity, bias", "--delete-group-terms", "--batch-size", "8"])
    assert seen["rewrite_config"] == RewriteConfig(similarity_threshold=0.3, max_attempts=1, retry_samples=0,
                                                   span_edit_categories=("toxicity", "bias"), keep_group_terms=False,
                                                   batch_size=8)
    runner.invoke(app, ["check", "x", "--span-edit-categories", "all"])
    assert seen["rewrite_config"].span_edit_categories is None
    cfg = tmp_path / "rw.yaml"
    cfg.write_text("batch_size: 4\nseed: 3\nsimilarity_threshold: 0.5\n")
    runner.invoke(app, ["check", "x", "--config", str(cfg), "--similarity-threshold", "0.7"])
    assert seen["rewrite_config"] == RewriteConfig(batch_size=4, seed=3, similarity_threshold=0.7)
    assert seen["max_chars"] == 20_000 and seen["adapter"] == "default" and seen["quantize"] is None


def test_eval_flags_reach_the_eval_config(monkeypatch, tmp_path):
    import srllm.cli.evaluate
    from srllm.evaluate.runner import EvalConfig

    seen = []

    def fake_run(cfg):
        seen.append(cfg)
        return {"suites": {}}

    monkeypatch.setattr(srllm.cli.evaluate, "run_eval", fake_run)
    monkeypatch.delenv("SRLLM_BASE_URL", raising=False)
    monkeypatch.delenv("SRLLM_API_KEY", raising=False)
    assert runner.invoke(app, ["eval"]).exit_code == 0 and seen[-1] == EvalConfig()
    # docs/benchmarks.md's command
    argv = ("--suite all --adapter default --baseline default --out eval-run --limit 100 --limit-for "
            "counterfactual=20 --limit-for safety=60 --limit-for stereotypes=600 --limit-for detector=2000").split()
    res = runner.invoke(app, ["eval", *argv])
    assert res.exit_code == 0, res.output
    assert seen[-1] == EvalConfig(suites="all", adapter="default", baseline="default", out=Path("eval-run"), limit=100,
                                  suite_limits={"counterfactual": 20, "safety": 60, "stereotypes": 600,
                                                "detector": 2000})
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "x"}\n')
    res = runner.invoke(app, ["eval", "-s", "detox", "-o", str(tmp_path), "--data", str(data), "--data", str(data),
                              "--no-progress", "--threads", "1", "--n-resamples", "20"],
                        env={"SRLLM_API_KEY": "k"})
    assert res.exit_code == 0, res.output
    assert seen[-1] == EvalConfig(suites="detox", out=tmp_path, data=[data, data], progress=False, threads=1,
                                  n_resamples=20, api_key="k")
    run = tmp_path / "run.yaml"
    run.write_text("suites: detox\nsuite_limits: {counterfactual: 40}\nlimit: 5\n")
    assert runner.invoke(app, ["eval", "--config", str(run), "--limit", "7"]).exit_code == 0
    assert seen[-1] == EvalConfig(suites="detox", suite_limits={"counterfactual": 40}, limit=7)


def test_train_commands_build_their_configs(monkeypatch, tmp_path):
    import srllm.train.detector
    import srllm.train.sft
    from srllm.train.detector.config import DetectorTrainConfig
    from srllm.train.sft_config import SftConfig

    seen = {}

    def fake_train(cfg, **kw):
        seen.update(cfg=cfg, omp=os.environ.get("OMP_WAIT_POLICY"))
        raise _Stop("stop")

    monkeypatch.setattr(srllm.train.sft, "train_sft", fake_train)
    monkeypatch.setattr(srllm.train.detector, "train_detector", fake_train)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    res = runner.invoke(app, ["train", "detector", "--sources", "paradetox,srllm", "--no-cache", "--seed", "3",
                              "--c-grid", "1,2", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "stop" in res.output, res.output
    assert seen["cfg"] == DetectorTrainConfig(sources=("paradetox", "srllm"), cache_embeddings=False, seed=3,
                                              c_grid=(1.0, 2.0), out=tmp_path)
    assert seen["omp"] == "PASSIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    cfg = tmp_path / "sft.yaml"
    cfg.write_text("lora_r: 4\ntarget_modules: [q_proj, v_proj]\nlearning_rate: 1.0e-3\n")
    res = runner.invoke(app, ["train", "sft", "-c", str(cfg), "--lora-r", "16", "--data", "d.jsonl", "--bf16"])
    assert res.exit_code == 2 and "stop" in res.output, res.output
    assert seen["cfg"] == SftConfig(lora_r=16, target_modules=["q_proj", "v_proj"], learning_rate=1e-3,
                                    data="d.jsonl", bf16=True)
    assert seen["omp"] == "PASSIVE"


def test_running_a_command_prefers_passive_openmp_waits(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert runner.invoke(app, ["taxonomy", "--json"]).exit_code == 0
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's choice is kept
    runner.invoke(app, ["taxonomy", "--json"])
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_importing_the_cli_changes_no_environment():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    code = "import os, sys, srllm.cli; print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["None", "False"]
