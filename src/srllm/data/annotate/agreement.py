"""Agreement between annotators: Cohen's kappa (two; sklearn), Fleiss' kappa (more than two), Krippendorff's
alpha (any number, missing labels allowed; ordinal distance for the ordinal fields, nominal otherwise), and the
per-field table of the annotate summary."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from srllm.data.annotate.labels import ORDINAL, SCALES

__all__ = ["cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "field_agreement"]


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 4)


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two raters over the same items (sklearn). NaN when both use a single label throughout."""
    from sklearn.metrics import cohen_kappa_score

    if len(set(a) | set(b)) < 2:
        return float("nan")
    return float(cohen_kappa_score(list(a), list(b)))


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa from an items x categories matrix of counts (each row: how many raters chose each
    category; every row sums to the same number of raters)."""
    m = np.asarray(counts, dtype=float)
    n_items, n = m.shape[0], m[0].sum()
    if n_items == 0 or n < 2 or not np.allclose(m.sum(axis=1), n):
        raise ValueError("every item needs the same number (>= 2) of ratings")
    p_item = ((m * m).sum(axis=1) - n) / (n * (n - 1))
    p_cat = m.sum(axis=0) / (n_items * n)
    p_e = float((p_cat ** 2).sum())
    return float("nan") if p_e == 1 else float((p_item.mean() - p_e) / (1 - p_e))


def krippendorff_alpha(units: Sequence[Sequence], *, level: str = "nominal", order: Sequence | None = None) -> float:
    """Krippendorff's alpha. `units`: per item, the values the raters gave (None = missing); items with fewer
    than two values are not pairable and are left out. level: nominal | ordinal (ranks by `order`, else sorted
    values) | interval (numeric values)."""
    pairable = [[v for v in u if v is not None] for u in units]
    pairable = [u for u in pairable if len(u) >= 2]
    values = sorted({v for u in pairable for v in u}, key=(list(order).index if order is not None else None))
    if len(values) < 2:
        return float("nan")
    idx = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for u in pairable:
        m = len(u)
        for i, a in enumerate(u):
            for j, b in enumerate(u):
                if i != j:
                    o[idx[a], idx[b]] += 1.0 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    k = len(values)
    delta = np.zeros((k, k))
    for c in range(k):
        for d in range(k):
            if level == "nominal":
                delta[c, d] = float(c != d)
            elif level == "ordinal":
                lo, hi = min(c, d), max(c, d)
                delta[c, d] = (n_c[lo:hi + 1].sum() - (n_c[c] + n_c[d]) / 2) ** 2
            elif level == "interval":
                delta[c, d] = (float(values[c]) - float(values[d])) ** 2
            else:
                raise ValueError(f"unknown level {level!r}: nominal, ordinal or interval")
    expected = (np.outer(n_c, n_c) * delta).sum()
    return float("nan") if expected == 0 else float(1 - (n - 1) * (o * delta).sum() / expected)


def field_agreement(rows: Sequence[dict], annotators: Sequence[str], field: str) -> dict:
    """Agreement on one label field. rows: per item, {annotator: label or None}. Kappa on the items every
    annotator labelled (Cohen's for two, Fleiss' for more); alpha on every item at least two labelled."""
    complete = [[r.get(a) for a in annotators] for r in rows if all(r.get(a) is not None for a in annotators)]
    out: dict = {"field": field, "items": len(complete)}
    if not complete:
        return out
    out["percent_agreement"] = round(sum(len(set(c)) == 1 for c in complete) / len(complete), 4)
    if len(annotators) == 2:
        out["cohen_kappa"] = _finite(cohen_kappa([c[0] for c in complete], [c[1] for c in complete]))
    else:
        cats = sorted({v for c in complete for v in c}, key=str)
        out["fleiss_kappa"] = _finite(fleiss_kappa([[c.count(v) for v in cats] for c in complete]))
    level = "ordinal" if field in ORDINAL else "nominal"
    out[f"krippendorff_alpha_{level}"] = _finite(krippendorff_alpha(
        [[r.get(a) for a in annotators] for r in rows], level=level, order=SCALES.get(field)))
    return out
