"""A system under evaluation, of one of four kinds:

- `llm`: a model (+ adapter) behind a generation backend. It rewrites texts with the SR_LLM prompt (zero-shot, or
  few-shot with srllm.rewrite.prompts.FEW_SHOT_EXAMPLES), answers prompts and, in process, scores text by
  log-likelihood;
- `pipeline`: the whole `srllm check` (srllm.guard.Guard.check: detector gate, rewrite, re-check, strict retry,
  span edit, sampled rewrites) with that model + adapter; it only rewrites;
- `identity`: the input returned unchanged; `reference`: the first human reference (datasets that have one).

`named_spec` builds the systems `srllm eval --systems` names (NAMED_SYSTEMS)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from srllm.errors import SrllmConfigError, did_you_mean
from srllm.evaluate.gen_cache import GenerationCache, cache_key, cached_generate, cached_logprobs
from srllm.models.backends import GenerationBackend, GenerationConfig
from srllm.rewrite.rewriter import rewrite_budget

__all__ = ["SystemSpec", "System", "IDENTITY", "KINDS", "NAMED_SYSTEMS", "named_spec", "pipeline_fingerprint",
           "REWRITE_CAP"]

IDENTITY = "identity"
KINDS = ("llm", "pipeline", "identity", "reference")
NAMED_SYSTEMS = {
    "identity": "the input returned unchanged",
    "zero-shot": "--model without an adapter, asked with the SR_LLM rewrite prompt",
    "few-shot": "the same with the prompt's few-shot examples (srllm.rewrite.prompts.FEW_SHOT_EXAMPLES)",
    "adapter": "--model + --adapter with the SR_LLM rewrite prompt (as at inference)",
    "pipeline": "the whole `srllm check` (srllm.guard.Guard.check) with --model + --adapter",
    "reference": "the first human reference (datasets that have references)",
}
# Rewrite token budget cap of the LLM systems: 256, where `srllm check` allows 512, so the tables recorded in
# docs/benchmarks.md stay comparable (it changes only inputs over ~700 characters, some infer_50 paragraphs).
REWRITE_CAP = 256
_SIMPLE_NAMES = {"identity": "identity (input returned unchanged)", "reference": "human reference (the first one)"}
_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class SystemSpec:
    """How to build a system from command-line options."""

    label: str  # its key in results.json: "model", "baseline", or a NAMED_SYSTEMS name
    model: str | None = None  # None/'default': the embedded SmolLM2; 'identity': return the input
    adapter: str | None = "default"  # 'default' (the shipped SR adapter for the embedded model), 'none', a path
    base_url: str | None = None
    api_key: str | None = None
    kind: str = "llm"  # one of KINDS
    few_shot: bool = False  # llm: put FEW_SHOT_EXAMPLES before the text
    rewrite_options: dict = field(default_factory=dict)  # pipeline: RewriteConfig fields

    def __post_init__(self):
        if not _LABEL.fullmatch(self.label):
            raise SrllmConfigError(f"system label '{self.label}' must be a simple name like 'model' or 'zero-shot'")
        if self.kind not in KINDS:
            raise SrllmConfigError(f"system kind '{self.kind}' is unknown; kinds: {', '.join(KINDS)}")


def named_spec(name: str, *, model: str | None = None, adapter: str | None = "default", base_url: str | None = None,
               api_key: str | None = None, rewrite_options: dict | None = None) -> SystemSpec:
    """The spec of a NAMED_SYSTEMS entry, labelled with its name."""
    if name not in NAMED_SYSTEMS:
        raise SrllmConfigError(f"unknown system '{name}'. {did_you_mean(name, NAMED_SYSTEMS, n=2)} Available: "
                               f"{', '.join(NAMED_SYSTEMS)}".replace(".  ", ". "))
    if name in _SIMPLE_NAMES:
        return SystemSpec(name, kind=name)
    llm = dict(model=model, base_url=base_url, api_key=api_key)
    if name == "pipeline":
        return SystemSpec(name, adapter=adapter, kind="pipeline", rewrite_options=dict(rewrite_options or {}), **llm)
    return SystemSpec(name, adapter=adapter if name == "adapter" else "none", few_shot=name == "few-shot", **llm)


def pipeline_fingerprint(options: dict, adapter: str | None) -> str:
    """12 hex digits over what decides the pipeline's outputs besides the model: its RewriteConfig options (the
    batch size aside), the adapter's weights, the code of srllm.guard, srllm.rewrite and srllm.detect, the group
    lexicon (srllm.data.group_lexicon), the taxonomy and the detector's shipped heads. A changed policy, detector or
    adapter is never served old outputs."""
    import srllm
    from srllm.detect import default_heads_dir
    from srllm.models import adapter_fingerprint

    root = Path(srllm.__file__).resolve().parent
    files = [root / "guard.py"]
    if (root / "data" / "group_lexicon.py").is_file():  # the span edit's group words and the generalisation check
        files.append(root / "data" / "group_lexicon.py")
    for pkg in ("rewrite", "detect", "taxonomy"):
        files += sorted(p for p in (root / pkg).rglob("*") if p.suffix in (".py", ".yaml"))
    heads = Path(default_heads_dir())
    files += sorted(p for p in heads.rglob("*") if p.is_file()) if heads.is_dir() else []
    opts = {k: v for k, v in options.items() if k != "batch_size"}
    h = hashlib.sha256(json.dumps([opts, adapter_fingerprint(adapter)], sort_keys=True, default=str).encode())
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


class System:
    """One evaluated system. Build from a spec (lazy loading) or inject a backend / LM / guard for tests."""

    def __init__(self, label: str, *, name: str | None = None, backend: GenerationBackend | None = None,
                 lm=None, guard=None, spec: SystemSpec | None = None, kind: str = "llm", few_shot: bool = False,
                 batch_size: int = 16, max_new_tokens: int | None = None):
        if kind not in KINDS:
            raise SrllmConfigError(f"system kind '{kind}' is unknown; kinds: {', '.join(KINDS)}")
        self.label, self.spec, self.kind, self.few_shot, self.batch_size = label, spec, kind, few_shot, batch_size
        self.max_new_tokens = max_new_tokens  # a cap on every generation (None: per-task budgets)
        self._backend, self._lm, self._guard = backend, lm, guard
        self.name = name or self._describe()

    @classmethod
    def from_spec(cls, spec: SystemSpec, *, batch_size: int = 16, max_new_tokens: int | None = None) -> System:
        kind = IDENTITY if str(spec.model).lower() == IDENTITY else spec.kind
        return cls(spec.label, spec=spec, kind=kind, few_shot=spec.few_shot, batch_size=batch_size,
                   max_new_tokens=max_new_tokens)

    @property
    def identity(self) -> bool:
        return self.kind == IDENTITY

    @property
    def can_generate(self) -> bool:
        """Its rewrite may differ from the input (an LLM or the pipeline)."""
        return self.kind in ("llm", "pipeline")

    @property
    def can_respond(self) -> bool:
        """It answers prompts: an LLM asked directly (a few-shot system would answer as its zero-shot twin)."""
        return self.kind == "llm" and not self.few_shot

    def _budget(self, tokens: int) -> int:
        return min(tokens, self.max_new_tokens) if self.max_new_tokens else tokens

    def _default_model(self) -> bool:
        from srllm.models.loading import is_embedded_llm

        return is_embedded_llm(self.spec.model)

    def _adapter(self) -> str | None:
        from srllm.models.loading import resolve_adapter

        return resolve_adapter(self.spec.adapter, model_is_default=self._default_model())

    def _describe(self) -> str:
        if self.kind in _SIMPLE_NAMES:
            return _SIMPLE_NAMES[self.kind]
        if self.spec is None:
            model = getattr(self._backend, "name", None) or self.label
        else:
            model = "SmolLM2-135M-Instruct (embedded)" if self._default_model() else self.spec.model
        if self.spec is not None and self.spec.base_url:
            model = f"{model} @ {self.spec.base_url}"
        elif self.spec is not None:
            adapter = self._adapter()
            shipped = "sr-adapter-smollm2-135m"
            model += (", no adapter" if adapter is None else
                      f" + {'shipped SR adapter' if Path(adapter).name == shipped else adapter}")
        if self.kind == "pipeline":
            return f"srllm check: {model}"
        return model + (", few-shot prompt" if self.few_shot else "")

    @property
    def backend(self) -> GenerationBackend:
        if self._backend is None:
            if not self.can_generate:
                raise SrllmConfigError(f"the {self.kind} system does not generate; it only returns rewriting inputs")
            from srllm.models import make_backend

            s = self.spec
            # The llm systems stay on transformers: their log-likelihood scoring needs the torch model, and the
            # recorded tables stay comparable. The pipeline system follows RewriteConfig.engine like `srllm check`.
            self._backend = make_backend(model=s.model, adapter=s.adapter, base_url=s.base_url, api_key=s.api_key,
                                         engine="transformers")
        return self._backend

    @property
    def rewrite_config(self):
        """The pipeline's RewriteConfig: the spec's options and the evaluation's batch size."""
        from srllm.rewrite import RewriteConfig

        return RewriteConfig(**{**(self.spec.rewrite_options if self.spec else {}), "batch_size": self.batch_size})

    @property
    def guard(self):
        """The pipeline's srllm.guard.Guard (the default detector; the spec's model, adapter and options)."""
        if self._guard is None:
            from srllm.guard import Guard

            s = self.spec
            self._guard = Guard(model=s.model, adapter=s.adapter, base_url=s.base_url, api_key=s.api_key,
                                rewrite_config=self.rewrite_config)
        return self._guard

    @property
    def lm(self):
        """(model, tokenizer) for log-likelihood scoring, or None (OpenAI endpoints, non-LLM kinds, few-shot)."""
        if self._lm is None and self.can_respond and (self.spec is None or not self.spec.base_url):
            backend = self.backend
            if hasattr(backend, "model") and hasattr(backend, "tokenizer"):
                self._lm = (backend.model, backend.tokenizer)
        return self._lm

    @property
    def cache_id(self) -> str:
        """The system name plus a fingerprint of its local adapter weights (for the pipeline: of everything that
        decides its outputs, pipeline_fingerprint), so changed weights or code never get old cached outputs."""
        if self.kind == "pipeline":
            options = self.spec.rewrite_options if self.spec else {}
            return f"{self.name}#{pipeline_fingerprint(options, self._adapter() if self.spec else None)}"
        if self.spec is None or not self.spec.adapter or self.spec.base_url:
            return self.name
        from srllm.models.loading import adapter_fingerprint

        digest = adapter_fingerprint(self._adapter())
        return f"{self.name}#{digest}" if digest else self.name

    def _cache(self, cache_dir: Path | None) -> GenerationCache:
        """One cache file per system (by name and fingerprint, not label), so a model's generations are reused
        whether it runs as the model under test or as a baseline."""
        if cache_dir is None:
            return GenerationCache(None)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("_")[:80]
        digest = hashlib.sha1(self.cache_id.encode()).hexdigest()[:8]
        return GenerationCache(cache_dir / f"{slug}-{digest}.jsonl")

    def rewrite(self, texts: Sequence[str], *, references: Sequence[Sequence[str]] | None = None,
                cache_dir: Path | None = None, progress: bool = True, desc: str = "rewriting") -> list[str]:
        """The system's rewrite of each text ('' if an LLM refused): an LLM's with the SR_LLM prompt, cleaned of
        preambles; the pipeline's `output`; the input (identity); the first of `references` (reference)."""
        texts = list(texts)
        if self.kind == IDENTITY:
            return texts
        if self.kind == "reference":
            if references is None or len(references) != len(texts) or not all(references):
                raise SrllmConfigError("the reference system needs one or more human references for every text")
            return [refs[0] for refs in references]
        if self.kind == "pipeline":
            return self._pipeline(texts, self._cache(cache_dir), progress, desc)
        from srllm.rewrite import build_messages, clean_rewrite
        from srllm.rewrite.prompts import FEW_SHOT_EXAMPLES

        cache, few = self._cache(cache_dir), FEW_SHOT_EXAMPLES if self.few_shot else None
        out: list[str] = [""] * len(texts)
        # Similar lengths share a token budget, so short texts are not padded to the longest one's budget.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunk = max(1, self.batch_size) * 8
        for start in range(0, len(order), chunk):
            idx = order[start:start + chunk]
            budget = rewrite_budget([texts[i] for i in idx], cap=REWRITE_CAP)
            cfg = GenerationConfig(max_new_tokens=self._budget(budget),
                                   batch_size=self.batch_size)
            raw = cached_generate(self.backend, [build_messages(texts[i], few_shot=few) for i in idx], cfg, cache,
                                  system=self.cache_id, desc=desc, progress=progress)
            for i, r in zip(idx, raw, strict=True):
                out[i] = clean_rewrite(r, texts[i])
        return out

    def _pipeline(self, texts: list[str], cache: GenerationCache, progress: bool, desc: str) -> list[str]:
        """Guard.check's `output` per text, cached per text under cache_id (64 texts at a time)."""
        system = self.cache_id
        keys = [cache_key(system, [{"role": "user", "content": t}], GenerationConfig()) for t in texts]
        pending = list({k: i for i, k in enumerate(keys) if cache.get(k) is None}.values())
        if pending:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(pending), desc=f"{desc} ({self.name})", unit="text", disable=not progress,
                       leave=False)
            for start in range(0, len(pending), 64):
                idx = pending[start:start + 64]
                results = self.guard.check([texts[i] for i in idx], spans=True)
                cache.put_many([(keys[i], r.output) for i, r in zip(idx, results, strict=True)])
                bar.update(len(idx))
            bar.close()
        return [cache.get(k) for k in keys]

    def respond(self, prompts: Sequence[str], *, cache_dir: Path | None = None, progress: bool = True,
                max_new_tokens: int = 96, desc: str = "responding") -> list[str]:
        """The system's reply to each prompt as a single user turn (greedy)."""
        if not self.can_respond:
            raise SrllmConfigError(f"the {self.label} system ({self.name}) cannot answer prompts; use it for "
                                   "rewriting suites only")
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
