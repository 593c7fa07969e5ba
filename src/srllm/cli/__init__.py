"""The `srllm` command line: thin typer commands over the Python API."""

from __future__ import annotations

from srllm.cli import align, annotate, check, counterfactual, data, evaluate, export, review, serve, taxonomy, train  # noqa: F401  (each registers its commands)
from srllm.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
