"""`srllm counterfactual`: a thin shell over srllm.data.counterfactual."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from srllm.cli._app import app, friendly_errors
from srllm.cli.options import options_from
from srllm.data.counterfactual import CounterfactualConfig
from srllm.errors import SrllmDataError


@app.command("counterfactual")
@friendly_errors
@options_from(CounterfactualConfig, flags={})
def counterfactual_command(
    input: Path | None = typer.Argument(None, help="Neutral sentences: CSV/TSV (column Original, as "
                                        "counterfactual-inhouse.csv), JSONL (key text) or TXT (one per line)."),
    config: CounterfactualConfig = None,
):
    """Demographic variants of neutral sentences by rule-based substitution (pronouns, a/an and verb number
    agree), in counterfactual-inhouse.csv's layout and optionally as CMD records."""
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
    run = run_counterfactual(input, config)
    rules = sorted({r for by in run.rules.values() for r in by})
    table = Table(title=f"{config.out}: {len(run.rows)} sentences × {len(run.groups)} groups; rule used per group")
    for col in ("group", *rules):
        table.add_column(col, justify="left" if col == "group" else "right")
    for col, by in run.rules.items():
        table.add_row(col, *(str(by.get(r, 0)) for r in rules))
    console.print(table)
    console.print(f"wrote {config.out}" + (f" and {run.records} CMD records to {config.cmd_out}"
                                          if config.cmd_out else ""))
