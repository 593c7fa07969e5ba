"""A compiled generation backend: CTranslate2 int8 on CPU (issue 15, item 1).

The base model with its PEFT adapter merged in is converted offline, once, with
`ctranslate2.converters.TransformersConverter` (quantization int8), into a cache folder keyed by the base model,
the adapter's weights (srllm.models.adapter_fingerprint) and the CTranslate2 version, written atomically
(srllm.atomic.atomic_folder). Later loads read that folder in well under a second.

Greedy decoding by default; temperature > 0 samples (top-p, seeded through `ctranslate2.set_random_seed`). Every
text of a batch stops at its own end token. `make_backend(engine="auto")` picks this backend for local models on
CPU and falls back to transformers (one warning line) when CTranslate2 is missing or the model does not load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from srllm.errors import SrllmModelError
from srllm.models.backends import GenerationBackend, GenerationConfig, Messages, TransformersBackend

__all__ = ["CTranslate2Backend", "ct2_cache_key", "convert_to_ct2", "ct2_available"]

logger = logging.getLogger("srllm.models")  # notices: stderr on the command line, JSON in srllm serve

COMPUTE_TYPE = "int8"


def ct2_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ctranslate2") is not None


def _model_key(model_dir: Path) -> str:
    """What identifies a local base model: its config and the size and mtime of its weight files (hashing a few
    hundred MB of weights on every load would cost more than the load)."""
    h = hashlib.sha1(str(model_dir.resolve()).encode())
    cfg = model_dir / "config.json"
    if cfg.is_file():
        h.update(cfg.read_bytes())
    for f in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:12]


def ct2_cache_key(model_dir: str | os.PathLike, adapter: str | None, compute_type: str = COMPUTE_TYPE) -> str:
    """The cache folder name of a converted model: base model name + its key, the adapter's hash, the engine
    version and the quantization."""
    import ctranslate2

    from srllm.models.loading import adapter_fingerprint

    model_dir = Path(model_dir)
    adapter_part = "none" if not adapter else (adapter_fingerprint(adapter)
                                               or hashlib.sha1(str(adapter).encode()).hexdigest()[:12])
    return (f"{model_dir.name}-{_model_key(model_dir)}-adapter-{adapter_part}"
            f"-ct2-{ctranslate2.__version__}-{compute_type}")


def convert_to_ct2(model_dir: str | os.PathLike, adapter: str | None, target: str | os.PathLike,
                   compute_type: str = COMPUTE_TYPE) -> Path:
    """Merge `adapter` (if any) into the base model and convert the merged weights to a CTranslate2 folder at
    `target` (atomically: a killed conversion leaves nothing behind). The tokenizer is saved beside it."""
    import ctranslate2.converters

    from srllm.atomic import atomic_folder
    from srllm.models.loading import load_causal_lm
    from srllm.models.quiet import quiet_loading

    model, tokenizer = load_causal_lm(str(model_dir), adapter=adapter)
    if adapter:
        model = model.merge_and_unload()
    with tempfile.TemporaryDirectory(prefix="srllm-merged-") as merged, atomic_folder(target) as tmp:
        with quiet_loading():
            model.save_pretrained(merged)
            tokenizer.save_pretrained(merged)
        with quiet_loading():
            ctranslate2.converters.TransformersConverter(merged, load_as_float16=False).convert(
                str(tmp), quantization=compute_type, force=True)
        tokenizer.save_pretrained(tmp)
        gen = getattr(model, "generation_config", None)
        eos = getattr(gen, "eos_token_id", None) if gen is not None else None
        (tmp / "srllm.json").write_text(json.dumps({
            "base_model": str(model_dir), "adapter": adapter, "compute_type": compute_type,
            "ctranslate2": ctranslate2.__version__, "eos_token_id": eos}, indent=1) + "\n", encoding="utf-8")
    return Path(target)


class CTranslate2Backend(GenerationBackend):
    """In-process generation with a CTranslate2 int8 copy of a local model (+ merged adapter)."""

    def __init__(self, *, model_name: str | None = None, adapter: str | None = None, ct2_dir: str | None = None,
                 compute_type: str = COMPUTE_TYPE, threads: int | None = None):
        try:
            import ctranslate2  # noqa: F401
        except ImportError as e:
            raise SrllmModelError(f"the ctranslate2 engine needs ctranslate2 ({e}): pip install 'srllm[fast]'") from e
        from transformers import AutoTokenizer

        from srllm.models.embedded import cache_dir
        from srllm.models.loading import resolve_llm
        from srllm.models.quiet import quiet_loading

        if ct2_dir is None:
            base = Path(resolve_llm(model_name))
            if not base.is_dir():
                raise SrllmModelError(f"the ctranslate2 engine converts local models only; '{base}' is not a folder")
            if adapter and not Path(adapter).is_dir():
                raise SrllmModelError(f"the ctranslate2 engine needs a local adapter folder; '{adapter}' is not one")
            ct2_dir = cache_dir() / "ct2" / ct2_cache_key(base, adapter, compute_type)
            if not (Path(ct2_dir) / "model.bin").is_file():
                logger.warning(
                    f"srllm: converting {base.name}{' + adapter' if adapter else ''} to CTranslate2 {compute_type} "
                    f"in {ct2_dir}; once, under a minute")
                convert_to_ct2(base, adapter, ct2_dir, compute_type)
        self.ct2_dir = Path(ct2_dir)
        if threads is None:
            import torch

            threads = torch.get_num_threads()  # the same threads as the transformers backend
        self.compute_type, self.threads = compute_type, threads
        self.generator = self._load()
        with quiet_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(self.ct2_dir)
        meta_file = self.ct2_dir / "srllm.json"
        meta = json.loads(meta_file.read_text("utf-8")) if meta_file.is_file() else {}
        eos = meta.get("eos_token_id")
        ends = {self.tokenizer.eos_token_id} | set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self.end_ids = sorted(i for i in ends if i is not None)
        self.model_name, self.adapter = model_name, adapter
        self.name = f"ctranslate2-{compute_type}:{model_name or 'embedded'}" + (f"+{adapter}" if adapter else "")

    def _load(self):
        import ctranslate2

        try:
            return ctranslate2.Generator(str(self.ct2_dir), device="cpu", compute_type=self.compute_type,
                                         intra_threads=self.threads)
        except (RuntimeError, ValueError, OSError) as e:
            raise SrllmModelError(f"CTranslate2 could not load {self.ct2_dir}: {e}") from e

    prompt_text = TransformersBackend.prompt_text

    def generate(self, conversations: list[Messages], config: GenerationConfig | None = None) -> list[str]:
        import ctranslate2

        cfg = config or GenerationConfig()
        if not conversations:
            return []
        tok = self.tokenizer
        prompts = [tok.convert_ids_to_tokens(tok(self.prompt_text(c), add_special_tokens=False)["input_ids"])
                   for c in conversations]
        kwargs = dict(max_length=cfg.max_new_tokens, include_prompt_in_result=False, end_token=self.end_ids,
                      repetition_penalty=cfg.repetition_penalty, max_batch_size=cfg.batch_size)
        generator = self.generator
        if cfg.temperature > 0:
            kwargs.update(sampling_topk=0, sampling_topp=cfg.top_p, sampling_temperature=cfg.temperature)
            if cfg.seed is not None:
                # CTranslate2 seeds each worker thread's RNG once, when the thread first samples, from the global
                # seed: a seeded sample needs a generator with fresh threads (about a second to load) so the same
                # prompt and seed give the same sample whatever was generated before.
                ctranslate2.set_random_seed(cfg.seed)
                generator = self._load()
        else:
            kwargs.update(sampling_topk=1)
        results = generator.generate_batch(prompts, **kwargs)
        return [tok.decode(r.sequences_ids[0], skip_special_tokens=True) for r in results]

    def sequence_logprobs(self, texts: list[str], *, max_length: int = 256, batch_size: int = 16):
        """(sum of token log-probabilities, number of scored tokens) per text under this model, each text
        conditioned on a document-start token: srllm.models.lm_scoring.sequence_logprobs on the int8 engine."""
        import numpy as np

        from srllm.models.lm_scoring import prefix_token_id

        tok, prefix = self.tokenizer, prefix_token_id(self.tokenizer)
        seqs = []
        for t in texts:
            ids = tok(t, add_special_tokens=False)["input_ids"][:max_length]
            seqs.append(tok.convert_ids_to_tokens(([prefix] if prefix is not None else []) + list(ids)))
        sums, counts = np.zeros(len(texts)), np.zeros(len(texts), dtype=int)
        todo = [i for i, s in enumerate(seqs) if len(s) > 1]  # one token: nothing to score
        results = self.generator.score_batch([seqs[i] for i in todo], max_batch_size=batch_size)
        for i, r in zip(todo, results, strict=True):
            sums[i], counts[i] = float(sum(r.log_probs)), len(r.log_probs)
        return sums, counts
