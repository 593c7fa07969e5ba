"""A system under evaluation: a model (+ adapter) behind a generation backend, able to rewrite texts with the
SR_LLM prompt, answer prompts, and (for in-process models) score text by log-likelihood. `identity` is the
return-the-input-unchanged baseline for the rewriting suites."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from srllm.errors import SrllmConfigError
from srllm.evaluate.gen_cache import GenerationCache, cached_generate, cached_logprobs
from srllm.models.backends import GenerationBackend, GenerationConfig

__all__ = ["SystemSpec", "System", "IDENTITY", "rewrite_budget"]

IDENTITY = "identity"


@dataclass(frozen=True)
class SystemSpec:
    """How to build a system from command-line options."""

    label: str  # "model" or "baseline": its key in results.json
    model: str | None = None  # None/'default': the embedded SmolLM2; 'identity': return the input
    adapter: str | None = "default"  # 'default' (the shipped SR adapter for the embedded model), 'none', a path
    base_url: str | None = None
    api_key: str | None = None

    def __post_init__(self):
        if not self.label.isidentifier():
            raise SrllmConfigError(f"system label '{self.label}' must be a simple name like 'model' or 'baseline'")


def rewrite_budget(texts: Sequence[str]) -> int:
    """New-token budget for rewriting a batch: ~3-4 characters a token, 32..256 tokens."""
    longest = max((len(t) for t in texts), default=0)
    return int(min(256, max(32, longest / 3 + 24)))


class System:
    """One evaluated system. Build from a spec (lazy loading) or inject a backend / LM for tests."""

    def __init__(self, label: str, *, name: str | None = None, backend: GenerationBackend | None = None,
                 lm=None, spec: SystemSpec | None = None, identity: bool = False, batch_size: int = 16,
                 max_new_tokens: int | None = None):
        self.label, self.spec, self.identity, self.batch_size = label, spec, identity, batch_size
        self.max_new_tokens = max_new_tokens  # a cap on every generation (None: per-task budgets)
        self._backend, self._lm = backend, lm
        self.name = name or self._describe()

    @classmethod
    def from_spec(cls, spec: SystemSpec, *, batch_size: int = 16, max_new_tokens: int | None = None) -> System:
        return cls(spec.label, spec=spec, identity=str(spec.model).lower() == IDENTITY, batch_size=batch_size,
                   max_new_tokens=max_new_tokens)

    def _budget(self, tokens: int) -> int:
        return min(tokens, self.max_new_tokens) if self.max_new_tokens else tokens

    def _describe(self) -> str:
        if self.identity:
            return "identity (input returned unchanged)"
        if self.spec is None:
            return getattr(self._backend, "name", self.label)
        from srllm.models.loading import _DEFAULT_NAMES, resolve_adapter

        model = self.spec.model if self.spec.model not in _DEFAULT_NAMES else "SmolLM2-135M-Instruct (embedded)"
        if self.spec.base_url:
            return f"{model} @ {self.spec.base_url}"
        adapter = resolve_adapter(self.spec.adapter, model_is_default=self.spec.model in _DEFAULT_NAMES)
        if adapter is None:
            return f"{model}, no adapter"
        shipped = "sr-adapter-smollm2-135m"
        return f"{model} + {'shipped SR adapter' if Path(adapter).name == shipped else adapter}"

    @property
    def backend(self) -> GenerationBackend:
        if self._backend is None:
            if self.identity:
                raise SrllmConfigError("the identity system does not generate; it only returns rewriting inputs")
            from srllm.models import make_backend

            s = self.spec
            self._backend = make_backend(model=s.model, adapter=s.adapter, base_url=s.base_url, api_key=s.api_key)
        return self._backend

    @property
    def can_generate(self) -> bool:
        return not self.identity

    @property
    def lm(self):
        """(model, tokenizer) for log-likelihood scoring, or None (OpenAI endpoints, identity)."""
        if self._lm is None and not self.identity and (self.spec is None or not self.spec.base_url):
            backend = self.backend
            if hasattr(backend, "model") and hasattr(backend, "tokenizer"):
                self._lm = (backend.model, backend.tokenizer)
        return self._lm

    @property
    def cache_id(self) -> str:
        """The system name plus a fingerprint of its local adapter weights, so retrained weights at the same path
        never get the old adapter's cached generations."""
        if self.spec is None or not self.spec.adapter or self.spec.base_url:
            return self.name
        from srllm.models.loading import _DEFAULT_NAMES, adapter_fingerprint, resolve_adapter

        digest = adapter_fingerprint(resolve_adapter(self.spec.adapter,
                                                     model_is_default=self.spec.model in _DEFAULT_NAMES))
        return f"{self.name}#{digest}" if digest else self.name

    def _cache(self, cache_dir: Path | None) -> GenerationCache:
        """One cache file per system (by name and adapter fingerprint, not label), so a model's generations are
        reused whether it runs as the model under test or as a baseline."""
        if cache_dir is None:
            return GenerationCache(None)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("_")[:80]
        digest = hashlib.sha1(self.cache_id.encode()).hexdigest()[:8]
        return GenerationCache(cache_dir / f"{slug}-{digest}.jsonl")

    def rewrite(self, texts: Sequence[str], *, cache_dir: Path | None = None, progress: bool = True,
                desc: str = "rewriting") -> list[str]:
        """The system's rewrite of each text with the SR_LLM prompt, cleaned of preambles ('' if it refused)."""
        from srllm.rewrite import build_messages, clean_rewrite

        texts = list(texts)
        if self.identity:
            return texts
        cache = self._cache(cache_dir)
        out: list[str] = [""] * len(texts)
        # Similar lengths share a token budget, so short texts are not padded to the longest one's budget.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunk = max(1, self.batch_size) * 8
        for start in range(0, len(order), chunk):
            idx = order[start:start + chunk]
            cfg = GenerationConfig(max_new_tokens=self._budget(rewrite_budget([texts[i] for i in idx])),
                                   batch_size=self.batch_size)
            raw = cached_generate(self.backend, [build_messages(texts[i]) for i in idx], cfg, cache,
                                  system=self.cache_id, desc=desc, progress=progress)
            for i, r in zip(idx, raw, strict=True):
                out[i] = clean_rewrite(r, texts[i])
        return out

    def respond(self, prompts: Sequence[str], *, cache_dir: Path | None = None, progress: bool = True,
                max_new_tokens: int = 96, desc: str = "responding") -> list[str]:
        """The system's reply to each prompt as a single user turn (greedy)."""
        if self.identity:
            raise SrllmConfigError("the identity baseline cannot answer prompts; use it for rewriting suites only")
        cfg = GenerationConfig(max_new_tokens=self._budget(max_new_tokens), batch_size=self.batch_size)
        convs = [[{"role": "user", "content": p}] for p in prompts]
        return cached_generate(self.backend, convs, cfg, self._cache(cache_dir), system=self.cache_id, desc=desc,
                               progress=progress)

    def logprobs(self, texts: Sequence[str], *, cache_dir: Path | None = None):
        """(summed log-probability, scored tokens) arrays per text under the system's own LM (cached)."""
        import numpy as np

        lm = self.lm
        if lm is None:
            raise SrllmConfigError(f"{self.name} has no in-process LM to score text with")
        cache = GenerationCache(self._cache(cache_dir).path.with_suffix(".scores.jsonl") if cache_dir else None)
        sums, counts = cached_logprobs(lm, list(texts), cache, system=self.cache_id)
        return np.asarray(sums, dtype=float), np.asarray(counts, dtype=int)
