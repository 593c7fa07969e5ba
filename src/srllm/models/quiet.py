"""Loading models without the libraries' noise: no per-tensor "Loading weights" bars from transformers and no
deprecation warnings the libraries raise about each other (peft reads transformers' deprecated
`is_gradient_checkpointing` when it attaches an adapter). A job shows one progress bar of its own; a warning about
the user's own input or settings is not silenced here."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

__all__ = ["quiet_loading"]


@contextmanager
def quiet_loading():
    """Within the block, transformers' progress bars are off (restored after) and library FutureWarnings and
    DeprecationWarnings are ignored."""
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
