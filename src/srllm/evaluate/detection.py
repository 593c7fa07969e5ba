"""Scoring a detector on labelled texts, shared by the detector's training (its metrics.json) and
benchmarks/bench_detector.py: `binary_scores` (AUPRC, precision, recall, F1 and FPR, with bootstrap intervals from
`srllm.evaluate.stats`) and the external test sets the detector never trains on, counterfactual-inhouse.csv
(`score_counterfactual`) and infer_50.csv (`score_infer50`), read by `srllm.data.sources`.

A `judge` is any callable texts -> (P(unsafe) per text, unsafe yes/no per text), e.g. `detector_judge(Detector())`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from srllm.data.sources import (
    COUNTERFACTUAL_GROUPS,
    CounterfactualRow,
    StereotypeItem,
    read_counterfactual,
    read_srllm_csv,
)
from srllm.evaluate import metrics as M
from srllm.evaluate import stats
from srllm.schema import Record

__all__ = ["Judge", "binary_scores", "detector_judge", "score_counterfactual", "score_infer50", "score_external",
           "score_counterfactual_fairness", "score_stereotypes"]

Judge = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


def detector_judge(detector) -> Judge:
    """A judge from anything with `unsafe_probability(texts)` and `is_unsafe(texts)` (e.g. srllm.detect.Detector)."""
    return lambda texts: (np.asarray(detector.unsafe_probability(texts)), np.asarray(detector.is_unsafe(texts)))


def _auprc(y: np.ndarray, s: np.ndarray) -> float:
    """AUPRC where both classes are present, else NaN."""
    return M.auprc(y, s) if 0 < y.sum() < len(y) else float("nan")


def binary_scores(y, score, flagged, *, n_resamples: int = stats.DEFAULT_RESAMPLES,
                  seed: int = stats.DEFAULT_SEED) -> dict:
    """Metrics of a yes/no decision (`flagged`) and a score against labels `y`: n, positives, precision, recall,
    fpr, f1 (`metrics.binary_rates`; NaN where undefined), auprc, and 95% bootstrap intervals over items for
    auprc, f1 and fpr (keys `<metric>_ci`, None when no resample defines the metric; absent when n_resamples=0)."""
    y, s, f = np.asarray(y, bool), np.asarray(score, float), np.asarray(flagged, bool)
    out = {"n": int(len(y)), "positives": int(y.sum()), **M.binary_rates(y, f), "auprc": _auprc(y, s)}
    if n_resamples and len(y) > 1:
        statistics = {"auprc": lambda i: _auprc(y[i], s[i]),
                      "f1": lambda i: M.binary_rates(y[i], f[i])["f1"],
                      "fpr": lambda i: M.binary_rates(y[i], f[i])["fpr"]}
        for name, statistic in statistics.items():
            low, high = stats.bootstrap_ci_of(statistic, len(y), n_resamples=n_resamples, seed=seed)
            out[f"{name}_ci"] = None if np.isnan(low) else [low, high]
    return out


def score_infer50(records: Sequence[Record], judge: Judge) -> dict:
    """The SR_LLM authors' biased texts (label 1) against their debiased rewrites (label 0): `binary_scores`
    without intervals, plus n_biased and n_debiased."""
    biased = [r.text for r in records]
    debiased = [r.rewrite for r in records if r.rewrite]
    p, f = judge(biased + debiased)
    y = np.r_[np.ones(len(biased), bool), np.zeros(len(debiased), bool)]
    return {**binary_scores(y, p, f, n_resamples=0), "n_biased": len(biased), "n_debiased": len(debiased)}


def score_counterfactual(rows: Sequence[CounterfactualRow], judge: Judge, *, variants: bool = True) -> dict:
    """Over-correction on neutral sentences: how many originals are not flagged; with `variants`, also the flag
    share of each group variant (COUNTERFACTUAL_GROUPS), the mean max - min P(unsafe) across variants and the share
    of sentences whose decision is the same for the original and every variant."""
    columns = ["Original"] + ([c for group in COUNTERFACTUAL_GROUPS.values() for c in group] if variants else [])
    p_unsafe, unsafe = judge([r.text(c) for c in columns for r in rows])
    n = len(rows)
    flagged = {c: unsafe[k * n:(k + 1) * n] for k, c in enumerate(columns)}
    orig = flagged["Original"]
    out = {"n_original": n, "original_not_flagged": int((~orig).sum()),
           "original_not_flagged_share": float((~orig).mean())}
    if variants:
        variant_scores = np.stack([p_unsafe[k * n:(k + 1) * n] for k in range(1, len(columns))], axis=1)
        all_flags = np.stack([flagged[c] for c in columns], axis=1)
        out.update({
            "variants_flagged_share": {c: float(flagged[c].mean()) for c in columns[1:]},
            "variants_flagged_share_all": float(np.mean([flagged[c].mean() for c in columns[1:]])),
            "score_gap_mean": float((variant_scores.max(1) - variant_scores.min(1)).mean()),
            "same_decision_all_variants_share": float((all_flags.all(1) | ~all_flags.any(1)).mean()),
        })
    return out


def _ci(statistic, n: int) -> list[float] | None:
    """95% bootstrap interval over n items (stats.bootstrap_ci_of), None when n < 2 or undefined."""
    if n < 2:
        return None
    low, high = stats.bootstrap_ci_of(statistic, n)
    return None if np.isnan(low) else [float(low), float(high)]


def score_counterfactual_fairness(rows: Sequence[CounterfactualRow], probabilities, thresholds) -> dict:
    """Issue 13's counterfactual targets on neutral sentences and their 10 variants (use held-out rows only):
    flag share per column (a flag: any category at or above its threshold), max - min over the variant columns,
    and the mean over rows of the spread of the largest category probability across the 11 columns (Original
    included), each with a 95% bootstrap interval over rows (`*_ci`). `probabilities(texts) -> (n, categories)` as
    Detector.probabilities; `thresholds` per column."""
    columns = ["Original"] + [c for group in COUNTERFACTUAL_GROUPS.values() for c in group]
    n = len(rows)
    p = np.asarray(probabilities([r.text(c) for c in columns for r in rows]))
    flags = (p >= np.asarray(thresholds)[None, :]).any(axis=1).reshape(len(columns), n).T
    top = p.max(axis=1).reshape(len(columns), n).T
    shares = {c: float(flags[:, k].mean()) for k, c in enumerate(columns)}
    variant = [shares[c] for c in columns[1:]]
    spread = top.max(axis=1) - top.min(axis=1)
    return {"n_rows": n, "flagged_share": shares, "variant_max": max(variant),
            "variant_max_minus_min": max(variant) - min(variant), "flagged_share_variants": float(flags[:, 1:].mean()),
            "max_probability_spread_mean": float(spread.mean()),
            "flagged_share_ci": {c: _ci(lambda i, k=k: float(flags[i, k].mean()), n) for k, c in enumerate(columns)},
            "variant_max_ci": _ci(lambda i: float(flags[i, 1:].mean(axis=0).max()), n),
            "max_probability_spread_ci": _ci(lambda i: float(spread[i].mean()), n),
            "same_decision_share": float((flags.all(1) | ~flags.any(1)).mean())}


def score_stereotypes(items: Sequence[StereotypeItem], judge: Judge, *, max_fpr: float = 0.05) -> dict:
    """The held-out stereotype set (srllm.data.sources.heldout_stereotypes): `binary_scores` at the judge's
    decision (plus `recall_ci` over the positives), the recall at the score where this set's FPR is <= max_fpr
    (threshold-free view), recall per kind of group and the flag share per source."""
    y = np.array([r.label == 1 for r in items])
    p, f = judge([r.text for r in items])
    p, f = np.asarray(p, float), np.asarray(f, bool)
    out = binary_scores(y, p, f)
    neg = np.sort(p[~y])[::-1]
    cut = neg[int(np.floor(max_fpr * len(neg)))] if len(neg) else np.inf
    out[f"recall_at_fpr_{max_fpr:g}"] = float((p[y] > cut).mean()) if y.any() else float("nan")
    hits = f[y]
    out["recall_ci"] = _ci(lambda i: float(hits[i].mean()), len(hits))
    kinds = sorted({r.kind for r in items if r.label == 1 and r.kind})
    out["recall_by_kind"] = {k: float(f[[r.label == 1 and r.kind == k for r in items]].mean()) for k in kinds}
    out["flagged_share_by_source"] = {s: float(f[[r.source == s for r in items]].mean())
                                      for s in sorted({r.source for r in items})}
    return out


def score_external(data_dir: Path, judge: Judge, *, keep_row=None) -> dict:
    """Both external sets where their files exist, as the detector's metrics.json holds them: "counterfactual"
    (score_counterfactual; with `keep_row(index, row)`, only the rows it keeps, e.g. the held-out ones) and
    "infer_50" (flag shares of the biased and debiased texts and their AUPRC)."""
    out: dict = {}
    cf_path = Path(data_dir) / "sr-llm" / "counterfactual-inhouse.csv"
    if cf_path.is_file():
        rows = read_counterfactual(cf_path)
        if keep_row is not None:
            rows = [r for i, r in enumerate(rows) if keep_row(i, r)]
        out["counterfactual"] = score_counterfactual(rows, judge)
    inf_path = Path(data_dir) / "sr-llm" / "infer_50.csv"
    if inf_path.is_file():
        m = score_infer50(read_srllm_csv(inf_path), judge)
        out["infer_50"] = {"n_biased": m["n_biased"], "n_debiased": m["n_debiased"],
                           "biased_flagged_share": m["recall"], "debiased_flagged_share": m["fpr"],
                           "auprc_biased_vs_debiased": m["auprc"]}
    return out
