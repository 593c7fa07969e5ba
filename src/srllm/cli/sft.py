"""`srllm data build`, `srllm data mix`, `srllm train sft` and `srllm export`: thin shells over srllm.data.build,
srllm.data.mix, srllm.train.sft and srllm.train.export.

`srllm train sft` takes every field of `SftConfig` as a flag (built from the dataclass, so the two never drift);
flags given on the command line win over `--config FILE.yaml`.
"""

from __future__ import annotations

import inspect
import os
import shlex
import sys
from dataclasses import fields
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from srllm.cli._app import app, data_app, friendly_errors, train_app
from srllm.train.sft_config import SftConfig

# OpenMP threads that spin while another process holds the core make training several times slower on a shared
# CPU; passive waiting costs nothing when the CPU is free. Effective only if torch is not imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@data_app.command("build")
@friendly_errors
def build_command(
    out: Path = typer.Option(Path("runs/cmd.jsonl"), "--out", "-o", help="Output CMD JSONL (written atomically); "
                             "counts go to <out stem>.stats.json beside it."),
    data_dir: Path | None = typer.Option(None, help="Folder with paradetox/ and sr-llm/ (default: the shared data)."),
    seed: int = typer.Option(13, help="Seed of the split hash and of sampling."),
    dev: float = typer.Option(0.03, help="Share of ParaDetox texts in dev."),
    test: float = typer.Option(0.05, help="Share of ParaDetox texts in test."),
    keep_ratio: float = typer.Option(0.2, help="Keep-unchanged examples (neutral text → itself) per rewrite pair."),
    rank_references: bool = typer.Option(False, help="Rank the train split's references by reward with the shipped "
                                         "detector (RAFT-style): target the safe reference closest in meaning; drop "
                                         "pairs with no safe reference and flagged keep-unchanged texts."),
):
    """Build the CMD training JSONL (train/dev/test by source text) from ParaDetox and the SR_LLM CSVs."""
    from srllm.data.build import SPLITS, build_cmd, stats_path

    judge = None
    if rank_references:
        from srllm.detect import Detector

        judge = Detector()
    # The command line as given: options that differ from build_cmd's defaults.
    defaults = inspect.signature(build_cmd).parameters
    given = {"data_dir": data_dir, "seed": seed, "dev": dev, "test": test, "keep_ratio": keep_ratio}
    command = shlex.join(["srllm", "data", "build", "--out", str(out),
                          *(x for k, v in given.items() if v != defaults[k].default
                            for x in ("--" + k.replace("_", "-"), str(v))),
                          *(["--rank-references"] if rank_references else [])])
    stats = build_cmd(out, data_dir=data_dir, seed=seed, dev=dev, test=test, keep_ratio=keep_ratio,
                      reference_judge=judge, command=command)
    console = Console(width=140)
    for title, rows in (("source", stats.by_source_split), ("category", stats.by_category_split)):
        table = Table(title=f"{out}: records by {title} and split")
        for col in (title, *SPLITS, "total"):
            table.add_column(col, justify="left" if col == title else "right")
        for key, counts in sorted(rows.items()):
            table.add_row(key, *(str(counts[s]) for s in SPLITS), str(sum(counts.values())))
        console.print(table)
    console.print("dropped: " + (", ".join(f"{k}: {v}" for k, v in stats.dropped.items()) or "none"))
    console.print(f"wrote {stats.total} records to {out} and counts to {stats_path(out)}")


