"""The typer app objects. Command modules attach to them; no logic lives in the CLI."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps

import typer
from rich.console import Console
from rich.markup import escape

from srllm.errors import SrllmError

app = typer.Typer(name="srllm", help="Detect unsafe text, rewrite it benignly, fine-tune and evaluate LLMs.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
train_app = typer.Typer(help="Train the detector or an SR adapter (SFT/SIT with LoRA, QLoRA, prefix tuning).",
                        no_args_is_help=True)
data_app = typer.Typer(help="Build and inspect CMD data.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(data_app, name="data")

err_console = Console(stderr=True, soft_wrap=True)  # never wrap a message mid-path


@app.callback()
def _before_any_command() -> None:
    # Runs when a command runs (not when srllm.cli is imported), before the command imports torch: OpenMP threads
    # that spin while another process holds the core make torch several times slower on a shared CPU (srllm check
    # on 12 dev texts, load ~8 on 2 cores: 350 s spinning, 90 s passive); passive waiting costs nothing when the CPU
    # is free. The runtime reads the variable once, when torch loads it; a value the user set is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def friendly_errors(fn: Callable) -> Callable:
    """Turn srllm's own errors into one clear line on stderr and exit code 2 (no traceback)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SrllmError as e:
            # escaped: a message may hold brackets ("pip install 'srllm[ray]'") that are not markup
            err_console.print(f"[bold red]error:[/] {escape(str(e))}", markup=True, highlight=False, soft_wrap=True)
            sys.exit(2)
        except KeyboardInterrupt:
            err_console.print("interrupted; re-run the same command to resume where it stopped")
            sys.exit(130)

    return wrapper
