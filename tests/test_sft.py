"""SFT with PEFT on a tiny random Llama (SmolLM2 tokenizer + chat template): a few steps in seconds."""

from __future__ import annotations

import json

import pytest

from srllm.config import load_config
from srllm.errors import SrllmConfigError
from srllm.train.sft_config import SftConfig
from tests._tiny_llm import make_tiny_llm, write_cmd_fixture

pytest.importorskip("trl")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("sft")
    return make_tiny_llm(root / "model"), write_cmd_fixture(root / "cmd.jsonl"), root


def _cfg(tiny, out, **kw) -> SftConfig:
    model, data, _ = tiny
    base = dict(data=str(data), model=str(model), output_dir=str(out), batch_size=8, max_steps=6, save_steps=3,
                eval_steps=3, logging_steps=1, learning_rate=3e-2, warmup_ratio=0.0, lr_scheduler="constant",
                report_to="none", lora_r=4, lora_alpha=8, lora_dropout=0.0)
    return SftConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def trained(tiny):
    from srllm.train.sft import train_sft

    cfg = _cfg(tiny, tiny[2] / "run", save_dtype="float32")
    return cfg, train_sft(cfg)


def test_loss_logged_and_goes_down_and_lora_weights_change(trained):
    from safetensors.torch import load_file

    cfg, result = trained
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) >= 5
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2
    assert result.eval_loss is not None and result.tokens > 0 and result.steps == 6
    weights = load_file(result.adapter_dir / "adapter_model.safetensors")
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and all(float(v.abs().sum()) > 0 for v in lora_b)  # LoRA B starts at zero
    summary = json.loads((result.adapter_dir.parent / "summary.json").read_text())
    assert summary["config"]["lora_r"] == 4 and summary["steps"] == 6


def test_prompt_tokens_are_masked(tiny, tmp_path):
    from srllm.train.sft import build_trainer

    trainer = build_trainer(_cfg(tiny, tmp_path / "m"))
    tok = trainer.processing_class
    row = trainer.train_dataset[0]
    ids, labels = row["input_ids"], row["labels"]
    first = next(i for i, lab in enumerate(labels) if lab != -100)
    prompt = tok.decode(ids[:first])
    assert prompt.endswith("<|im_start|>assistant\n") and "Rewrite this text" in prompt
    assert all(lab == -100 for lab in labels[:first])
    assert labels[first:] == ids[first:]
    assert tok.decode(labels[first:]).startswith("this thing number")


def test_shared_prefix_gives_the_same_loss_and_gradients(tiny, tmp_path):
    import torch

    from srllm.train.sft import build_trainer, shared_prefix_length

    trainer = build_trainer(_cfg(tiny, tmp_path / "p"))
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(6)])
    assert shared_prefix_length(batch["input_ids"], batch["attention_mask"], batch["labels"]) > 50
    model = trainer.model
    model.train()
    results = []
    for shared in (True, False):
        trainer.shared_prefix = shared
        model.zero_grad()
        n = int((batch["labels"][:, 1:] != -100).sum())
        loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=n)
        loss.backward()
        grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad and p.grad is not None}
        results.append((float(loss), grads))
    (l1, g1), (l2, g2) = results
    assert l1 == pytest.approx(l2, rel=1e-4)
    assert g1.keys() == g2.keys() and g1
    for k in g1:
        torch.testing.assert_close(g1[k], g2[k], rtol=1e-3, atol=1e-6)


def test_adapter_saves_and_reloads(trained, tiny):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from srllm.train.sft import save_adapter

    _cfg_, result = trained
    base = AutoModelForCausalLM.from_pretrained(tiny[0])
    model = PeftModel.from_pretrained(base, result.adapter_dir).eval()
    plain = AutoModelForCausalLM.from_pretrained(tiny[0]).eval()
    x = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        assert not torch.allclose(model(x).logits, plain(x).logits)  # the adapter does something
    half = save_adapter(model, tiny[2] / "half", dtype="float16")
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny[0]), half).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(x).logits, model(x).logits, rtol=1e-2, atol=1e-2)


def test_adapter_option_continues_training_an_existing_adapter(trained, tiny):
    from safetensors.torch import load_file

    from srllm.train.sft import train_sft

    _cfg_, first = trained
    before = load_file(first.adapter_dir / "adapter_model.safetensors")
    # lora_r=2 is ignored: the adapter's own settings (r=4) are kept
    cfg = _cfg(tiny, tiny[2] / "warm", max_steps=2, lora_r=2, adapter=str(first.adapter_dir),
               save_dtype="float32", eval_split="")
    after = load_file(train_sft(cfg).adapter_dir / "adapter_model.safetensors")
    assert set(after) == set(before)
    assert all(after[k].shape == before[k].shape for k in before)
    assert any(not (after[k] == before[k]).all() for k in before)  # trained further, not from zero
    b = [k for k in before if "lora_B" in k][0]
    assert float(before[b].abs().sum()) > 0 and float(after[b].abs().sum()) > 0


def test_adapter_folder_has_a_model_card(trained):
    cfg, result = trained
    card = (result.adapter_dir / "README.md").read_text("utf-8")
    assert "library_name: peft" in card and f"{result.steps} optimiser steps" in card
    assert f"{result.train_examples} examples" in card and f"lora_r: {cfg.lora_r}" in card


