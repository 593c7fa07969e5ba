"""Held-out evaluation of trained detector heads: AUPRC, F1, precision, recall and false-positive rate at the
declared thresholds (95% bootstrap intervals), per data set and sub-category; over-correction on the neutral
counterfactual sentences; the SR_LLM authors' infer_50 test set."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

from srllm.data import COUNTERFACTUAL_GROUPS, read_counterfactual, read_srllm_csv
from srllm.detect.heads import unsafe_score

__all__ = ["binary_metrics", "Scorer", "evaluate_heldout", "evaluate_external"]


def _point(y: np.ndarray, s: np.ndarray, f: np.ndarray) -> dict:
    tp, fp = int((f & y).sum()), int((f & ~y).sum())
    fn, tn = int((~f & y).sum()), int((~f & ~y).sum())
    out = {"precision": tp / (tp + fp) if tp + fp else float("nan"),
           "recall": tp / (tp + fn) if tp + fn else float("nan"),
           "fpr": fp / (fp + tn) if fp + tn else float("nan")}
    out["f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    out["auprc"] = float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else float("nan")
    return out


def binary_metrics(y, score, flagged, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """Metrics of a yes/no decision (`flagged`) and a score (`score`) against labels `y`, with 95% bootstrap
    intervals over items for auprc, f1 and fpr (keys `<metric>_ci`)."""
    y, s, f = np.asarray(y, bool), np.asarray(score, float), np.asarray(flagged, bool)
    out = {"n": int(len(y)), "positives": int(y.sum()), **_point(y, s, f)}
    if n_boot and len(y) > 1:
        rng = np.random.default_rng(seed)
        draws = {k: [] for k in ("auprc", "f1", "fpr")}
        for _ in range(n_boot):
            i = rng.integers(0, len(y), len(y))
            m = _point(y[i], s[i], f[i])
            for k in draws:
                draws[k].append(m[k])
        for k, v in draws.items():
            v = np.asarray(v, float)
            v = v[~np.isnan(v)]
            out[f"{k}_ci"] = [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if len(v) else None
    return out


class Scorer:
    """Probabilities and decisions of a HeadSet at its declared thresholds, on precomputed embeddings."""

    def __init__(self, head_set):
        self.head_set = head_set
        self.ids = head_set.ids
        self.thr = np.array([h.threshold for h in head_set.heads], dtype=np.float32)

    def __call__(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities (n, heads), P(unsafe) as Detector.unsafe_probability, unsafe = any head at/above its
        threshold)."""
        p = self.head_set.predict_proba(emb)
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
    probs, unsafe_p, unsafe = scorer(x)
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
                     float(scorer.thr[scorer.col(head)]), **binary_metrics(y, s, f, n_boot=n_boot, seed=seed)})

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
                         **binary_metrics(y, probs[idx, j], f, n_boot=n_boot, seed=seed)})
    return rows


def evaluate_external(data_dir, embed, scorer: Scorer) -> dict:
    """Over-correction on counterfactual-inhouse.csv and flag rates on infer_50.csv (never trained on).
    `embed(texts) -> embeddings`."""
    out: dict = {}
    cf_path = data_dir / "sr-llm" / "counterfactual-inhouse.csv"
    if cf_path.is_file():
        rows = read_counterfactual(cf_path)
        columns = ["Original"] + [c for group in COUNTERFACTUAL_GROUPS.values() for c in group]
        texts = [r.text(c) for c in columns for r in rows]
        probs, p_unsafe, unsafe = scorer(embed(texts))
        n = len(rows)
        scored = {c: (probs[k * n:(k + 1) * n], p_unsafe[k * n:(k + 1) * n], unsafe[k * n:(k + 1) * n])
                  for k, c in enumerate(columns)}
        flagged = {c: scored[c][2] for c in columns}
        orig = flagged["Original"]
        variant_scores = np.stack([scored[c][1] for c in columns[1:]], axis=1)
        all_flags = np.stack([flagged[c] for c in columns], axis=1)
        out["counterfactual"] = {
            "n_original": len(rows), "original_not_flagged": int((~orig).sum()),
            "original_not_flagged_share": float((~orig).mean()),
            "variants_flagged_share": {c: float(flagged[c].mean()) for c in columns[1:]},
            "variants_flagged_share_all": float(np.mean([flagged[c].mean() for c in columns[1:]])),
            "score_gap_mean": float((variant_scores.max(1) - variant_scores.min(1)).mean()),
            "same_decision_all_variants_share": float((all_flags.all(1) | ~all_flags.any(1)).mean()),
        }
    inf_path = data_dir / "sr-llm" / "infer_50.csv"
    if inf_path.is_file():
        recs = read_srllm_csv(inf_path)
        biased = [r.text for r in recs]
        debiased = [r.rewrite for r in recs if r.rewrite]
        _, p_all, f_all = scorer(embed(biased + debiased))
        pb, fb, pd, fd = p_all[:len(biased)], f_all[:len(biased)], p_all[len(biased):], f_all[len(biased):]
        y = np.r_[np.ones(len(pb), bool), np.zeros(len(pd), bool)]
        out["infer_50"] = {"n_biased": len(biased), "n_debiased": len(debiased),
                           "biased_flagged_share": float(fb.mean()), "debiased_flagged_share": float(fd.mean()),
                           "auprc_biased_vs_debiased": float(average_precision_score(y, np.r_[pb, pd]))}
    return out
