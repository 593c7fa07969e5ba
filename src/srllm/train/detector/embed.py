"""Embeddings for the detector's training, with a progress bar and an optional on-disk cache keyed by encoder,
max_seq_length and text (so re-running the training only embeds new texts)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from srllm.atomic import atomic_file
from srllm.detect.encoding import embedding_dim, encode_texts

__all__ = ["EmbeddingCache", "embed_with_progress"]

_CHUNK = 512


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A .npz of {keys: sha1 of text, emb: float32 rows}, one file per encoder + max_seq_length."""

    def __init__(self, folder: Path, encoder_name: str, max_seq_length: int):
        tag = hashlib.sha1(f"{encoder_name}|{max_seq_length}".encode()).hexdigest()[:12]
        self.path = Path(folder) / f"emb-{tag}.npz"
        self.rows: dict[str, np.ndarray] = {}
        if self.path.is_file():
            try:
                with np.load(self.path) as z:
                    self.rows = dict(zip(z["keys"].tolist(), z["emb"], strict=True))
            except (OSError, ValueError, KeyError):
                self.rows = {}  # a damaged cache is rebuilt, never trusted

    def get(self, text: str) -> np.ndarray | None:
        return self.rows.get(_key(text))

    def put(self, texts: list[str], emb: np.ndarray) -> None:
        for t, e in zip(texts, emb, strict=True):
            self.rows[_key(t)] = e

    def save(self) -> None:
        if not self.rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.rows), dtype="U40")
        emb = np.stack(list(self.rows.values())).astype(np.float32)
        with atomic_file(self.path) as tmp, tmp.open("wb") as f:  # a file object: savez adds no ".npz"
            np.savez(f, keys=keys, emb=emb)


def embed_with_progress(encoder, texts: list[str], *, max_seq_length: int, batch_size: int,
                        cache: EmbeddingCache | None = None, description: str = "embedding") -> np.ndarray:
    """Embeddings of `texts` (rows in order), computing only those not in `cache`, with a rich progress bar."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    dim = embedding_dim(encoder)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    todo = []
    for i, t in enumerate(texts):
        hit = cache.get(t) if cache is not None else None
        if hit is None:
            todo.append(i)
        else:
            out[i] = hit
    if not todo:
        return out
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(f"{description} ({len(texts) - len(todo)} cached)", total=len(todo))
        for n, start in enumerate(range(0, len(todo), _CHUNK)):
            idx = todo[start:start + _CHUNK]
            chunk = [texts[i] for i in idx]
            emb = encode_texts(encoder, chunk, max_seq_length=max_seq_length, batch_size=batch_size)
            out[idx] = emb
            if cache is not None:
                cache.put(chunk, emb)
                if n % 20 == 19:
                    cache.save()  # a killed run keeps most of its work
            bar.advance(task, len(idx))
    if cache is not None:
        cache.save()
    return out
