"""The detector's training: config checks, grouping/splitting, threshold choice and metrics against reference
implementations, and (with ../shared/data) the importer-to-training path on a small subset with a tiny encoder."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from srllm.config import load_config
from srllm.data.normalize import normalize
from srllm.detect import Detector, HeadSet
from srllm.errors import SrllmConfigError, SrllmDataError
from srllm.evaluate.detection import binary_scores, score_counterfactual, score_infer50
from srllm.schema import Record
from srllm.train.detector.config import DetectorTrainConfig
from srllm.train.detector.data import SAFE, Example, _dedup, split_examples
from srllm.train.detector.fit import choose_threshold, fit_best, fit_logreg, predict
from tests._tiny_encoder import make_tiny_encoder


def test_config_checks_and_yaml(tmp_path):
    with pytest.raises(SrllmConfigError, match="unknown source"):
        DetectorTrainConfig(sources=("paradetox", "nope"))
    with pytest.raises(SrllmConfigError, match="head must be"):
        DetectorTrainConfig(head="svm")
    with pytest.raises(SrllmConfigError, match="val_fraction"):
        DetectorTrainConfig(val_fraction=0.7)
    with pytest.raises(SrllmConfigError, match="group_rule_heads"):
        DetectorTrainConfig(group_rule_heads=("toxicity",))
    assert DetectorTrainConfig(group_rule_heads=[]).group_rule_heads == ()
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("head: logreg\nseed: 3\n")
    cfg = load_config(DetectorTrainConfig, cfg_file, seed=5)
    assert cfg.head == "logreg" and cfg.seed == 5
    cfg_file.write_text("heads: logreg\n")
    with pytest.raises(SrllmConfigError, match="unknown key"):
        load_config(DetectorTrainConfig, cfg_file)


def test_split_keeps_groups_together_and_is_deterministic():
    examples = []
    for i in range(200):
        examples.append(Example(f"toxic {i}", "paradetox", f"g{i}", {"toxicity": 1}))
        examples.append(Example(f"neutral {i}", "paradetox", f"g{i}", dict(SAFE)))
    split_examples(examples, seed=1, val_fraction=0.15, test_fraction=0.15)
    by_group = {}
    for e in examples:
        by_group.setdefault(e.group, set()).add(e.split)
    assert all(len(s) == 1 for s in by_group.values())
    counts = {s: sum(e.split == s for e in examples) // 2 for s in ("train", "val", "test")}
    assert counts == {"train": 140, "val": 30, "test": 30}
    again = [Example(e.text, e.source, e.group, e.labels) for e in examples]
    split_examples(again, seed=1, val_fraction=0.15, test_fraction=0.15)
    assert [e.split for e in again] == [e.split for e in examples]
    for e in again[:20]:  # pinned groups (the rewriter's test texts) go to test first
        e.extra["pin_test"] = True
    split_examples(again, seed=1, val_fraction=0.15, test_fraction=0.15)
    assert {e.split for e in again[:20]} == {"test"} and sum(e.split == "test" for e in again) == 60


def test_dedup_merges_groups_sharing_a_text_and_drops_conflicting_labels():
    examples = [Example("You idiot", "a", "a1", {"toxicity": 1}),
                Example("you  IDIOT", "b", "b7", {"toxicity": 0, "bias": 0}),
                Example("fine text", "b", "b7", dict(SAFE))]
    out, n_dup, n_conflict = _dedup(examples)
    assert n_dup == 1 and n_conflict == 1 and len(out) == 2
    assert out[0].labels == {"bias": 0} and out[0].group == out[1].group
    assert normalize(" A  b ", "case") == "a b"


def test_choose_threshold_matches_brute_force():
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    p = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1).round(2)
    t = choose_threshold(y, p, max_fpr=0.1)
    best = (-1.0, None)
    for cand in sorted(set(p), reverse=True):
        f = p >= cand
        fpr = (f & ~y).sum() / (~y).sum()
        if fpr <= 0.1:
            score = f1_score(y, f)
            if score > best[0] + 1e-12:
                best = (score, cand)
    assert t == pytest.approx(best[1])


def test_binary_scores_match_sklearn_and_a_direct_bootstrap():
    rng = np.random.default_rng(1)
    y = rng.random(200) < 0.3
    s = y * 0.4 + rng.random(200) * 0.6
    m = binary_scores(y, s, s >= 0.5, n_resamples=200, seed=0)
    assert (m["n"], m["positives"]) == (200, int(y.sum()))
    assert m["auprc"] == pytest.approx(average_precision_score(y, s))
    assert m["f1"] == pytest.approx(f1_score(y, s >= 0.5))
    assert m["precision"] == pytest.approx(precision_score(y, s >= 0.5))
    assert m["recall"] == pytest.approx(recall_score(y, s >= 0.5))
    assert m["fpr"] == pytest.approx(((s >= 0.5) & ~y).sum() / (~y).sum())
    # The interval is the 2.5/97.5 percentile of the metric over 200 resamples of items (seeded).
    draws = np.random.default_rng(0).integers(0, 200, size=(200, 200))
    f1s = [f1_score(y[i], s[i] >= 0.5) for i in draws]
    assert m["f1_ci"] == pytest.approx(list(np.percentile(f1s, [2.5, 97.5])), abs=1e-12)
    assert m["auprc_ci"][0] <= m["auprc"] <= m["auprc_ci"][1]
    assert "auprc_ci" not in binary_scores(y, s, s >= 0.5, n_resamples=0)
    one_class = binary_scores([True, True, True], [0.9, 0.8, 0.1], [True, True, False], n_resamples=20)
    assert np.isnan(one_class["auprc"]) and one_class["auprc_ci"] is None and np.isnan(one_class["fpr"])


def test_external_sets_are_scored_from_the_judge():
    def judge(texts):  # flags texts mentioning "woman" or "bad"; P(unsafe) 0.9 / 0.1
        flags = np.array(["woman" in t or "bad" in t for t in texts])
        return np.where(flags, 0.9, 0.1), flags

    from srllm.data import COUNTERFACTUAL_GROUPS, CounterfactualRow

    variants = [c for cols in COUNTERFACTUAL_GROUPS.values() for c in cols]
    rows = [CounterfactualRow(f"Sentence {i}.", tuple((c, f"{c} {i}.") for c in variants)) for i in range(4)]
    cf = score_counterfactual(rows, judge)
    assert cf["n_original"] == 4 and cf["original_not_flagged"] == 4 and cf["original_not_flagged_share"] == 1.0
    assert cf["variants_flagged_share"]["gender_a_woman"] == 1.0 and cf["variants_flagged_share"]["gender_a_man"] == 0
    assert cf["variants_flagged_share_all"] == pytest.approx(0.1) and cf["score_gap_mean"] == pytest.approx(0.8)
    assert cf["same_decision_all_variants_share"] == 0.0
    assert set(score_counterfactual(rows, judge, variants=False)) == {"n_original", "original_not_flagged",
                                                                      "original_not_flagged_share"}
    recs = [Record(text="bad a", rewrite="fine a"), Record(text="bad b", rewrite="bad b, kept"),
            Record(text="neutral c", rewrite="neutral d")]
    inf = score_infer50(recs, judge)
    assert (inf["n_biased"], inf["n_debiased"], inf["n"]) == (3, 3, 6)
    assert inf["recall"] == pytest.approx(2 / 3) and inf["fpr"] == pytest.approx(1 / 3)


def test_fit_logreg_and_mlp_learn_a_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    layers = fit_logreg(x[:200], y[:200], c=10.0, seed=0)
    assert ((predict(layers, x[200:]) >= 0.5) == y[200:]).mean() > 0.9
    fit = fit_best(x[:200], y[:200], x[200:], y[200:], kind="mlp", c_grid=(), seed=0, hidden=16, epochs=30,
                   learning_rate=0.03)
    assert fit.val_auprc > 0.9 and len(fit.layers) == 2
    again = fit_best(x[:200], y[:200], x[200:], y[200:], kind="mlp", c_grid=(), seed=0, hidden=16, epochs=30,
                   learning_rate=0.03)
    assert np.allclose(again.layers[0][0], fit.layers[0][0])  # seeded


@pytest.mark.shared
def test_training_path_on_a_small_subset(shared_data, tmp_path):
    from srllm.train.detector import train_detector
    from srllm.train.detector.data import load_examples, protected_texts

    encoder = str(make_tiny_encoder(tmp_path / "enc"))
    cfg = DetectorTrainConfig(out=tmp_path / "heads", data_dir=shared_data, encoder=encoder, head="logreg",
                              sources=("paradetox", "srllm", "crows_pairs", "stereoset_context"), max_per_source=60,
                              min_positives=5, c_grid=(1.0,), bootstrap=20, cache_embeddings=False,
                              near_duplicate_cosine=1.0)  # the tiny random encoder makes every text "near"
    examples, _ = load_examples(cfg, shared_data)
    protected = protected_texts(shared_data)
    assert protected and not any(normalize(e.text, "case") in protected for e in examples)
    metrics = train_detector(cfg)
    out = tmp_path / "heads"
    assert {p.name for p in out.iterdir()} == {"heads.json", "heads.safetensors", "metrics.json", "CARD.md",
                                               "encoder-adapter"}
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["thresholds"] == metrics["thresholds"] and {"toxicity", "bias"} <= set(saved["thresholds"])
    assert any(r["set"].startswith("toxic vs neutral") for r in saved["heldout"])
    assert saved["external"]["counterfactual"]["n_original"] == 195  # the held-out rows (the rest trains/validates)
    fair = saved["fairness"]
    assert fair["counterfactual_heldout"]["n_rows"] == 195 and "max_probability_spread_mean" in fair[
        "counterfactual_heldout"]
    assert fair["stereotypes_heldout"]["n"] > 2000
    assert saved["external"]["infer_50"]["n_biased"] == 53
    card = (out / "CARD.md").read_text()
    assert "Held-out test split" in card and "counterfactual" in card
    det = Detector(heads=out)  # the tiny encoder with the tuned adapter merged, as the heads were fitted on
    assert set(det.categories) == set(HeadSet.load(out).ids)
    assert HeadSet.load(out).encoder_adapter == str(out / "encoder-adapter")
    assert saved["seconds"]["tune_encoder"] >= 0 and "tuned with LoRA" in card
    assert len(det.predict(["you are an idiot", "hello"])) == 2
    assert HeadSet.load(out).requires_group == ("bias", "stereotyping")  # group_rule_heads, the default
    # heads refitted on a given adapter: no tuning, the adapter's weights carried over unchanged
    import shutil

    shutil.copytree(out / "encoder-adapter", tmp_path / "adapter")
    again = train_detector(dataclasses.replace(cfg, out=tmp_path / "heads2", encoder_adapter=tmp_path / "adapter",
                                               group_rule_heads=("stereotyping",)))
    assert again["seconds"]["tune_encoder"] < 1.0
    assert HeadSet.load(tmp_path / "heads2").requires_group == ("stereotyping",)
    assert ((tmp_path / "heads2" / "encoder-adapter" / "adapter_model.safetensors").read_bytes()
            == (out / "encoder-adapter" / "adapter_model.safetensors").read_bytes())
    with pytest.raises(SrllmDataError, match="not a PEFT adapter folder"):
        train_detector(dataclasses.replace(cfg, out=tmp_path / "heads3", encoder_adapter=tmp_path))


def test_balanced_weights_balance_classes_and_sources():
    from srllm.train.detector.fit import balanced_weights

    y = np.array([1] * 90 + [1] * 10 + [0] * 50)
    src = np.array(["big"] * 90 + ["small"] * 10 + ["neg"] * 50)
    plain = balanced_weights(y)
    assert plain[y == 1].sum() == pytest.approx(75) and plain[y == 0].sum() == pytest.approx(75)
    full = balanced_weights(y, src, alpha=1.0)
    assert full[src == "big"].sum() == pytest.approx(full[src == "small"].sum())
    half = balanced_weights(y, src, alpha=0.5)
    assert full[src == "small"][0] > half[src == "small"][0] > plain[src == "small"][0]


def test_threshold_respects_the_fpr_cap_of_every_source():
    y = np.array([1] * 50 + [0] * 100 + [0] * 100)
    p = np.r_[np.linspace(0.6, 1.0, 50), np.linspace(0.0, 0.5, 100), np.linspace(0.3, 0.9, 100)]
    groups = np.array(["pos"] * 50 + ["easy"] * 100 + ["hard"] * 100)
    t_all = choose_threshold(y, p, max_fpr=0.05)
    t_src = choose_threshold(y, p, max_fpr=0.05, groups=groups)
    hard = p[groups == "hard"]
    assert t_src >= t_all and (hard >= t_src).mean() <= 0.05
