"""Held-out evaluation of trained detector heads: AUPRC, F1, precision, recall and false-positive rate at the
declared thresholds (95% bootstrap intervals), per data set and sub-category, on the test split. The metrics and the
external test sets (counterfactual over-correction, infer_50) are scored by `srllm.evaluate.detection`."""

from __future__ import annotations

import numpy as np

from srllm.detect.heads import unsafe_score
from srllm.evaluate.detection import binary_scores

__all__ = ["Scorer", "evaluate_heldout"]


class Scorer:
    """Probabilities and decisions of a HeadSet at its declared thresholds, on precomputed embeddings."""

    def __init__(self, head_set):
        self.head_set = head_set
        self.ids = head_set.ids
        self.thr = np.array([h.threshold for h in head_set.heads], dtype=np.float32)
        from srllm.taxonomy import default_taxonomy

        self.group_terms = default_taxonomy().group_terms  # as a Detector with the default policy

    def __call__(self, emb: np.ndarray, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities (n, heads), P(unsafe) as Detector.unsafe_probability, unsafe = any head at/above its
        threshold) of `texts`, whose embeddings are `emb` (the texts for the heads' `requires_group` rule)."""
        p = self.head_set.apply_group_rule(self.head_set.predict_proba(emb), texts, extra_terms=self.group_terms)
        return p, unsafe_score(p, self.thr), (p >= self.thr).any(axis=1)

    def col(self, cid: str) -> int:
        return self.ids.index(cid)


def _rows(examples, pick) -> np.ndarray:
    return np.array([i for i, e in enumerate(examples) if pick(e)], dtype=int)


def evaluate_heldout(examples, emb: np.ndarray, scorer: Scorer, *, n_boot: int, seed: int,
                     min_positives: int = 5) -> list[dict]:
    """One row per (data set, decision) on the test split; sub-category rows need `min_positives` positives."""
    test = [e for e in examples if e.split == "test"]
    x = emb[[i for i, e in enumerate(examples) if e.split == "test"]]
    probs, unsafe_p, unsafe = scorer(x, [e.text for e in test])
    rows = []

    def add(name: str, head: str, label: str, pick):
        idx = _rows(test, lambda e: pick(e) and label in e.labels)
        if len(idx) == 0:
            return
        y = np.array([test[i].labels[label] == 1 for i in idx])
        if head == "unsafe":
            s, f = unsafe_p[idx], unsafe[idx]
        else:
            j = scorer.col(head)
            s, f = probs[idx, j], probs[idx, j] >= scorer.thr[j]
        rows.append({"set": name, "decision": head, "threshold": None if head == "unsafe" else
                     float(scorer.thr[scorer.col(head)]), **binary_scores(y, s, f, n_resamples=n_boot, seed=seed)})

    sets = [("toxic vs neutral (ParaDetox pairs)", "toxicity", lambda e: e.source == "paradetox"),
            ("toxic vs neutral (+ cannot-rewrite toxic)", "toxicity",
             lambda e: e.source in ("paradetox", "paradetox_cannot_rewrite")),
            ("biased vs debiased (SR_LLM train_500 held-out pairs)", "bias", lambda e: e.source == "srllm"),
            ("stereotypes (SBIC, GEST, CrowS-Pairs) vs safe group mentions (StereoSet, BBQ, discrim_eval, augmented)",
             "stereotyping", lambda e: e.source in ("sbic", "gest", "crows_pairs", "stereoset_context",
                                                    "bbq_context", "discrim_eval", "group_mentions"))]
    for name, head, pick in sets:
        if head in scorer.ids:
            add(name, head, head, pick)
        add(name, "unsafe", head, pick)
    for j, h in enumerate(scorer.head_set.heads):
        if h.parent is None:
            continue
        picks = [("all held-out sources, " + h.id, lambda e: True)]
        if h.parent == "bias":
            picks.insert(0, ("biased vs debiased (SR_LLM), " + h.id, lambda e: e.source == "srllm"))
        for name, pick in picks:
            idx = _rows(test, lambda e, pick=pick, par=h.parent: pick(e) and (
                e.labels.get(par) == 0 or (par in e.subs_known and e.labels.get(par) == 1)))
            y = np.array([test[i].labels.get(h.id, 0) == 1 for i in idx])
            if y.sum() < min_positives:
                continue
            f = probs[idx, j] >= scorer.thr[j]
            rows.append({"set": name, "decision": h.id, "threshold": float(scorer.thr[j]),
                         **binary_scores(y, probs[idx, j], f, n_resamples=n_boot, seed=seed)})
    return rows
