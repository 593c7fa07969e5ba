"""`srllm annotate`: a thin shell over srllm.data.annotate."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from srllm.cli._app import app, err_console, friendly_errors
from srllm.cli.options import Flag, options_from
from srllm.data.annotate.config import AnnotateConfig


@app.command("annotate")
@friendly_errors
@options_from(AnnotateConfig, flags={"out": Flag("--out", "-o"), "annotator": Flag("--annotator", "-a"),
                                     "base_url": Flag("--base-url", envvar="SRLLM_BASE_URL"),
                                     "api_key": Flag("--api-key", envvar="SRLLM_API_KEY", show_default=False)})
def annotate_command(
    input: Path = typer.Argument(..., help="Texts to annotate: .jsonl, .csv, .tsv or .txt (one per line)."),
    config: AnnotateConfig = None,
):
    """Label raw texts into CMD records (bias, toxicity, sentiment, harm, categories, biased words, a benign
    rewrite, a rationale) with an LLM over any OpenAI-compatible endpoint (default: a local `srllm serve`) and/or
    the detector; several annotators are voted, their agreement goes to the summary. Re-run to resume."""
    from srllm.data.annotate.run import annotate_file

    with Progress(TextColumn("[bold]annotate[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[tokens]} tokens"),
                  console=err_console) as progress:
        task = progress.add_task("annotate", total=None, tokens=0)
        report = annotate_file(input, config,
                               on_start=lambda todo, done: progress.update(task, total=todo),
                               on_progress=lambda n, tokens: progress.update(task, advance=n, tokens=tokens))
    s = report.summary
    err_console.print(f"{report.annotated} annotated" + (f", {report.resumed} already done (resumed)"
                                                       if report.resumed else "")
                      + f", {s['failed']} without a valid annotation -> {report.out} (raw: {report.raw}, summary: "
                      f"{report.summary_path})", highlight=False)
    err_console.print("  " + "; ".join(f"{n}: {p['answered']} answered, {p['failed']} failed" + _tokens(p)
                                      for n, p in s["per_annotator"].items()), highlight=False)
    for a in s.get("agreement", []):
        err_console.print(f"  agreement {a['field']}: " + ", ".join(f"{k} {v}" for k, v in a.items()
                                                                   if k != "field"), highlight=False)


def _tokens(counts: dict) -> str:
    """', 1,234 prompt + 56 completion tokens' (all records, resumed ones too); '' for an annotator without any
    (the detector, or an endpoint that reports no usage)."""
    if not counts["prompt_tokens"] and not counts["completion_tokens"]:
        return ""
    return f", {counts['prompt_tokens']:,} prompt + {counts['completion_tokens']:,} completion tokens"