@data_app.command("mix")
@friendly_errors
def mix_command(
    mix: str = typer.Argument(..., help="FILE.jsonl:RATIO[,FILE.jsonl:RATIO...], e.g. "
                              "general.jsonl:0.8,safety.jsonl:0.2"),
    out: Path = typer.Option(..., "--out", "-o", help="Mixed JSONL (written atomically)."),
    total: int | None = typer.Option(None, help="Rows in the mix (default: as many as the scarcest file allows "
                                     "without repeating rows)."),
    seed: int = typer.Option(0, help="Seed of sampling and shuffling."),
):
    """SIT mixing: blend safety examples into general instruction data by ratio (seeded)."""
    from srllm.data.mix import mix_rows
    from srllm.data.writers import write_jsonl_atomic

    rows, parts = mix_rows(mix, seed=seed, total=total)
    write_jsonl_atomic(out, [{k: v for k, v in r.items() if k not in ("_line", "_mix_source")} for r in rows])
    table = Table(title=f"{out}: {len(rows)} rows")
    for col in ("file", "ratio", "available", "taken", "repeated"):
        table.add_column(col)
    for p in parts:
        table.add_row(str(p.path), f"{p.ratio:.3f}", str(p.available), str(p.taken), "yes" if p.repeated else "no")
    Console(width=140).print(table)


def _sft_options() -> list[inspect.Parameter]:
    params = [inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
                                default=typer.Option(None, "--config", "-c", help="YAML file of these options "
                                                     "(flags given here win; an unknown key is an error)."))]
    helps = SftConfig.field_help()
    defaults = SftConfig.defaults()
    for f in fields(SftConfig):
        flag = "--" + f.name.replace("_", "-")
        default = defaults[f.name]
        shown = ",".join(default) if isinstance(default, list) else default
        help_text = f"{helps[f.name]} [default: {shown}]"
        if isinstance(default, bool):
            ann, decl = bool | None, (f"{flag}/--no-{flag[2:]}",)
        elif isinstance(default, int) and not isinstance(default, bool):
            ann, decl = int | None, (flag,)
        elif isinstance(default, float):
            ann, decl = float | None, (flag,)
        elif f.name in ("max_train_samples", "max_eval_samples", "threads"):
            ann, decl = int | None, (flag,)
        else:
            ann, decl = str | None, (flag,)
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=ann,
                                        default=typer.Option(None, *decl, help=help_text, show_default=False)))
    return params


@friendly_errors
def sft_command(**kwargs):
    """Instruction-tune a causal LM (SFT, or SIT with --mix) with LoRA, prefix tuning or QLoRA; loss on the
    response only; the rewrite prompt rendered by the model's chat template. Multi-GPU:
    `accelerate launch -m srllm.cli train sft --config FILE`."""
    from srllm.train.sft import train_sft

    config = kwargs.pop("config")
    cfg = SftConfig.load(config, **kwargs)
    result = train_sft(cfg, command="srllm " + shlex.join(sys.argv[1:]))
    Console(width=140).print(
        f"adapter: {result.adapter_dir}\nsteps {result.steps}, {result.train_examples} examples, "
        f"{result.seconds / 60:.1f} min, {result.tokens_per_second:.0f} tokens/s, train loss {result.train_loss:.4f}"
        + (f", dev loss {result.eval_loss:.4f}" if result.eval_loss is not None else ""))


sft_command.__signature__ = inspect.Signature(_sft_options())  # type: ignore[attr-defined]
train_app.command("sft")(sft_command)


@app.command("export")
@friendly_errors
def export_command(
    adapter: str = typer.Option(..., help="PEFT adapter folder (or 'default' for the shipped SR adapter)."),
    merge: Path = typer.Option(..., help="Output folder of the merged model (written beside, then renamed)."),
    model: str | None = typer.Option(None, help="Base model (default: the adapter's base; the embedded SmolLM2 "
                                     "for the shipped adapter)."),
    dtype: str = typer.Option("float32", help="dtype of the saved weights: float32, float16 or bfloat16."),
):
    """Merge an adapter into its base model and save a full Hugging Face folder (+ tokenizer) that plain
    transformers loads without srllm."""
    from srllm.train.export import export_merged

    out = export_merged(adapter, merge, model=model, dtype=dtype)
    Console().print(f"wrote {out} (load it with AutoModelForCausalLM.from_pretrained('{out}'))")
