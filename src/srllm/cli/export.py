"""`srllm export`: merge an adapter into its base model (a thin shell over srllm.train.export)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from srllm.cli._app import app, friendly_errors


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
