"""The rewrite policy: ask the LLM for a benign rewrite, re-check it (detector safe? meaning kept?), retry with a
stricter prompt, then fall back to a minimal edit of the flagged spans. Each result says which path was taken."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from srllm.errors import SrllmConfigError
from srllm.models.backends import GenerationBackend, GenerationConfig
from srllm.rewrite.clean import clean_rewrite
from srllm.rewrite.edit import remove_spans
from srllm.rewrite.prompts import build_messages
from srllm.schema import RewriteResult

__all__ = ["RewriteConfig", "Rewriter"]


@dataclass
class RewriteConfig:
    similarity_threshold: float = field(default=0.6, metadata={
        "help": "Minimum MiniLM cosine between input and rewrite for the rewrite to count as meaning-preserving."})
    max_attempts: int = field(default=2, metadata={
        "help": "LLM attempts per text (the second uses a stricter prompt) before the span-edit fallback."})
    span_fallback: bool = field(default=True, metadata={"help": "Delete flagged spans when the LLM attempts fail."})
    max_new_tokens: int | None = field(default=None, metadata={
        "help": "Token budget of a rewrite; default scales with the input length (32..512)."})
    batch_size: int = field(default=16, metadata={"help": "Texts generated at once."})

    def __post_init__(self):
        if not 0.0 <= self.similarity_threshold <= 1.0:
            raise SrllmConfigError(f"similarity_threshold must be in [0, 1], got {self.similarity_threshold}")
        if self.max_attempts < 0:
            raise SrllmConfigError(f"max_attempts must be >= 0, got {self.max_attempts}")


class Rewriter:
    """Rewrites unsafe texts with an LLM backend, checked by a detector (anything with `is_unsafe`,
    `unsafe_probability`, `similarity` and `spans`, e.g. `srllm.detect.Detector`)."""

    def __init__(self, *, backend: GenerationBackend | None, detector, config: RewriteConfig | None = None):
        self.backend, self.detector = backend, detector
        self.config = config or RewriteConfig()

    def _token_budget(self, texts: list[str]) -> int:
        if self.config.max_new_tokens:
            return self.config.max_new_tokens
        longest = max(len(t) for t in texts)
        return int(min(512, max(32, longest / 3 + 24)))  # ~3-4 characters a token in English

    def _judge(self, sources: list[str], outputs: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(unsafe?, similarity) per (source, output) pair; an empty output is unsafe with similarity 0."""
        unsafe = np.ones(len(outputs), dtype=bool)
        sims = np.zeros(len(outputs), dtype=float)
        idx = [i for i, o in enumerate(outputs) if o.strip()]
        if idx:
            unsafe[idx] = self.detector.is_unsafe([outputs[i] for i in idx])
            sims[idx] = self.detector.similarity([sources[i] for i in idx], [outputs[i] for i in idx])
        return unsafe, sims

    def _why(self, source: str, output: str, unsafe: bool, sim: float) -> str | None:
        if not output.strip():
            return "empty output (refusal or only an explanation)"
        if output.strip() == source.strip():
            return "returned the input unchanged"
        if unsafe:
            return "the detector still flags the output"
        if sim < self.config.similarity_threshold:
            return f"meaning not kept (similarity {sim:.2f} < {self.config.similarity_threshold})"
        return None

    def rewrite(self, texts: list[str]) -> list[RewriteResult]:
        """One RewriteResult per (unsafe) text, in order."""
        results: list[RewriteResult | None] = [None] * len(texts)
        reasons: dict[int, str] = {}
        pending = list(range(len(texts)))
        for attempt in range(self.config.max_attempts if self.backend is not None else 0):
            if not pending:
                break
            sources = [texts[i] for i in pending]
            gen = GenerationConfig(max_new_tokens=self._token_budget(sources), batch_size=self.config.batch_size)
            raw = self.backend.generate([build_messages(t, strict=attempt > 0) for t in sources], gen)
            outputs = [clean_rewrite(r, s) for r, s in zip(raw, sources, strict=True)]
            unsafe, sims = self._judge(sources, outputs)
            still = []
            for k, i in enumerate(pending):
                why = self._why(texts[i], outputs[k], bool(unsafe[k]), float(sims[k]))
                if why is None:
                    results[i] = RewriteResult(output=outputs[k], action="rewritten", similarity=float(sims[k]),
                                               attempts=attempt + 1, output_unsafe=False)
                else:
                    reasons[i] = f"attempt {attempt + 1}: {why}"
                    still.append(i)
            pending = still
        attempts = self.config.max_attempts if self.backend is not None else 0
        for i in pending:
            results[i] = self._edit(texts[i], attempts, reasons.get(i))
        return results  # type: ignore[return-value]

    def _edit(self, text: str, attempts: int, reason: str | None) -> RewriteResult:
        if self.config.span_fallback:
            spans = sorted(self.detector.spans(text), key=lambda s: -s.score)
            # Delete the strongest spans first, one more at a time, and keep the first edit that is safe.
            candidates = [remove_spans(text, spans[:k]) for k in range(1, len(spans) + 1)]
            candidates = [c for c in candidates if c.strip()]
            if candidates:
                unsafe, sims = self._judge([text] * len(candidates), candidates)
                for c, u, s in zip(candidates, unsafe, sims, strict=True):
                    if not u and s >= self.config.similarity_threshold:
                        return RewriteResult(output=c, action="edited", similarity=float(s), attempts=attempts,
                                             output_unsafe=False, reason=reason)
                reason = (reason + "; " if reason else "") + "span edit: no edit was both safe and close in meaning"
            else:
                reason = (reason + "; " if reason else "") + "span edit: no span found to remove"
        # Nothing safe was found: hand back the input and say so; callers should block a failed text.
        return RewriteResult(output=text, action="failed", similarity=1.0, attempts=attempts, output_unsafe=True,
                             reason=reason)
