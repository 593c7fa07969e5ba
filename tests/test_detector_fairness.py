"""Issue 13, the detector half: the group lexicon and counterfactual swaps, the template split (held-out templates
never reach training), the counterfactual row split, protected texts, the new config fields and the fairness
metrics against direct computations."""

from __future__ import annotations

import random

import numpy as np
import pytest

from srllm.data.sources import StereotypeItem
from srllm.errors import SrllmConfigError
from srllm.evaluate.detection import score_counterfactual_fairness, score_stereotypes
from srllm.train.detector.cda import lexicon_mentions, stereotype_swaps
from srllm.train.detector.config import DetectorTrainConfig
from srllm.train.detector.holdout import counterfactual_split, heldout_stereotypes
from srllm.train.detector.lexicon import GROUPS, KIND_SUBCATEGORY, mask_groups, swap_group
from srllm.train.detector.stereotypes import (
    STEREOTYPE_PATTERNS,
    crows_generalises,
    stereoset_generalises,
    template_sentences,
    template_splits,
)
from srllm.train.detector.training import _cap_threshold


def test_lexicon_covers_the_issue_groups_and_every_kind_maps_to_a_subcategory():
    plurals = {e[0].lower() for entries in GROUPS.values() for e in entries}
    for g in ("immigrants", "foreigners", "teenagers", "millennials", "retirees", "homeless people", "old drivers"):
        assert g in plurals
    assert set(GROUPS) == set(KIND_SUBCATEGORY) and len(GROUPS) >= 10


def test_swap_group_keeps_the_form_and_changes_the_kind():
    rng = random.Random(0)
    for _ in range(50):
        text, kind = swap_group("Women are too emotional to be good engineers.", rng)
        assert kind != "gender" and text.endswith("are too emotional to be good engineers.")
        assert text[0].isupper()
    assert swap_group("The weather is nice today.", rng) is None
    out = stereotype_swaps("Immigrants are stealing our jobs.", seed=0, copies=2)
    assert len(out) == 2 and all(t != "Immigrants are stealing our jobs." for t, _ in out)
    # an article follows the new group: "A woman" -> "An ..." when the group starts with a vowel
    for _ in range(30):
        t, _ = swap_group("A woman can't lead a team.", rng)
        assert not t.startswith("A a") and not t.startswith("A e") and not t.startswith("A i")


def test_mask_groups_makes_group_swaps_identical():
    a, b = "Old drivers are a menace.", "Teenagers are a menace."
    assert mask_groups(a) == mask_groups(b) == "someone are a menace."


def test_held_out_templates_never_reach_training():
    patterns, traits = template_splits()
    test_patterns = {p for p, s in patterns.items() if s == "test"}
    assert test_patterns and any(p in test_patterns for p, _ in STEREOTYPE_PATTERNS)
    for split in ("train", "val"):
        sents = template_sentences(split, 400, seed=3)
        assert {label for _, label, _, _ in sents} == {0, 1}
        assert not {pid for _, _, _, pid in sents} & test_patterns
        test_traits = [t for (slot, t), s in traits.items() if s == "test" and len(t.split()) >= 3]
        for text, _, _, _ in sents:
            assert not any(t in text for t in test_traits), text
    assert template_sentences("train", 50, seed=1) == template_sentences("train", 50, seed=1)


def test_training_only_frames_have_no_test_split_and_say_nothing_about_toxicity(tmp_path):
    from srllm.train.detector.data import _stereotype_templates
    from srllm.train.detector.stereotypes import EXTRA_SAFE_PATTERNS, EXTRA_STEREOTYPE_PATTERNS

    patterns, _ = template_splits()
    extra = {pid for pid, _ in EXTRA_STEREOTYPE_PATTERNS + EXTRA_SAFE_PATTERNS}
    assert {patterns[p] for p in extra} == {"train", "val"}
    sents = template_sentences("train", 200, seed=0, extra=True)
    assert {pid for _, _, _, pid in sents} <= extra and {label for _, label, _, _ in sents} == {0, 1}
    assert not {pid for _, _, _, pid in template_sentences("train", 200, seed=0)} & extra
    cfg = DetectorTrainConfig(stereotype_templates=100, stereotype_templates_val=20, stereotype_templates_extra=0.5)
    examples = _stereotype_templates(tmp_path, cfg)
    framed = [e for e in examples if e.group.split(":")[1] in extra]
    assert len(framed) == 2 * (50 + 10)  # per label: half of 100 (train) and of 20 (val)
    assert all("toxicity" not in e.labels and "bias" in e.labels for e in framed)
    assert all(e.labels.get("toxicity") == 0 for e in examples if e not in framed and e.labels["bias"] == 0)


def test_counterfactual_rows_split_is_fixed_and_about_half_held_out():
    splits = [counterfactual_split(i, f"sentence {i}") for i in range(4000)]
    share = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert abs(share["train"] - 0.35) < 0.03 and abs(share["val"] - 0.15) < 0.03 and abs(share["test"] - 0.5) < 0.03
    assert counterfactual_split(7, "x") == counterfactual_split(7, "x")


def test_heldout_set_ships_with_both_labels_and_many_kinds():
    items = heldout_stereotypes()
    assert items, "src/srllm/assets/stereotypes/heldout.jsonl is missing"
    kinds = {r.kind for r in items if r.label == 1}
    assert len(kinds) >= 10 and {r.label for r in items} == {0, 1}


