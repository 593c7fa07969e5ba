"""Sentence embeddings exactly as the detector computes them, on torch (sentence-transformers), shared by
`Detector.embed` and the detector's training so heads always see the embeddings they were trained on. The
detector's default engine, ONNX Runtime (srllm.detect.onnx_encoder), reproduces `encode_texts` (same tokenization,
pooling, normalisation and thread rule) to ~1e-6; training always embeds here, on torch."""

from __future__ import annotations

import re

import numpy as np

__all__ = ["ENCODER_ENGINES", "check_encoder_engine", "clip_text", "encode_texts", "embedding_dim", "quantized_copy"]

_NONSPACE = re.compile(r"\S+")
# What runs the encoder (srllm.detect.Detector's encoder_engine): "auto" = ONNX Runtime when it can run, else torch;
# this module is the torch path, srllm.detect.onnx_encoder the ONNX Runtime one.
ENCODER_ENGINES = ("auto", "onnx", "torch")


def check_encoder_engine(engine: str) -> None:
    """SrllmConfigError unless `engine` is one of ENCODER_ENGINES."""
    from srllm.errors import SrllmConfigError

    if engine not in ENCODER_ENGINES:
        raise SrllmConfigError(f"encoder_engine must be one of {', '.join(ENCODER_ENGINES)}, got {engine!r}")


def clip_text(text: str, max_seq_length: int) -> str:
    """A prefix of `text` that embeds exactly like the whole text.

    The encoder keeps at most `max_seq_length` word pieces and every whitespace-separated word gives at least one,
    so 2 x max_seq_length words are always enough; cutting there keeps a 1 MB text cheap to tokenize.
    """
    if len(text) <= 16 * max_seq_length:
        return text
    for n, m in enumerate(_NONSPACE.finditer(text), start=1):
        if n >= 2 * max_seq_length:
            return text[: m.end()]
    return text


def embedding_dim(encoder) -> int | None:
    """The encoder's output size (sentence-transformers >= 6 renamed the method)."""
    get = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return get()


SMALL_CALL = 8  # texts; below this, intra-op parallelism costs more than it gives


def encode_texts(encoder, texts: list[str], *, max_seq_length: int, batch_size: int = 64,
                 threads: int | None = None) -> np.ndarray:
    """L2-normalised float32 embeddings of `texts` (shape (n, dim)), truncated at `max_seq_length` word pieces.

    The encoder's own `max_seq_length` is left untouched (it is shared, cached by srllm.models); the limit is
    passed per call. sentence-transformers sorts by length inside `encode`, so padding stays small.
    `threads`: torch threads for this call (restored afterwards); None = torch's setting, except one thread for
    calls of at most SMALL_CALL texts (on a busy machine, two threads on a tiny input stall each other: we measured
    a single text at 744 ms p50 with 2 threads vs 27 ms with 1 under load average 6 on 2 cores).
    """
    import torch

    if not texts:
        dim = embedding_dim(encoder) or 0
        return np.zeros((0, dim), dtype=np.float32)
    if threads is None and len(texts) <= SMALL_CALL:
        threads = 1
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            emb = encoder.encode([clip_text(t, max_seq_length) for t in texts], batch_size=batch_size,
                                 normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
                                 processing_kwargs={"text": {"max_length": max_seq_length, "truncation": True}})
    finally:
        torch.set_num_threads(before)
    return np.asarray(emb, dtype=np.float32)


def quantized_copy(encoder):
    """A copy of a sentence-transformers encoder whose transformer Linear layers run in int8 (torch dynamic
    quantization: int8 weights, activations quantized per call). About 1.5x faster on CPU; embeddings move
    slightly, so heads trained on fp32 embeddings score a little differently (benchmarks/bench_detector.py
    measures both speed and held-out quality). The shared fp32 encoder is left untouched."""
    import copy
    import warnings

    import torch

    quantized = copy.deepcopy(encoder)
    module = quantized[0]
    # sentence-transformers >= 5 keeps the model in `.model` (`.auto_model` is a read-only alias); older ones in
    # `.auto_model`.
    attr = "model" if isinstance(getattr(module, "model", None), torch.nn.Module) else "auto_model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's notice that this API is moving to torchao
        setattr(module, attr, torch.ao.quantization.quantize_dynamic(getattr(module, attr), {torch.nn.Linear},
                                                                     dtype=torch.qint8))
    return quantized