def test_model_card_quotes_the_data_build_and_train_commands():
    from srllm.train.sft_card import adapter_card

    summary = {"config": {"model": "default", "method": "lora", "data": "cmd.jsonl", "train_split": "train",
                          "eval_split": "dev", "max_length": 64, "batch_size": 2, "grad_accum": 1, "epochs": 1,
                          "learning_rate": 1e-3, "lr_scheduler": "cosine", "warmup_ratio": 0.0, "seed": 0},
               "train_examples": 8, "eval_examples": 2, "steps": 4, "seconds": 60.0, "tokens": 600,
               "tokens_per_second": 10.0}
    card = adapter_card(summary, command="srllm train sft --data cmd.jsonl",
                        data_command="srllm data build --out cmd.jsonl --rank-references")
    block = card.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert block == ["srllm data build --out cmd.jsonl --rank-references", "srllm train sft --data cmd.jsonl"]


def test_resume_continues_from_checkpoint(trained, tiny):
    from srllm.train.sft import train_sft

    cfg, _ = trained
    with pytest.raises(SrllmConfigError, match="--resume"):
        train_sft(cfg)
    more = _cfg(tiny, cfg.output_dir, max_steps=8, resume=True)
    result = train_sft(more)
    assert result.steps == 8
    steps = [h["step"] for h in result.log_history if "loss" in h]
    assert 1 in steps and 8 in steps  # the history of the first run was restored from the checkpoint
    with pytest.raises(SrllmConfigError, match="no checkpoint"):
        train_sft(_cfg(tiny, tiny[2] / "empty", resume=True))


def test_prefix_tuning_runs(tiny, tmp_path):
    from srllm.train.sft import train_sft

    result = train_sft(_cfg(tiny, tmp_path / "prefix", method="prefix", max_steps=2, num_virtual_tokens=4,
                            eval_split=""))
    conf = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert conf["peft_type"] == "PREFIX_TUNING" and result.steps == 2


def test_qlora_without_cuda_stops_before_loading(tiny, tmp_path, monkeypatch):
    import torch

    import srllm.train.sft as sft

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setattr(sft, "load_model", lambda cfg: pytest.fail("loaded a model"))
    with pytest.raises(SrllmConfigError, match="CUDA"):
        sft.train_sft(_cfg(tiny, tmp_path / "q", method="qlora"))


def test_yaml_unknown_key_and_flags_win(tmp_path):
    good = tmp_path / "c.yaml"
    good.write_text("lora_r: 4\nlearning_rate: 1.0e-3\ntarget_modules: [q_proj, v_proj]\n")
    cfg = load_config(SftConfig, good, lora_r=16, seed=None)
    assert cfg.lora_r == 16 and cfg.learning_rate == 1e-3 and cfg.target_modules == ["q_proj", "v_proj"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("lora_rank: 4\n")
    with pytest.raises(SrllmConfigError, match="unknown key 'lora_rank'.*lora_r"):
        load_config(SftConfig, bad)
    with pytest.raises(SrllmConfigError, match="method"):
        SftConfig(method="dora")


def test_export_merge_loads_in_plain_transformers(trained, tiny, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from srllm.models import load_causal_lm
    from srllm.train.export import export_merged

    _cfg_, result = trained
    out = export_merged(result.adapter_dir, tmp_path / "merged", model=str(tiny[0]))
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert not (out / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    with_adapter, _tok = load_causal_lm(str(tiny[0]), adapter=str(result.adapter_dir))
    x = torch.tensor([[5, 6, 7, 8, 9, 10]])
    with torch.no_grad():
        torch.testing.assert_close(merged(x).logits, with_adapter(x).logits, rtol=1e-4, atol=1e-4)


def test_cli_train_sft_flags_and_bad_key(tiny, tmp_path):
    import torch
    from typer.testing import CliRunner

    from srllm.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 2\n")
    res = CliRunner().invoke(app, ["train", "sft", "--config", str(bad)])
    assert res.exit_code == 2 and "unknown key 'epochz'" in res.output and "Traceback" not in res.output
    if torch.cuda.is_available():
        return
    res = CliRunner().invoke(app, ["train", "sft", "--data", str(tiny[1]), "--model", str(tiny[0]),
                                   "--method", "qlora", "--output-dir", str(tmp_path / "o")])
    assert res.exit_code == 2 and "CUDA" in res.output


@pytest.mark.slow
def test_shipped_adapter_is_small_and_loads_on_the_embedded_model():
    import torch
    from safetensors import safe_open

    from srllm.models import default_adapter_dir, load_causal_lm

    path = default_adapter_dir()
    if path is None:
        pytest.skip("no shipped adapter in src/srllm/assets/sr-adapter-smollm2-135m")
    weights = path / "adapter_model.safetensors"
    assert weights.stat().st_size < 10_000_000 and (path / "README.md").is_file()
    with safe_open(str(weights), "pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}  # noqa: SIM118 (safe_open is not a dict)
    model, tok = load_causal_lm(None, adapter=str(path))
    x = tok("you are a fool", return_tensors="pt")
    with torch.no_grad():
        assert torch.isfinite(model(**x).logits).all()
