"""The detector's sentence encoder on ONNX Runtime: the sentence-transformers model's transformer exported once to
ONNX (torch.onnx.export, TorchScript exporter) and cached, then run by `onnxruntime.InferenceSession`, with the
same tokenization (the model's own `preprocess`), mean pooling and L2 normalisation as
srllm.detect.encoding.encode_texts. fp32 gives the torch embeddings to ~1e-6 (docs/benchmarks.md, "Detector
encoder engines"); `int8=True` runs an onnxruntime dynamic-int8 copy of the export instead, with one weight scale
per output channel: per tensor, the scale one outlier row sets costs the other rows their precision (on 1,000
ParaDetox texts, 32 unsafe decisions moved per tensor and 7 per channel, at about the same speed).

The export is cached under srllm's cache dir, keyed by a hash of the encoder's content (weights, config and
tokenizer as loaded, so the embedded MiniLM, a local folder and a hub id all key the same way) and the torch and
onnxruntime versions, written atomically (srllm.atomic).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import warnings
from pathlib import Path

import numpy as np

from srllm.atomic import atomic_file, atomic_folder
from srllm.errors import SrllmModelError

__all__ = ["OnnxEncoder", "onnx_encoder", "export_onnx", "encoder_fingerprint"]

_OPSET = 17


def _transformer(encoder):
    """The Hugging Face model inside a sentence-transformers encoder, after checking the pipeline is one this
    engine reproduces exactly: Transformer -> mean Pooling [-> Normalize]."""
    import torch

    names = [type(m).__name__ for m in encoder]
    pooling = encoder[1] if len(encoder) > 1 else None
    if (names[:2] != ["Transformer", "Pooling"] or names[2:] not in ([], ["Normalize"])
            or getattr(pooling, "pooling_mode", None) != "mean"):
        raise SrllmModelError(f"the onnx encoder engine runs Transformer -> mean Pooling [-> Normalize] encoders; "
                              f"this one is {' -> '.join(names)} (pooling "
                              f"{getattr(pooling, 'pooling_mode', None)!r}); use encoder_engine='torch'")
    module = encoder[0]
    attr = "model" if isinstance(getattr(module, "model", None), torch.nn.Module) else "auto_model"
    return getattr(module, attr)


def _features(encoder, texts: list[str], max_seq_length: int) -> dict:
    """The encoder's own tokenization, exactly as encode_texts asks sentence-transformers for it."""
    return encoder.preprocess(texts, processing_kwargs={"text": {"max_length": max_seq_length, "truncation": True}})


def encoder_fingerprint(encoder) -> str:
    """16 hex digits of the SHA-1 of the encoder's weights, config and tokenizer."""
    model = _transformer(encoder)
    h = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        h.update(tensor.detach().contiguous().numpy().tobytes())
    h.update(model.config.to_json_string().encode())
    tokenizer = encoder[0].tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    h.update((backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))).encode())
    return h.hexdigest()[:16]


def export_onnx(encoder, path: Path) -> list[str]:
    """Write the encoder's transformer to `path` as ONNX (inputs: the tokenizer's features, dynamic batch and
    sequence axes; output: last_hidden_state). Returns the input names."""
    import torch

    model = _transformer(encoder).eval()
    # Texts of different lengths, so the traced graph contains the attention-mask path (an all-ones mask can be
    # dropped by transformers' mask code, which a trace would freeze).
    sample = _features(encoder, ["a short text", "a somewhat longer text, with a few more words in it"], 128)
    accepted = inspect.signature(model.forward).parameters
    names = [k for k, v in sample.items() if k in accepted and isinstance(v, torch.Tensor)]

    class _Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings, and the TorchScript exporter's deprecation notice
        torch.onnx.export(_Hidden(), tuple(sample[n] for n in names), str(path), dynamo=False, input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=_OPSET)
    return names


def _cached_model(encoder, int8: bool) -> Path:
    """The cached ONNX file of `encoder` (exported on first use; the int8 copy quantized from it on first use)."""
    import onnxruntime
    import torch

    from srllm.models import cache_dir

    key = f"{encoder_fingerprint(encoder)}-torch{torch.__version__}-ort{onnxruntime.__version__}-opset{_OPSET}"
    folder = cache_dir() / "onnx-encoders" / key
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        with atomic_folder(folder) as tmp:
            export_onnx(encoder, tmp / "model.onnx")
    if not int8:
        return fp32
    q8 = folder / "model.int8-per-channel.onnx"
    if not q8.is_file():
        import logging

        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice to run shape pre-processing first, logged on the root logger
        try:
            with atomic_file(q8) as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.setLevel(level)
    return q8


class OnnxEncoder:
    """Embeds texts like encode_texts(encoder, ...) with the transformer on onnxruntime (module doc)."""

    def __init__(self, encoder, model_path: Path):
        import onnxruntime

        self.encoder, self.model_path = encoder, Path(model_path)
        self._ort = onnxruntime
        self._sessions: dict[int, object] = {}
        self.input_names = [i.name for i in self._session(1).get_inputs()]

    def _session(self, threads: int):
        """One session per thread count (onnxruntime fixes its intra-op threads when a session is created)."""
        if threads not in self._sessions:
            options = self._ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            # Idle pool threads sleep instead of spinning: on a machine shared with other work (a server's event
            # loop, other jobs) spinning threads take the cores the caller needs.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._sessions[threads] = self._ort.InferenceSession(str(self.model_path), options,
                                                                 providers=["CPUExecutionProvider"])
        return self._sessions[threads]

    def encode(self, texts: list[str], *, max_seq_length: int, batch_size: int = 64,
               threads: int | None = None) -> np.ndarray:
        """L2-normalised float32 embeddings, shape (n, dim); `threads` as in encode_texts (None: torch's thread
        count, one thread for calls of at most SMALL_CALL texts). Batches are cut from the texts sorted by length,
        as sentence-transformers does, so padding stays small."""
        import torch

        from srllm.detect.encoding import SMALL_CALL, clip_text, embedding_dim

        if not texts:
            return np.zeros((0, embedding_dim(self.encoder) or 0), dtype=np.float32)
        if threads is None:
            threads = 1 if len(texts) <= SMALL_CALL else torch.get_num_threads()
        session = self._session(threads)
        clipped = [clip_text(t, max_seq_length) for t in texts]
        order = np.argsort([-len(t) for t in clipped], kind="stable")
        out = np.zeros((0, 0), dtype=np.float32)
        for start in range(0, len(clipped), batch_size):
            idx = order[start: start + batch_size]
            features = _features(self.encoder, [clipped[i] for i in idx], max_seq_length)
            inputs = {n: features[n].numpy() for n in self.input_names}
            hidden = session.run(None, inputs)[0]
            mask = inputs["attention_mask"][:, :, None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            if not start:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[idx] = pooled
        return out


@functools.lru_cache(maxsize=4)
def onnx_encoder(encoder, int8: bool = False) -> OnnxEncoder:
    """The ONNX engine for a (cached, shared) sentence-transformers encoder; exports on first use. Raises
    ImportError without onnxruntime, SrllmModelError for an encoder it cannot reproduce."""
    try:
        return OnnxEncoder(encoder, _cached_model(encoder, int8))
    except (ImportError, SrllmModelError):
        raise
    except Exception as e:  # the exporter or onnxruntime failing on this model
        raise SrllmModelError(f"could not export the encoder to ONNX or load it in onnxruntime: "
                              f"{type(e).__name__}: {e}") from e
