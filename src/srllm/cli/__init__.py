"""The `srllm` command line: thin typer commands over the Python API."""

from __future__ import annotations

import srllm.cli.evaluate  # noqa: F401  (registers srllm eval)
import srllm.cli.sft  # noqa: F401  (data build/mix, train sft, export; sets OMP_WAIT_POLICY before torch loads)
from srllm.cli import check, detector, taxonomy  # noqa: F401  (registers commands)
from srllm.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
