"""The detector's encoder tuning (srllm.train.detector.encoder_tuning) and how a tuned encoder ships: a LoRA
adapter saved beside the heads, merged into the encoder at load time; similarity stays on the untuned encoder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from srllm.detect import Detector, HeadSet
from srllm.errors import SrllmModelError
from srllm.models.loading import load_sentence_encoder
from srllm.train.detector import encoder_tuning
from srllm.train.detector.config import DetectorTrainConfig
from srllm.train.detector.data import SAFE, Example
from srllm.train.detector.encoder_tuning import tune_encoder, tuning_sample
from tests._tiny_encoder import BIASED, TOXIC
from tests._tiny_encoder import SAFE as SAFE_TEXTS


class _Killed(Exception):
    pass


def _examples() -> list[Example]:
    out = [Example(t, "tox", t, {"toxicity": 1}) for t in TOXIC]
    out += [Example(t, "bias", t, {"bias": 1, "stereotyping": 1}) for t in BIASED]
    out += [Example(t, "safe", t, dict(SAFE)) for t in SAFE_TEXTS]
    for e in out:
        e.split = "train"
    return out


def _cfg(**kw) -> DetectorTrainConfig:
    return DetectorTrainConfig(**{"encoder_lora_rank": 4, "encoder_tune_per_source": 100, "encoder_tune_epochs": 2.0,
                                  "encoder_tune_batch_size": 4, "encoder_tune_learning_rate": 1e-2, **kw})


def test_tuning_sample_caps_each_source_and_is_seeded():
    ex = _examples()
    ex.append(Example("held out text", "safe", "h", dict(SAFE), split="test"))
    sample = tuning_sample(ex, 3, seed=0)
    assert len(sample) == 9 and {e.source for e in sample} == {"tox", "bias", "safe"}
    assert "held out text" not in {e.text for e in sample}
    assert [e.text for e in sample] == [e.text for e in tuning_sample(ex, 3, seed=0)]


def test_tune_encoder_learns_resumes_and_reuses(encoder_path, tmp_path, monkeypatch):
    ex = _examples()
    calls = {"n": 0}
    real_clip = torch.nn.utils.clip_grad_norm_

    def dying_clip(*a, **kw):  # the run is "killed" at its 5th step
        calls["n"] += 1
        if calls["n"] == 5:
            raise _Killed
        return real_clip(*a, **kw)

    monkeypatch.setattr(encoder_tuning, "_CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", dying_clip)
    with pytest.raises(_Killed):
        tune_encoder(ex, _cfg(), base=encoder_path, work_dir=tmp_path / "work")
    assert len(list((tmp_path / "work").glob("*/checkpoint.pt"))) == 1
    calls["n"] = 100  # no more deaths
    adapter = tune_encoder(ex, _cfg(), base=encoder_path, work_dir=tmp_path / "work")
    steps = json.loads((adapter / "TUNING.json").read_text())["steps"]
    assert steps == int(24 / 4 * 2) and calls["n"] - 100 == steps - 4  # resumed after the checkpoint of step 4
    assert (adapter / "adapter_config.json").is_file() and not list((tmp_path / "work").glob("*/checkpoint.pt"))
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == "st"
    assert "rank 4" in (adapter / "README.md").read_text()
    calls["n"] = 0
    assert tune_encoder(ex, _cfg(), base=encoder_path, work_dir=tmp_path / "work") == adapter and calls["n"] == 0
    assert not np.allclose(load_sentence_encoder(encoder_path, str(adapter)).encode(TOXIC),
                           load_sentence_encoder(encoder_path).encode(TOXIC), atol=1e-4)
    calls["n"] = 100
    longer = tune_encoder(ex, _cfg(encoder_tune_epochs=20.0), base=encoder_path, work_dir=tmp_path / "work")
    assert longer != adapter  # other settings: another run
    tuned = load_sentence_encoder(encoder_path, str(longer))
    base = load_sentence_encoder(encoder_path)
    texts = TOXIC + SAFE_TEXTS
    a, b = tuned.encode(texts), base.encode(texts)
    # tuned: the toxic texts sit apart from the safe ones (mean cosine to the other class drops)
    cross = lambda e: float((e[: len(TOXIC)] @ e[len(TOXIC):].T).mean())  # noqa: E731
    assert cross(a) < cross(b)


def test_heads_ship_their_encoder_adapter(encoder_path, heads, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    model = get_peft_model(AutoModel.from_pretrained(f"{encoder_path}"), LoraConfig(
        r=4, target_modules=["query", "value"], init_lora_weights=False))  # random B: the merge changes weights
    model.save_pretrained(tmp_path / "adapter")
    shipped = HeadSet(heads=heads.heads, encoder=encoder_path, max_seq_length=128,
                      encoder_adapter=str(tmp_path / "adapter"))
    shipped.save(tmp_path / "heads")
    meta = json.loads((tmp_path / "heads" / "heads.json").read_text())
    assert meta["encoder_adapter"] == "encoder-adapter"
    loaded = HeadSet.load(tmp_path / "heads")
    assert loaded.encoder_adapter == str(tmp_path / "heads" / "encoder-adapter")
    loaded.save(tmp_path / "heads")  # saving in place keeps the adapter
    assert (tmp_path / "heads" / "encoder-adapter" / "adapter_config.json").is_file()
    det = Detector(heads=tmp_path / "heads", encoder_engine="torch")
    plain = Detector(heads=heads, encoder=encoder_path, encoder_engine="torch")
    texts = ["you are an idiot", "hello friend"]
    assert not np.allclose(det.embed(texts), plain.embed(texts), atol=1e-4)
    assert np.allclose(det.similarity(texts, texts[::-1]), plain.similarity(texts, texts[::-1]), atol=1e-5)
    onnx = Detector(heads=tmp_path / "heads", encoder_engine="onnx")
    assert np.allclose(onnx.embed(texts), det.embed(texts), atol=1e-4)
    shutil.copytree(tmp_path / "heads", tmp_path / "plain")
    HeadSet(heads=heads.heads, encoder=encoder_path).save(tmp_path / "plain")  # untuned heads over tuned ones
    assert not (tmp_path / "plain" / "encoder-adapter").exists() and "encoder_adapter" not in json.loads(
        (tmp_path / "plain" / "heads.json").read_text())
    (tmp_path / "heads" / "encoder-adapter" / "adapter_config.json").unlink()
    with pytest.raises(SrllmModelError, match="encoder_adapter 'encoder-adapter'"):
        HeadSet.load(tmp_path / "heads")
