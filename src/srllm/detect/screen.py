"""A first pass that spares the encoder the texts it is sure about: the detector's cascade (`Detector(screen=True)`,
`srllm check --screen`; off by default).

The screen is a bag of word pieces (the encoder's own tokenizer): the mean of one learnt vector per word piece, then
a small MLP, giving for every head an estimate of the detector's calibrated score sigmoid(logit(p) -
logit(threshold)), which is >= 0.5 exactly where that head flags. It is distilled from the detector it screens for
(srllm.train.screen: trained on that detector's scores of its own training texts), and its two cut-offs are set on
the detector's validation texts so that each side changes at most a set share of the detector's decisions there:

- every estimate below `clear_below`: the text is safe, and the encoder never sees it;
- some estimate at or above `flag_above`: the text is unsafe, with the screen's estimates as its probabilities;
- anything between, and texts of more than `max_tokens` word pieces: the encoder decides, as without a screen.

A text the screen decides carries the screen's estimates (turned back into probabilities at the heads' thresholds),
not the encoder's: rankings and category names can differ slightly from the full detector's. Figures:
docs/benchmarks.md, "Detector speed: per-channel int8 and a first-pass screen".

Files in a screen folder (by default `screen/` inside the heads folder): screen.safetensors (the word-piece vectors
of the word pieces seen in training, their ids, the MLP), screen.json (categories, the heads' thresholds it was
distilled at, the cut-offs, metrics) and tokenizer.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from srllm.atomic import atomic_file
from srllm.detect.heads import sigmoid
from srllm.errors import SrllmModelError

__all__ = ["Screen", "SCREEN_DIR", "SCREEN_FORMAT"]

SCREEN_DIR = "screen"
SCREEN_FORMAT = "srllm-screen-1"


class Screen:
    """The bag-of-word-pieces first pass (module doc). `vocab_ids`: the tokenizer ids that have a vector (row k of
    `vectors` belongs to vocab_ids[k]); other word pieces are skipped. `layers`: [(w, b), ...] of the MLP, ReLU
    between layers, one output per category."""

    def __init__(self, *, tokenizer, vocab_ids: np.ndarray, vectors: np.ndarray, layers: list, categories: list[str],
                 thresholds: dict[str, float], clear_below: float = 0.0, flag_above: float = 1.01,
                 max_tokens: int = 64, info: dict | None = None):
        if not 0.0 <= clear_below <= 0.5 <= flag_above:
            raise SrllmModelError(f"a screen needs clear_below <= 0.5 <= flag_above, got {clear_below} and "
                                  f"{flag_above}")
        self.tokenizer = tokenizer
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.vocab_ids = np.asarray(vocab_ids, dtype=np.int64)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.layers = [(np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)) for w, b in layers]
        self.categories, self.thresholds = list(categories), dict(thresholds)
        self.clear_below, self.flag_above, self.max_tokens = float(clear_below), float(flag_above), int(max_tokens)
        self.info = info or {}
        self._row = np.full(max(self.tokenizer.get_vocab_size(), int(self.vocab_ids.max(initial=0)) + 1), -1,
                            dtype=np.int64)
        self._row[self.vocab_ids] = np.arange(len(self.vocab_ids))

    def word_pieces(self, texts: list[str]) -> list[list[int]]:
        """Tokenizer ids of each text, without special tokens."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def scores(self, texts: list[str], pieces: list[list[int]] | None = None) -> np.ndarray:
        """Estimated calibrated scores, shape (n, len(categories)) (module doc)."""
        pieces = self.word_pieces(texts) if pieces is None else pieces
        dim = self.vectors.shape[1]
        bags = np.zeros((len(pieces), dim), dtype=np.float32)
        rows = [self._row[np.asarray(p, dtype=np.int64)] if p else np.zeros(0, dtype=np.int64) for p in pieces]
        rows = [r[r >= 0] for r in rows]
        lengths = np.array([len(r) for r in rows])
        if lengths.sum():
            flat = self.vectors[np.concatenate(rows)]
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            has = lengths > 0
            bags[has] = np.add.reduceat(flat, starts[has], axis=0) / lengths[has, None]
        x = bags
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return sigmoid(x)

    def decide(self, texts: list[str], columns: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(sure, scores): which texts the screen decides on the given category columns, and its scores there."""
        pieces = self.word_pieces(texts)
        scores = self.scores(texts, pieces)[:, columns]
        top = scores.max(axis=1) if scores.shape[1] else np.zeros(len(texts), dtype=np.float32)
        short = np.array([len(p) <= self.max_tokens for p in pieces], dtype=bool)
        return short & ((top < self.clear_below) | (top >= self.flag_above)), scores

    # -- files -------------------------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write screen.safetensors, screen.json and tokenizer.json into `folder` (each atomically)."""
        from safetensors.numpy import save_file

        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        tensors = {"vocab_ids": self.vocab_ids.astype(np.int32), "vectors": self.vectors.astype(np.float16)}
        for i, (w, b) in enumerate(self.layers):
            tensors[f"w{i}"], tensors[f"b{i}"] = w.astype(np.float16), b.astype(np.float16)
        with atomic_file(path / "screen.safetensors") as tmp:
            save_file(tensors, str(tmp))
        with atomic_file(path / "tokenizer.json") as tmp:
            tmp.write_text(self.tokenizer.to_str(), encoding="utf-8")
        meta = {"format": SCREEN_FORMAT, "categories": self.categories, "thresholds": self.thresholds,
                "clear_below": self.clear_below, "flag_above": self.flag_above, "max_tokens": self.max_tokens,
                "layers": len(self.layers), **({"info": self.info} if self.info else {})}
        with atomic_file(path / "screen.json") as tmp:
            tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Screen:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = Path(folder)
        for name in ("screen.json", "screen.safetensors", "tokenizer.json"):
            if not (path / name).is_file():
                raise SrllmModelError(f"screen folder '{path}' has no {name}; distil one with `srllm train screen`")
        meta = json.loads((path / "screen.json").read_text(encoding="utf-8"))
        if meta.get("format") != SCREEN_FORMAT:
            raise SrllmModelError(f"{path / 'screen.json'}: format {meta.get('format')!r} is not {SCREEN_FORMAT!r}")
        t = {k: v.astype(np.float32) if v.dtype == np.float16 else v
             for k, v in load_file(str(path / "screen.safetensors")).items()}
        layers = [(t[f"w{i}"], t[f"b{i}"]) for i in range(meta["layers"])]
        return cls(tokenizer=Tokenizer.from_file(str(path / "tokenizer.json")), vocab_ids=t["vocab_ids"],
                   vectors=t["vectors"], layers=layers, categories=meta["categories"],
                   thresholds=meta["thresholds"], clear_below=meta["clear_below"], flag_above=meta["flag_above"],
                   max_tokens=meta["max_tokens"], info=meta.get("info"))
