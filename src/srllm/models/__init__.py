"""Where models come from (embedded defaults, hub ids, local paths, adapters) and how text is generated."""

from srllm.models.backends import (
    GenerationBackend,
    GenerationConfig,
    Messages,
    OpenAIBackend,
    TransformersBackend,
    make_backend,
)
from srllm.models.embedded import EMBEDDED_ENCODER, EMBEDDED_LLM, cache_dir, embedded_encoder_dir, embedded_llm_dir
from srllm.models.loading import (
    adapter_fingerprint,
    default_adapter_dir,
    from_pretrained,
    is_embedded_llm,
    load_causal_lm,
    load_sentence_encoder,
    resolve_adapter,
    resolve_encoder,
    resolve_llm,
)

__all__ = [
    "EMBEDDED_ENCODER", "EMBEDDED_LLM", "GenerationBackend", "GenerationConfig", "Messages", "OpenAIBackend",
    "TransformersBackend", "adapter_fingerprint", "cache_dir", "default_adapter_dir", "embedded_encoder_dir",
    "embedded_llm_dir", "from_pretrained", "is_embedded_llm",
    "load_causal_lm", "load_sentence_encoder", "make_backend", "resolve_adapter", "resolve_encoder", "resolve_llm",
]
