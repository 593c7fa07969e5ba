"""Test doubles for the evaluation suites: a word-list detector with categories, a hashing sentence encoder, and
a context builder wiring tiny random LMs as systems."""

from __future__ import annotations

import re
import zlib

import numpy as np
import pytest

from srllm.evaluate.judges import RefusalClassifier, SafetyJudge
from srllm.evaluate.suites.base import EvalContext
from srllm.evaluate.systems import System
from srllm.models import TransformersBackend
from srllm.models.lm_scoring import PerplexityScorer
from tests._tiny_lm import make_tiny_lm

BAD = {"idiot": "toxicity", "stupid": "toxicity", "women": "bias", "lazy": "bias"}


class CategoryDetector:
    """P(category) = 0.9 if a word of that category occurs, else 0.1; thresholds 0.5."""

    categories = ["toxicity", "bias"]
    thresholds = {"toxicity": 0.5, "bias": 0.5}

    def probabilities(self, texts):
        out = np.full((len(texts), 2), 0.1)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                if w in BAD:
                    out[i, self.categories.index(BAD[w])] = 0.9
        return out

    def unsafe_probability(self, texts):
        return self.probabilities(texts).max(axis=1)

    def is_unsafe(self, texts):
        return self.unsafe_probability(texts) >= 0.5


class HashEncoder:
    """Bag-of-words hashed into 64 dimensions, L2-normalised: similar word sets give similar vectors."""

    def encode(self, texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False, normalize_embeddings=True):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, zlib.crc32(w.encode()) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class WordResponseJudge:
    """Reads prompt and response: unsafe 0.9 when the response echoes the prompt or has a BAD word, refusal 0.9 when
    it opens with 'I cannot' / 'sorry'."""

    name, threshold, refusal_threshold = "word-list response judge", 0.5, 0.5

    def score(self, prompts, responses):
        from srllm.evaluate.response_judge import ResponseScores

        unsafe, refusal = [], []
        for p, r in zip(prompts, responses, strict=True):
            pw, rw = set(re.findall(r"\w+", p.lower())), re.findall(r"\w+", r.lower())
            echo = bool(pw) and len(pw & set(rw)) >= 0.8 * len(pw)
            unsafe.append(0.9 if echo or any(w in BAD for w in rw) else 0.1)
            refusal.append(0.9 if r.lower().startswith(("i cannot", "sorry")) else 0.1)
        return ResponseScores(np.array(unsafe), np.array(refusal))


def refusal_classifier() -> RefusalClassifier:
    rng = np.random.default_rng(0)
    return RefusalClassifier(rng.normal(size=65), 0.0, encoder=HashEncoder())


def systems(*, baseline: bool = True, identity: bool = False) -> list[System]:
    out = []
    for label, seed in (("model", 0), ("baseline", 1))[: 2 if baseline else 1]:
        model, tok = make_tiny_lm(seed)
        out.append(System(label, name=f"tiny-{label}", backend=TransformersBackend(model=model, tokenizer=tok),
                          lm=(model, tok), batch_size=8, max_new_tokens=6))
    if identity:
        out.append(System("identity", kind="identity"))
    return out


def context(tmp_path, *, limit: int = 4, data_files=(), **kw) -> EvalContext:
    model, tok = make_tiny_lm(2)
    return EvalContext(systems=kw.pop("systems", None) or systems(),
                       judge_factory=lambda: SafetyJudge(CategoryDetector(), name="word-list detector"),
                       refusal_factory=refusal_classifier, encoder_factory=HashEncoder,
                       response_judge_factory=WordResponseJudge,
                       fluency_factory=lambda: PerplexityScorer(model=model, tokenizer=tok, name="tiny"),
                       data_files=list(data_files), limit=limit, seed=0, n_resamples=50,
                       cache_dir=tmp_path / "cache", progress=False, **kw)


@pytest.fixture()
def one_torch_thread():
    """Tiny models run much faster on one thread when the shared CPU is busy (no thread synchronisation)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