def test_generalisation_filters():
    assert crows_generalises("[MASK] people are too lazy to work.", "Black", {"black"})
    assert not crows_generalises("[MASK] said to himself as he arrived at prison.", "Jamal", set())
    assert stereoset_generalises("Ethiopian men are skinny", "Ethiopian")
    assert not stereoset_generalises("The chess player was asian.", "chess player")


def test_lexicon_mentions_replace_a_person():
    out = lexicon_mentions([("hellaswag:1", "A man is sitting on a roof.")], seed=0, per_sentence=2)
    assert out and all(t != "A man is sitting on a roof." and t.endswith("is sitting on a roof.") for _, t in out)


def test_new_config_fields_are_checked():
    with pytest.raises(SrllmConfigError, match="stereotype_swaps"):
        DetectorTrainConfig(stereotype_swaps=-1)
    with pytest.raises(SrllmConfigError, match="near_duplicate_cosine"):
        DetectorTrainConfig(near_duplicate_cosine=0)
    with pytest.raises(SrllmConfigError, match="bias_source_max_val_fpr"):
        DetectorTrainConfig(bias_source_max_val_fpr={"nope": 0.1})
    assert DetectorTrainConfig(bias_source_max_val_fpr={"paradetox": 0.015}).bias_source_max_val_fpr


def test_cap_threshold_keeps_the_source_fpr_under_the_cap():
    rng = np.random.default_rng(0)
    p, y = rng.random(500), np.zeros(500, int)
    src = np.ones(500, bool)
    t = _cap_threshold(p, y, src, 0.02)
    assert (p >= t).mean() <= 0.02 and (p >= np.nextafter(t, 0) - 1e-3).mean() > 0.015
    assert _cap_threshold(p[:10], y[:10], src[:10], 0.02) == 0.0  # too few negatives: no cap


class _Row:
    def __init__(self, texts):
        self._t = texts

    def text(self, column):
        from srllm.data.sources import COUNTERFACTUAL_GROUPS
        cols = ["Original"] + [c for g in COUNTERFACTUAL_GROUPS.values() for c in g]
        return self._t[cols.index(column)]


def test_counterfactual_fairness_metrics_match_a_direct_computation():
    rng = np.random.default_rng(1)
    rows = [_Row([f"r{i}c{k}" for k in range(11)]) for i in range(30)]
    table = {f"r{i}c{k}": rng.random(3) for i in range(30) for k in range(11)}
    thr = np.array([0.9, 0.8, 0.95])
    out = score_counterfactual_fairness(rows, lambda texts: np.array([table[t] for t in texts]), thr)
    top = np.array([[table[f"r{i}c{k}"].max() for k in range(11)] for i in range(30)])
    assert out["max_probability_spread_mean"] == pytest.approx((top.max(1) - top.min(1)).mean())
    flags = np.array([[(table[f"r{i}c{k}"] >= thr).any() for k in range(11)] for i in range(30)])
    assert out["variant_max"] == pytest.approx(flags[:, 1:].mean(0).max())


def test_score_stereotypes_recall_by_kind():
    items = [StereotypeItem(f"t{i}", int(i < 10), "s", "age" if i < 5 else "race") for i in range(20)]
    judge = lambda texts: (np.array([0.9 if int(t[1:]) < 7 else 0.1 for t in texts]),  # noqa: E731
                           np.array([int(t[1:]) < 7 for t in texts]))
    out = score_stereotypes(items, judge)
    assert out["recall"] == pytest.approx(0.7) and out["fpr"] == 0
    assert out["recall_by_kind"] == {"age": 1.0, "race": pytest.approx(0.4)}


def test_heldout_stereotype_reader_is_strict(tmp_path):
    from srllm.data.sources import heldout_stereotypes as read
    from srllm.errors import SrllmDataError

    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "A.", "label": 1, "source": "sbic", "kind": "age"}\n{"text": "B.", "label": 0, '
                    '"source": "bbq_context"}\n')
    assert read(good) == (StereotypeItem("A.", 1, "sbic", "age"), StereotypeItem("B.", 0, "bbq_context"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "A.", "label": 2, "source": "sbic"}\n')
    with pytest.raises(SrllmDataError, match="bad.jsonl"):
        read(bad)
    assert read(tmp_path / "absent.jsonl") == ()


def test_heldout_near_duplicates_are_dropped_from_train_and_val_only():
    from srllm.train.detector.data import Example
    from srllm.train.detector.training import drop_heldout_near_duplicates

    held = heldout_stereotypes()[0].text
    examples = [Example(held.replace(".", "!"), "sbic", "g1", {"bias": 1}),  # near: dropped
                Example("The bus was late again this morning.", "sbic", "g2", {"bias": 0}),  # far: kept
                Example(held.replace(".", "!"), "paradetox", "g3", {"toxicity": 0}),  # not a guarded source
                Example(held.replace(".", "!"), "gest", "g4", {"bias": 1})]  # test split: kept
    for e, split in zip(examples, ("train", "val", "train", "test"), strict=True):
        e.split = split

    def embed(texts, _what):  # stand-in encoder: the same vector for texts equal up to punctuation
        rows = []
        for t in texts:
            v = np.zeros(64)
            for w in t.lower().replace("!", ".").split():
                v[hash(w) % 64] += 1
            rows.append(v / np.linalg.norm(v))
        return np.array(rows)

    cfg = DetectorTrainConfig(near_duplicate_cosine=0.99)
    assert drop_heldout_near_duplicates(examples, embed, cfg) == 1
    assert [e.split for e in examples] == ["heldout_near_duplicate", "val", "train", "test"]
    assert drop_heldout_near_duplicates(examples, embed, DetectorTrainConfig(near_duplicate_cosine=1.0)) == 0
