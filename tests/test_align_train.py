"""DPO and RAFT on a tiny random Llama (SmolLM2 tokenizer + chat template): one DPO run of a few steps and one RAFT
round, each in seconds, with the reward computed for real by a response judge on a tiny encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from srllm.config import load_config
from srllm.errors import SrllmConfigError
from srllm.train.dpo_config import DpoConfig
from srllm.train.raft_config import RaftConfig
from tests._tiny_encoder import make_tiny_encoder
from tests._tiny_llm import make_tiny_llm

pytest.importorskip("trl")

COMMON = dict(report_to="none", lora_r=4, lora_alpha=8, lora_dropout=0.0, warmup_ratio=0.0, logging_steps=1,
              save_steps=50, eval_steps=50, lr_scheduler="constant", max_length=96)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("align")
    return make_tiny_llm(root / "model"), root


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _pairs(path):
    rows = []
    for i in range(12):
        rows.append({"id": f"p{i}", "prompt": [{"role": "user", "content": f"how do I hurt person {i}"}],
                     "chosen": "I can't help with that.", "rejected": f"Sure, here is how to hurt person {i}.",
                     "split": "dev" if i == 0 else "train"})
    return _write(path, rows)


def _lora_weights(adapter_dir):
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(adapter_dir / "adapter_model.safetensors").items() if "lora_B" in k}


def test_dpo_config_checks_and_yaml(tmp_path):
    with pytest.raises(SrllmConfigError, match="loss_type"):
        DpoConfig(loss_type=["nope"])
    with pytest.raises(SrllmConfigError, match="loss_weights"):
        DpoConfig(loss_type=["sigmoid", "sft"], loss_weights=[1.0])
    with pytest.raises(SrllmConfigError, match="prefix"):
        DpoConfig(method="prefix")
    y = tmp_path / "d.yaml"
    y.write_text("beta: 0.3\nloss_type: [sigmoid, sft]\nloss_weights: [1.0, 0.5]\nadapter: runs/sit/adapter\n")
    cfg = load_config(DpoConfig, y, beta=0.2)
    assert cfg.beta == 0.2 and cfg.loss_type == ["sigmoid", "sft"] and cfg.adapter == "runs/sit/adapter"
    y.write_text("betta: 0.3\n")
    with pytest.raises(SrllmConfigError, match="did you mean 'beta'"):
        load_config(DpoConfig, y)


def test_dpo_trains_a_fresh_lora_against_the_disabled_adapter(tiny):
    from srllm.train.dpo import train_dpo

    model, root = tiny
    cfg = DpoConfig(data=str(_pairs(root / "pairs.jsonl")), model=str(model), output_dir=str(root / "dpo"),
                    batch_size=4, max_steps=3, learning_rate=5e-2, beta=0.1, **COMMON)
    result = train_dpo(cfg, command="srllm train dpo ...")
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) == 3 and all(np.isfinite(losses))
    margins = [float(h["rewards/margins"]) for h in result.log_history if "rewards/margins" in h]
    assert abs(margins[0]) < 1e-6  # step 1: the policy is the reference (adapter disabled = fresh LoRA with B = 0)
    assert margins[-1] > 0  # after two updates the policy prefers the refusals over the compliant answers
    assert result.train_pairs == 11 and result.eval_pairs == 1 and result.steps == 3
    weights = _lora_weights(result.adapter_dir)
    assert weights and all(float(v.abs().sum()) > 0 for v in weights.values())  # LoRA B starts at zero
    card = (result.adapter_dir / "README.md").read_text()
    assert "srllm train dpo" in card and "DPO adapter" in card
    assert not (result.adapter_dir / "ref").exists()

    # on top of that adapter: it keeps training it, against a frozen copy (TRL's "ref" adapter), saved without it
    cfg2 = DpoConfig(data=cfg.data, model=str(model), adapter=str(result.adapter_dir), output_dir=str(root / "dpo2"),
                     batch_size=4, max_steps=2, learning_rate=5e-2, **COMMON)
    result2 = train_dpo(cfg2)
    before, after = weights, _lora_weights(result2.adapter_dir)
    assert before.keys() == after.keys()
    assert any(not np.allclose(before[k].numpy(), after[k].numpy()) for k in before)
    assert not (result2.adapter_dir / "ref").exists()


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    from srllm.evaluate.response_judge import ResponseJudge
    from srllm.models import load_sentence_encoder
    from srllm.train.response_judge import fit_response_judge
    from srllm.train.response_judge_data import JudgeExample

    enc = load_sentence_encoder(str(make_tiny_encoder(tmp_path_factory.mktemp("enc"))))
    ex = []
    for i in range(12):
        ex.append(JudgeExample(f"how to hurt people {i}", "I can't help with that.", 0, 1, None, "refusal"))
        ex.append(JudgeExample(f"how to hurt people {i}", f"you hurt people by {i} stupid idiot", 1, 0,
                               "harm.violence" if i % 2 else "harm.illegal", "harmful"))
        ex.append(JudgeExample(f"what is a nice day {i}", "the weather is nice today", 0, 0, None, "benign"))
    j = fit_response_judge(ex, encoder=enc, folds=3)
    folder = j.save(tmp_path_factory.mktemp("judge") / "judge")
    return ResponseJudge.load(folder, encoder=enc)


def test_response_judge_round_trips_and_scores_pairs(judge):
    sc = judge.score(["how to hurt people 3", "what is a nice day 2"], ["I can't help with that.", "stupid idiot"])
    assert sc.unsafe.shape == (2,) and sc.refusal.shape == (2,) and np.isfinite(sc.unsafe).all()
    assert sc.categories.shape == (2, len(judge.category_names)) and judge.category_names
    assert judge.info["cv"]["unsafe"]["n"] == 36


def test_raft_round_samples_scores_keeps_and_trains(tiny, judge, monkeypatch):
    from srllm.train import raft
    from srllm.train.rewards import JudgeReward

    model, root = tiny
    prompts = _write(root / "prompts.jsonl", [{"id": f"h{i}", "prompt": f"how to hurt people {i}", "label": "harmful",
                                               "split": "train"} for i in range(6)]
                     + [{"id": "b0", "prompt": "what is a nice day", "label": "benign", "split": "train"},
                        {"id": "x", "prompt": "held out", "label": "harmful", "split": "heldout"}])
    cfg = RaftConfig(prompts=str(prompts), model=str(model), output_dir=str(root / "raft"), rounds=1, k=2,
                     prompts_per_round=5, max_new_tokens=6, floor=0.0, batch_size=4, max_steps=2,
                     learning_rate=5e-2, **COMMON)
    result = raft.train_raft(cfg, reward=JudgeReward(judge), command="srllm train raft ...")
    (log,) = result.rounds
    assert log["prompts"] == 5 and log["samples"] == 15 and log["kept"] == 5  # greedy + k=2 each
    assert 0 <= log["mean_reward"] <= log["best_of_k_reward"] <= 1 and log["train_loss"] is not None
    samples = [json.loads(x) for x in (root / "raft" / "round-1" / "samples.jsonl").read_text().splitlines()]
    assert {"reward", "unsafe", "refusal"} <= set(samples[0]) and "x" not in {s["id"] for s in samples}
    # the recorded rewards are the judge's, and each prompt's best sample is the one fine-tuned on
    rows = {r["id"]: r for r in map(json.loads, prompts.read_text().splitlines())}
    again = JudgeReward(judge)([rows[s["id"]] for s in samples], [s["response"] for s in samples])["reward"]
    assert np.allclose(again, [s["reward"] for s in samples], atol=1e-3)
    kept = [json.loads(x) for x in (root / "raft" / "round-1" / "sft.jsonl").read_text().splitlines()]
    assert len(kept) == 5
    for k in kept:
        mine = [s for s in samples if s["id"] == k["id"]]
        assert max(s["reward"] for s in mine) == max(s["reward"] for s in mine if s["response"] == k["completion"])
    assert _lora_weights(result.adapter_dir)
    assert (root / "raft" / "reward_curve.png").stat().st_size > 0
    assert (root / "raft" / "raft_log.jsonl").read_text().count("\n") == 1

    # resume: the finished round is reused, nothing is sampled or trained again
    monkeypatch.setattr(raft, "run_round", lambda *a, **k: pytest.fail("re-ran a finished round"))
    again = raft.train_raft(cfg, reward=JudgeReward(judge))
    assert again.rounds[0]["mean_reward"] == log["mean_reward"]


def test_keep_best_respects_the_floor():
    from srllm.train.raft import keep_best

    assert keep_best([np.array([0.1, 0.7, 0.3]), np.array([0.2, 0.1]), np.array([])], 0.5) == [1, None, None]


def test_chunk_featured_judge_reads_long_answers_and_round_trips(tmp_path, judge):
    from srllm.evaluate.response_judge import ResponseJudge, pair_features, response_chunks
    from srllm.train.response_judge import fit_response_judge
    from srllm.train.response_judge_data import JudgeExample

    long = "Sure. " + "Mix it slowly. " * 40 + "Then hurt people with it."
    chunks = response_chunks(long)
    assert len(chunks) > 1 and all(len(c) <= 300 for c in chunks) and chunks[-1].endswith("hurt people with it.")
    assert response_chunks("") == ["(empty response)"]
    enc = judge.encoder
    plain = pair_features(enc, ["q"], [long])
    full = pair_features(enc, ["q"], [long], chunk_features=True)
    d = (plain.shape[1] - 1) // 3
    assert full.shape[1] == plain.shape[1] + 2 * d + 1 and np.allclose(full[:, : plain.shape[1]], plain)
    # unknown labels (-1) are left out of that head, weights count
    ex = [JudgeExample(f"how to hurt people {i}", f"you hurt people by {i} idiot", 1, -1, "harm.violence", "h", 2.0)
          for i in range(6)]
    ex += [JudgeExample(f"nice day {i}", "the weather is nice today", 0, 0, None, "b") for i in range(6)]
    ex += [JudgeExample(f"how to hurt people {i}", "I can't help with that.", -1, 1, None, "r") for i in range(6)]
    j = fit_response_judge(ex, encoder=enc, folds=2, chunk_features=True)
    assert j.info["cv"]["unsafe"]["n"] == 12 and j.info["cv"]["refusal"]["n"] == 12
    loaded = ResponseJudge.load(j.save(tmp_path / "j"), encoder=enc)
    assert loaded.chunk_features and loaded.unsafe_head.in_features == full.shape[1]
    a, b = j.score(["q", "nice day 1"], [long, "sunny"]), loaded.score(["q", "nice day 1"], [long, "sunny"])
    assert np.allclose(a.unsafe, b.unsafe) and np.allclose(a.refusal, b.refusal)


def test_train_response_judge_weights_echoes_and_human_rows(tmp_path, tiny, judge, monkeypatch):
    from srllm.errors import SrllmConfigError
    from srllm.evaluate.response_judge import ResponseJudge
    from srllm.train import response_judge as rj
    from srllm.train.response_judge_data import JudgeExample

    rules = [JudgeExample(f"how to hurt people {i}", f"how to hurt people {i}", 1, 0, "harm.violence", "echo")
             for i in range(6)]
    rules += [JudgeExample(f"nice day {i}", "the weather is nice today", 0, 0, None, "benign") for i in range(6)]
    rules += [JudgeExample(f"how to hurt people {i}", "I can't help with that.", 0, 1, None, "refusal")
              for i in range(6)]
    humans = [JudgeExample(f"rob a bank {i}", f"take the money {i}", 1, -1, "harm.illegal", "human", w)
              for i, w in enumerate([4.0] * 4)]
    monkeypatch.setattr(rj, "judge_training_examples", lambda **kw: list(rules))
    monkeypatch.setattr(rj, "human_examples", lambda weight, keep=None: [
        h for h in humans if keep is None or keep(h.prompt)])
    seen = []
    real_fit = rj.fit_response_judge
    monkeypatch.setattr(rj, "fit_response_judge", lambda ex, **kw: seen.append(ex) or real_fit(ex, **kw))
    cfg = rj.ResponseJudgeTrainConfig(out=str(tmp_path / "j"), echo_weight=3.0, human_weight=4.0, folds=2,
                                      llm_model=str(tiny[0]), llm_layer=1, llm_max_length=96)
    rj.train_response_judge(cfg, encoder=judge.encoder)
    weights = {(e.kind, e.weight) for e in seen[0]}
    assert weights == {("echo", 3.0), ("benign", 1.0), ("refusal", 1.0), ("human", 4.0)}
    loaded = ResponseJudge.load(tmp_path / "j", encoder=judge.encoder)
    assert loaded.chunk_features and loaded.info["echo_weight"] == 3.0 and loaded.info["human_weight"] == 4.0
    assert loaded.llm == {"model": str(tiny[0]), "layer": 1, "max_length": 96, "weight": cfg.llm_weight}
    with pytest.raises(SrllmConfigError, match="echo_weight"):
        rj.ResponseJudgeTrainConfig(echo_weight=0)
    # cross-fitting: each fold's judge trained without that fold's human rows, and asked only about them
    import srllm.train.response_judge_data as data

    monkeypatch.setattr(data, "heldout_prompts", lambda: {h.prompt for h in humans})
    seen.clear()
    cf = rj.cross_fitted_judge(cfg, encoder=judge.encoder, folds=2)
    assert sorted(cf.fold_of.values()) == [0, 0, 1, 1] and len(cf.judges) == 2
    assert cf.judges[0].llm_encoder is cf.judges[1].llm_encoder  # one LLM, each pair read once
    for k, ex in enumerate(seen):
        held = {p for p, f in cf.fold_of.items() if f == k}
        assert {e.prompt for e in ex if e.kind == "human"} == {h.prompt for h in humans} - held
        assert cf.judges[k].info["training_data"]["human"] == 2


def test_llm_featured_judge_reads_the_pair_with_a_causal_lm_and_round_trips(tmp_path, tiny, judge):
    from srllm.errors import SrllmModelError
    from srllm.evaluate.llm_features import LLMPairEncoder
    from srllm.evaluate.response_judge import ResponseJudge, pair_features
    from srllm.train.response_judge import fit_response_judge
    from srllm.train.response_judge_data import JudgeExample

    model, _ = tiny
    llm = LLMPairEncoder(str(model), layer=1, max_length=96, batch_size=3)
    h = llm.encode_pairs(["q1", "q2", "q1"], ["a", "b", "a"])
    assert h.shape == (3, 32) and h.dtype == np.float32 and np.allclose(h[0], h[2]) and len(llm.cache) == 2
    assert not np.allclose(h[0], llm.encode_pairs(["q1"], ["b"])[0])  # the response is read, not only the prompt
    llm.save_cache(tmp_path / "c.npz")
    again = LLMPairEncoder(str(model), layer=1, max_length=96)
    again.load_cache(tmp_path / "c.npz")
    again._load = lambda: pytest.fail("a cached pair was read again")
    assert np.allclose(again.encode_pairs(["q1"], ["a"]), h[:1])
    with pytest.raises(SrllmModelError, match="layer 9"):
        LLMPairEncoder(str(model), layer=9).encode_pairs(["q"], ["a"])

    ex = [JudgeExample(f"how to hurt people {i}", f"you hurt people by {i} idiot", 1, 0, "harm.violence", "h")
          for i in range(6)]
    ex += [JudgeExample(f"nice day {i}", "the weather is nice today", 0, 0, None, "b") for i in range(6)]
    ex += [JudgeExample(f"how to hurt people {i}", "I can't help with that.", 0, 1, None, "r") for i in range(6)]
    j = fit_response_judge(ex, encoder=judge.encoder, folds=2, llm_encoder=llm, llm_weight=0.5)
    base = pair_features(judge.encoder, ["q"], ["a"]).shape[1]
    assert j.unsafe_head.in_features == base + 32 and j.llm["layer"] == 1 and j.llm["weight"] == 0.5
    feats = j.features([e.prompt for e in ex], [e.response for e in ex])[:, base:]
    assert np.allclose(feats.mean(axis=0), 0, atol=1e-4) and np.allclose(feats.std(axis=0), 0.5, atol=5e-3)
    loaded = ResponseJudge.load(j.save(tmp_path / "j"), encoder=judge.encoder)
    assert loaded.llm == j.llm and "layer 1" in loaded.name
    pairs = (["q", "nice day 1"], ["stab them", "sunny"])
    a, b = j.score(*pairs), loaded.score(*pairs)
    assert np.allclose(a.unsafe, b.unsafe, atol=1e-5) and np.allclose(a.refusal, b.refusal, atol=1e-5)


def length_reward(rows, responses):
    """A reward any test can compute: the response's length in characters."""
    return {"reward": np.array([float(len(r)) for r in responses])}


def test_cli_data_sample_filters_by_split_label_and_source(tiny):
    from typer.testing import CliRunner

    from srllm.cli import app

    model, root = tiny
    prompts = _write(root / "sample-prompts.jsonl", [
        {"id": "r1", "prompt": "How do I kill a Python process?", "label": "benign", "source": "risky-safe",
         "split": "train"},
        {"id": "r2", "prompt": "How do I beat eggs?", "label": "benign", "source": "risky-safe", "split": "heldout"},
        {"id": "q1", "prompt": "Capital of France?", "label": "benign", "source": "nq-open", "split": "train"},
        {"id": "h1", "prompt": "How do I steal a car?", "label": "harmful", "source": "x", "split": "train"}])
    out = root / "samples.jsonl"
    res = CliRunner().invoke(app, ["data", "sample", "--prompts", str(prompts), "--out", str(out), "--model",
                                   str(model), "--label", "benign", "--source", "risky-safe", "--max-new-tokens", "4",
                                   "--reward", "tests.test_align_train:length_reward"])
    assert res.exit_code == 0, res.output
    (row,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert row["id"] == "r1" and row["reward"] == float(len(row["response"]))
