"""A resumable generation cache: every reply is appended (flushed and fsynced per batch) to a JSONL file keyed by a
hash of (system, conversation, generation settings), so a killed eval restarts where it stopped and a re-run with
the same settings generates nothing."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from srllm.data.writers import read_resume_records, write_jsonl_atomic
from srllm.models.backends import GenerationBackend, GenerationConfig, Messages

__all__ = ["GenerationCache", "cached_generate", "cache_key", "cached_logprobs"]


def cache_key(system: str, conversation: Messages, config: GenerationConfig) -> str:
    # Batch size does not change greedy output; an unset seed is left out so keys made before it existed hold.
    cfg = {k: v for k, v in asdict(config).items() if k != "batch_size" and not (k == "seed" and v is None)}
    blob = json.dumps([system, conversation, cfg], sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()


class GenerationCache:
    """Replies by key, loaded from and appended to one JSONL file (a torn last line from a kill is ignored)."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self._replies: dict[str, str] = {}
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            records = read_resume_records(self.path)
            self._replies = {r["key"]: r["reply"] for r in records if "key" in r and "reply" in r}
            # Rewrite without a torn tail so appends start on a clean line.
            if self.path.exists():
                write_jsonl_atomic(self.path, records)

    def __len__(self) -> int:
        return len(self._replies)

    def get(self, key: str) -> str | None:
        return self._replies.get(key)

    def put_many(self, items: Sequence[tuple[str, str]]) -> None:
        for key, reply in items:
            self._replies[key] = reply
        if self.path is None or not items:
            return
        with self.path.open("a", encoding="utf-8") as f:
            for key, reply in items:
                f.write(json.dumps({"key": key, "reply": reply}, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())


def cached_generate(backend: GenerationBackend, conversations: Sequence[Messages], config: GenerationConfig,
                    cache: GenerationCache, *, system: str, desc: str = "generating",
                    progress: bool = True) -> list[str]:
    """One reply per conversation, generating only what the cache lacks, a batch at a time."""
    keys = [cache_key(system, c, config) for c in conversations]
    unique: dict[str, int] = {}  # each missing key generated once, even if its conversation repeats
    for i, k in enumerate(keys):
        if cache.get(k) is None:
            unique.setdefault(k, i)
    pending = list(unique.values())
    if pending:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pending), desc=f"{desc} ({system})", unit="text", disable=not progress, leave=False)
        step = max(1, config.batch_size)
        for start in range(0, len(pending), step):
            idx = pending[start:start + step]
            replies = backend.generate([conversations[i] for i in idx], config)
            cache.put_many([(keys[i], r) for i, r in zip(idx, replies, strict=True)])
            bar.update(len(idx))
        bar.close()
    return [cache.get(k) or "" for k in keys]


def cached_logprobs(lm, texts: Sequence[str], cache: GenerationCache, *, system: str,
                    batch_size: int = 32) -> tuple[list[float], list[int]]:
    """(summed log-probability, scored tokens) per text under `lm` = (model, tokenizer), scoring only the texts
    the cache lacks (entries are stored as JSON "[sum, count]" strings)."""
    from srllm.models.lm_scoring import sequence_logprobs

    keys = [hashlib.sha1(json.dumps([system, "logprob", t], ensure_ascii=False).encode()).hexdigest() for t in texts]
    missing = list(dict.fromkeys(i for i, k in enumerate(keys) if cache.get(k) is None))
    step = 256  # store as we go, so a killed run keeps what it scored
    for start in range(0, len(missing), step):
        idx = missing[start:start + step]
        sums, counts = sequence_logprobs(lm[0], lm[1], [texts[i] for i in idx], batch_size=batch_size)
        cache.put_many([(keys[i], json.dumps([float(s), int(c)])) for i, s, c in zip(idx, sums, counts,
                                                                                     strict=True)])
    pairs = [json.loads(cache.get(k)) for k in keys]
    return [p[0] for p in pairs], [p[1] for p in pairs]
