"""`srllm taxonomy`: print the active taxonomy."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from srllm.cli._app import app, friendly_errors
from srllm.taxonomy import load_policy


@app.command("taxonomy")
@friendly_errors
def taxonomy_command(
    policy: Path | None = typer.Option(None, help="YAML policy that adds, disables or re-thresholds categories."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
):
    """Print the risk categories with severities, thresholds and mappings (Llama Guard 3, OpenAI)."""
    tax = load_policy(policy)
    rows = tax.rows()
    if as_json:
        import json

        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="srllm taxonomy" + (f" + {policy}" if policy else ""), show_lines=False)
    for col in ("id", "severity", "threshold", "enabled", "llama_guard", "openai", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["id"], r["severity"], f"{r['threshold']:.2f}", "yes" if r["enabled"] else "no",
                      r["llama_guard"], r["openai"], r["description"])
    Console(width=160).print(table)
