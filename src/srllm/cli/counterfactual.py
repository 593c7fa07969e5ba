"""`srllm counterfactual`: a thin shell over srllm.data.counterfactual."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from srllm.cli._app import app, err_console, friendly_errors
from srllm.cli.options import Flag, options_from
from srllm.data.counterfactual import CounterfactualConfig
from srllm.errors import SrllmDataError


@app.command("counterfactual")
@friendly_errors
@options_from(CounterfactualConfig, flags={"base_url": Flag("--base-url", envvar="SRLLM_BASE_URL"),
                                           "api_key": Flag("--api-key", envvar="SRLLM_API_KEY", show_default=False)})
def counterfactual_command(
    input: Path | None = typer.Argument(None, help="Neutral sentences: CSV/TSV (column Original, as "
                                        "counterfactual-inhouse.csv), JSONL (key text) or TXT (one per line)."),
    config: CounterfactualConfig = None,
):
    """Demographic variants of neutral sentences by rule-based substitution (pronouns, a/an and verb number
    agree), or with --llm by an LLM with minimal edits (the rule-based variant where its answer fails a check), in
    counterfactual-inhouse.csv's layout and optionally as CMD records."""
    from srllm.data.counterfactual import lexicon, load_groups, run_counterfactual

    console = Console(width=140)
    if config.groups == ["list"]:
        table = Table(title="known groups (column: dimension, singular, plural, adjective, pronoun)")
        for col in ("column", "dimension", "singular", "plural", "adjective", "pronoun"):
            table.add_column(col)
        for c, g in lexicon(load_groups(config.policy)).items():
            table.add_row(c, g.dimension, g.singular, g.plural, g.adjective or "", g.pronoun or "")
        console.print(table)
        return
    if input is None:
        raise SrllmDataError("give the INPUT file of neutral sentences (or --groups list to see the groups)")
    if config.llm:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("[bold]counterfactual --llm[/]"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("ETA"), TimeRemainingColumn(), console=err_console) as progress:
            task = progress.add_task("sentences", total=None)
            run = run_counterfactual(input, config, on_sentence=lambda line: progress.advance(task))
    else:
        run = run_counterfactual(input, config)
    rules = sorted({r for by in run.rules.values() for r in by})
    what = "method used per group (rule: why the LLM's answer was not used)" if config.llm else "rule used per group"
    table = Table(title=f"{config.out}: {len(run.rows)} sentences × {len(run.groups)} groups; {what}")
    for col in ("group", *rules):
        table.add_column(col, justify="left" if col == "group" else "right")
    for col, by in run.rules.items():
        table.add_row(col, *(str(by.get(r, 0)) for r in rules))
    console.print(table)
    console.print(f"wrote {config.out}" + (f" and {run.records} CMD records to {config.cmd_out}"
                                          if config.cmd_out else ""))
    if config.llm:
        console.print(f"methods per variant in {config.raw_path}; {run.resumed} sentences resumed from an earlier "
                      f"run; {run.tokens:,} tokens reported by the endpoint")
