"""Merge a PEFT adapter into its base model and save a plain Hugging Face folder (weights + config + tokenizer)
that `transformers.AutoModelForCausalLM.from_pretrained` loads without srllm or peft."""

from __future__ import annotations

import json
from pathlib import Path

from srllm.atomic import atomic_folder
from srllm.errors import SrllmConfigError, SrllmModelError

__all__ = ["export_merged", "adapter_base_model"]

_EMBEDDED_IDS = {"HuggingFaceTB/SmolLM2-135M-Instruct"}


def adapter_base_model(adapter_dir: str | Path) -> str | None:
    """The base model an adapter names in adapter_config.json; None means the embedded model."""
    conf_path = Path(adapter_dir) / "adapter_config.json"
    if not conf_path.is_file():
        raise SrllmModelError(f"{adapter_dir} is not a PEFT adapter folder (no adapter_config.json)")
    try:
        base = json.loads(conf_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except json.JSONDecodeError as e:
        raise SrllmModelError(f"{conf_path}: not valid JSON: {e}") from e
    # The shipped adapter was trained on the embedded (dequantised GGUF) SmolLM2 and names its hub id.
    return None if not base or base in _EMBEDDED_IDS else base


def export_merged(adapter: str | Path, out: str | Path, *, model: str | None = None, dtype: str = "float32") -> Path:
    """Load base + adapter, merge_and_unload, save to `out` (via a temp folder renamed into place)."""
    import torch

    from srllm.models.loading import default_adapter_dir, load_causal_lm

    if dtype not in ("float32", "float16", "bfloat16"):
        raise SrllmConfigError(f"dtype '{dtype}' must be float32, float16 or bfloat16")
    if str(adapter).lower() == "default":
        found = default_adapter_dir()
        if found is None:
            raise SrllmModelError("no shipped SR adapter in this installation; pass --adapter PATH")
        adapter = found
    base = model if model is not None else adapter_base_model(adapter)
    peft_model, tokenizer = load_causal_lm(base, adapter=str(adapter))
    if not hasattr(peft_model, "merge_and_unload"):
        raise SrllmModelError(f"{adapter} did not load as a PEFT adapter")
    try:
        merged = peft_model.merge_and_unload()
    except (AttributeError, ValueError, NotImplementedError) as e:
        raise SrllmModelError(f"{adapter}: this adapter type cannot be merged into the weights ({e}); "
                              "only LoRA-style adapters can (prefix tuning cannot)") from e
    merged = merged.to(getattr(torch, dtype))
    out = Path(out)
    with atomic_folder(out) as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return out
