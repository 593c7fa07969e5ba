"""Resolve a model option (embedded default, local path or hub id) and load causal LMs, adapters and the
sentence encoder."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from srllm.errors import SrllmModelError
from srllm.models.embedded import EMBEDDED_ENCODER, EMBEDDED_LLM, embedded_encoder_dir, embedded_llm_dir
from srllm.models.quiet import quiet_loading

__all__ = ["resolve_llm", "resolve_encoder", "load_causal_lm", "load_sentence_encoder", "default_adapter_dir",
           "resolve_adapter", "adapter_fingerprint", "is_embedded_llm", "from_pretrained"]

_DEFAULT_NAMES = {None, "", "default", "embedded"}


def is_embedded_llm(spec: str | os.PathLike | None) -> bool:
    """True when a model option names the embedded SmolLM2 (None, 'default', 'embedded', 'smollm2', ...)."""
    return spec in _DEFAULT_NAMES or str(spec).lower() in (EMBEDDED_LLM, "smollm2", "smollm2-135m")


def resolve_llm(spec: str | os.PathLike | None) -> str:
    """A path or hub id transformers can load: the embedded SmolLM2 for None/'default'."""
    return str(embedded_llm_dir()) if is_embedded_llm(spec) else str(spec)


def resolve_encoder(spec: str | os.PathLike | None) -> str:
    if spec in _DEFAULT_NAMES or str(spec).lower() in (EMBEDDED_ENCODER, "minilm"):
        return str(embedded_encoder_dir())
    return str(spec)


def default_adapter_dir() -> Path | None:
    """The SR adapter trained for the embedded model and shipped in the package, if present."""
    path = Path(__file__).resolve().parent.parent / "assets" / "sr-adapter-smollm2-135m"
    return path if (path / "adapter_config.json").is_file() else None


def adapter_fingerprint(adapter: str | os.PathLike | None) -> str | None:
    """12 hex digits of the SHA-1 of a local adapter's weights (None when there are none), so caches keyed by it
    never serve a retrained adapter the old adapter's outputs."""
    import hashlib

    if not adapter:
        return None
    for name in ("adapter_model.safetensors", "adapter_model.bin"):
        weights = Path(adapter) / name
        if weights.is_file():
            return hashlib.sha1(weights.read_bytes()).hexdigest()[:12]
    return None


def resolve_adapter(spec: str | os.PathLike | None, *, model_is_default: bool) -> str | None:
    """'default' means the shipped adapter when the model is the embedded one; 'none' means no adapter."""
    if spec is None or str(spec).lower() == "default":
        if not model_is_default:
            return None
        path = default_adapter_dir()
        return str(path) if path else None
    if str(spec).lower() in ("none", "off", ""):
        return None
    return str(spec)


def from_pretrained(loader, name: str, **kwargs):
    """`loader.from_pretrained(name, ...)` (an Auto* class) with an error that says whether `name` was taken for a
    local folder or a hub id."""
    try:
        return loader.from_pretrained(name, **kwargs)
    except OSError as e:
        where = "a local folder" if Path(name).exists() else "a hub id (needs network, or a local cache)"
        raise SrllmModelError(f"could not load '{name}' as {where}: {e}") from e


def load_causal_lm(spec: str | None = None, *, adapter: str | None = None, dtype: str = "float32",
                   device: str | None = None):
    """(model, tokenizer) for generation; the PEFT adapter, if any, is attached (not merged)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = resolve_llm(spec)
    with quiet_loading():
        tokenizer = from_pretrained(AutoTokenizer, name)
        model = from_pretrained(AutoModelForCausalLM, name, dtype=getattr(torch, dtype))
        if adapter:
            try:
                from peft import PeftModel
            except ImportError as e:
                raise SrllmModelError("loading an adapter needs peft: pip install peft") from e
            try:
                model = PeftModel.from_pretrained(model, adapter)
            except (OSError, ValueError) as e:
                raise SrllmModelError(f"could not load adapter '{adapter}': {e}") from e
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    if device:
        model.to(device)
    return model, tokenizer


@functools.lru_cache(maxsize=4)
def load_sentence_encoder(spec: str | None = None, adapter: str | None = None):
    """A cached SentenceTransformer (the embedded all-MiniLM-L6-v2 by default). `adapter`: a PEFT (LoRA) adapter
    folder for its transformer, merged into the weights (the detector's tuned encoder ships this way: a few MB
    instead of a 90 MB copy)."""
    from sentence_transformers import SentenceTransformer

    name = resolve_encoder(spec)
    try:
        with quiet_loading():
            encoder = SentenceTransformer(name, device="cpu")
    except OSError as e:
        raise SrllmModelError(f"could not load sentence encoder '{name}': {e}") from e
    if adapter is not None:
        merge_encoder_adapter(encoder, adapter)
    return encoder


def merge_encoder_adapter(encoder, adapter: str | os.PathLike) -> None:
    """Merge a PEFT adapter into a SentenceTransformer's transformer module, in place."""
    from peft import PeftModel

    if not (Path(adapter) / "adapter_config.json").is_file():
        raise SrllmModelError(f"encoder adapter '{adapter}' has no adapter_config.json")
    module = encoder[0]
    try:
        with quiet_loading():
            module.auto_model = PeftModel.from_pretrained(module.auto_model, str(adapter)).merge_and_unload()
    except (OSError, ValueError, KeyError) as e:
        raise SrllmModelError(f"could not apply encoder adapter '{adapter}': {e}") from e
    module.auto_model.eval()
