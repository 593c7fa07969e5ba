"""What the judges made of small heads on MiniLM features (`judges.RefusalClassifier`,
`response_judge.ResponseJudge`) share: the encoder loaded on first use, and reading the safetensors + JSON folder
they are saved in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from srllm.errors import SrllmModelError

__all__ = ["LazyEncoder", "read_head_folder"]


class LazyEncoder:
    """`self.encoder`: the one given to the constructor (kept in `self._encoder`), else the embedded MiniLM, loaded
    on first use so that building a judge from its files costs nothing until it scores."""

    _encoder = None

    @property
    def encoder(self):
        if self._encoder is None:
            from srllm.models import load_sentence_encoder

            self._encoder = load_sentence_encoder()
        return self._encoder


def read_head_folder(path: Path, *, weights: str, meta: str, fmt: str,
                     missing: str) -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, metadata) of the heads saved as `path/weights` (safetensors) and `path/meta` (JSON, whose "format"
    must be `fmt`); raises SrllmModelError with the message `missing` when either file is not there."""
    from safetensors.numpy import load_file

    weights_path, meta_path = path / weights, path / meta
    if not weights_path.is_file() or not meta_path.is_file():
        raise SrllmModelError(missing)
    metadata = json.loads(meta_path.read_text("utf-8"))
    if metadata.get("format") != fmt:
        raise SrllmModelError(f"{meta_path}: format {metadata.get('format')!r} is not {fmt!r}")
    return load_file(str(weights_path)), metadata
