"""The ONNX Runtime engine of the detector's encoder on a tiny random BERT built here: the same embeddings and
decisions as torch, an export cached once, and a clean fallback to torch when it cannot run."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from srllm.detect import Detector
from srllm.detect import onnx_encoder as onnx_mod
from srllm.detect.encoding import encode_texts
from srllm.errors import SrllmConfigError, SrllmModelError
from srllm.models import load_sentence_encoder
from tests._tiny_encoder import BIASED, SAFE, TOXIC, make_tiny_encoder

pytest.importorskip("onnxruntime")

TEXTS = [*TOXIC[:3], *BIASED[:2], *SAFE[:3], "a", "stupid moron " * 100]  # the last one is truncated


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Each test exports into its own cache dir; the engines shared in-process are forgotten before and after."""
    monkeypatch.setenv("SRLLM_CACHE_DIR", str(tmp_path / "cache"))
    onnx_mod.onnx_encoder.cache_clear()
    yield tmp_path / "cache"
    onnx_mod.onnx_encoder.cache_clear()


@pytest.mark.parametrize("threads", [None, 1, 2])
def test_onnx_embeddings_match_torch(encoder_path, threads):
    enc = load_sentence_encoder(encoder_path)
    engine = onnx_mod.onnx_encoder(enc)
    texts = TEXTS * 3  # several length-sorted batches of 5, each padded
    ref = encode_texts(enc, texts, max_seq_length=16, batch_size=5, threads=threads)
    got = engine.encode(texts, max_seq_length=16, batch_size=5, threads=threads)
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-5
    assert engine.encode([], max_seq_length=16).shape == (0, ref.shape[1])


def test_detector_defaults_to_onnx_with_torch_decisions(encoder_path, heads):
    onnx = Detector(encoder=encoder_path, heads=heads)  # the default: auto
    torch_ = Detector(encoder=encoder_path, heads=heads, encoder_engine="torch")
    assert (onnx.encoder_engine, torch_.encoder_engine) == ("onnx", "torch")
    assert np.allclose(onnx.probabilities(TEXTS), torch_.probabilities(TEXTS), atol=1e-5)
    a, b = onnx.predict(TEXTS, spans=True), torch_.predict(TEXTS, spans=True)
    assert [(v.flagged, [(s.start, s.end) for s in v.spans]) for v in a] == \
           [(v.flagged, [(s.start, s.end) for s in v.spans]) for v in b]
    with pytest.raises(SrllmConfigError, match="encoder_engine"):
        Detector(encoder=encoder_path, heads=heads, encoder_engine="tensorrt")


def test_export_is_cached_once_and_keyed_by_the_weights(encoder_path, tmp_path, cache, monkeypatch):
    enc = load_sentence_encoder(encoder_path)
    onnx_mod.onnx_encoder(enc)
    (folder,) = (cache / "onnx-encoders").iterdir()
    assert (folder / "model.onnx").is_file() and folder.name.startswith(onnx_mod.encoder_fingerprint(enc))
    onnx_mod.onnx_encoder.cache_clear()
    monkeypatch.setattr(onnx_mod, "export_onnx", lambda *a: pytest.fail("exported twice"))
    onnx_mod.onnx_encoder(enc)  # loads the cached file
    other = load_sentence_encoder(str(make_tiny_encoder(tmp_path / "other", seed=1)))
    assert onnx_mod.encoder_fingerprint(other) != onnx_mod.encoder_fingerprint(enc)


def test_int8_onnx_is_close(encoder_path, heads):
    fp32 = Detector(encoder=encoder_path, heads=heads, encoder_engine="onnx")
    int8 = Detector(encoder=encoder_path, heads=heads, quantize="int8", encoder_engine="onnx")
    assert int8.encoder_engine == "onnx" and int8._onnx.model_path.name == "model.int8-per-channel.onnx"
    assert np.sum(int8.embed(TEXTS) * fp32.embed(TEXTS), axis=1).min() > 0.9


def test_falls_back_to_torch_without_onnxruntime(encoder_path, heads, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    with pytest.warns(RuntimeWarning, match="embeds with torch"):
        det = Detector(encoder=encoder_path, heads=heads, encoder_engine="auto")
    assert det.encoder_engine == "torch" and det.predict(["you are an idiot"])[0].categories
    with pytest.raises(SrllmModelError, match="pip install onnxruntime"):
        Detector(encoder=encoder_path, heads=heads, encoder_engine="onnx")


def test_falls_back_to_torch_when_the_export_fails(encoder_path, heads, cache, monkeypatch):
    def broken(*_):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(onnx_mod, "export_onnx", broken)
    with pytest.warns(RuntimeWarning, match="unsupported operator"):
        det = Detector(encoder=encoder_path, heads=heads, encoder_engine="auto")
    assert det.encoder_engine == "torch"
    assert not list((cache / "onnx-encoders").glob("*/model.onnx"))  # nothing half-written is cached
