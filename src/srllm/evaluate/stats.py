"""Statistics over items: bootstrap confidence intervals (seeded), paired comparisons of two systems scored on the
same items (paired bootstrap, paired t-test, Wilcoxon signed-rank) and SR_LLM's one-sample t-test on per-item
differences.

Corpus-level metrics (BLEU, chrF, ICAT) are bootstrapped by resampling items and recomputing the metric: pass a
function of an index array (`statistic_of_indices`) instead of per-item values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from srllm.errors import SrllmDataError

__all__ = ["DEFAULT_RESAMPLES", "DEFAULT_SEED", "TestResult", "PairedComparison", "bootstrap_ci",
           "bootstrap_ci_of", "bootstrap_indices", "paired_bootstrap", "paired_ttest", "wilcoxon",
           "one_sample_ttest", "compare_paired"]

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
IndexStatistic = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test: its statistic, two-sided p-value and sample size."""

    __test__ = False  # not a pytest class

    method: str
    statistic: float
    p_value: float
    n: int
    mean_difference: float

    def significant(self, alpha: float = 0.05) -> bool:
        return bool(np.isfinite(self.p_value) and self.p_value < alpha)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PairedComparison:
    """System B minus system A on the same items: the difference, its bootstrap CI and p-value."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_resamples: int

    def significant(self, alpha: float = 0.05) -> bool:
        return bool(self.p_value < alpha)

    def to_dict(self) -> dict:
        return asdict(self)


def _as_1d(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise SrllmDataError(f"{name} must be one value per item (1-D), got shape {arr.shape}")
    return arr


def bootstrap_indices(n: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """An (n_resamples, n) matrix of item indices drawn with replacement; the same seed gives the same draws."""
    if n <= 0:
        raise SrllmDataError("cannot bootstrap zero items: the evaluated set is empty (check --limit and the data)")
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_resamples, n))


def _percentile_ci(dist: np.ndarray, confidence: float) -> tuple[float, float]:
    dist = dist[np.isfinite(dist)]
    if dist.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(dist, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_ci(values: Sequence[float], *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                 confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of per-item values."""
    arr = _as_1d(values, "values")
    idx = bootstrap_indices(len(arr), n_resamples, seed)
    return _percentile_ci(arr[idx].mean(axis=1), confidence)


def bootstrap_ci_of(statistic_of_indices: IndexStatistic, n: int, *, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = DEFAULT_SEED, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of any statistic recomputed on resampled items (for corpus-level metrics)."""
    idx = bootstrap_indices(n, n_resamples, seed)
    dist = np.array([statistic_of_indices(row) for row in idx], dtype=float)
    return _percentile_ci(dist, confidence)


def _two_sided_p(deltas: np.ndarray) -> float:
    """Share of resampled differences on either side of 0, doubled (the usual paired-bootstrap p-value)."""
    deltas = deltas[np.isfinite(deltas)]
    if deltas.size == 0:
        return float("nan")
    p = 2.0 * min(np.mean(deltas <= 0), np.mean(deltas >= 0))
    return float(min(1.0, p))


def paired_bootstrap(a: Sequence[float] | None = None, b: Sequence[float] | None = None, *,
                     statistic_a: IndexStatistic | None = None, statistic_b: IndexStatistic | None = None,
                     n: int | None = None, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                     confidence: float = 0.95) -> PairedComparison:
    """B − A on the same resampled items. Give per-item values `a`, `b` (the mean is compared), or for a
    corpus-level metric two functions of an index array plus `n`."""
    if statistic_a is None or statistic_b is None:
        if a is None or b is None:
            raise SrllmDataError("paired_bootstrap needs per-item values a and b, or statistic_a/statistic_b and n")
        xa, xb = _as_1d(a, "a"), _as_1d(b, "b")
        if len(xa) != len(xb):
            raise SrllmDataError(f"paired comparison needs the same items: a has {len(xa)}, b has {len(xb)}")
        diff = xb - xa
        idx = bootstrap_indices(len(diff), n_resamples, seed)
        deltas, delta, n = diff[idx].mean(axis=1), float(diff.mean()), len(diff)
    else:
        if n is None:
            raise SrllmDataError("paired_bootstrap with statistic functions needs n (the number of items)")
        idx = bootstrap_indices(n, n_resamples, seed)
        full = np.arange(n)
        delta = float(statistic_b(full) - statistic_a(full))
        deltas = np.array([statistic_b(r) - statistic_a(r) for r in idx], dtype=float)
    low, high = _percentile_ci(deltas, confidence)
    return PairedComparison(delta=delta, ci_low=low, ci_high=high, p_value=_two_sided_p(deltas), n=int(n),
                            n_resamples=n_resamples)


def _paired_arrays(a, b) -> tuple[np.ndarray, np.ndarray]:
    xa, xb = _as_1d(a, "a"), _as_1d(b, "b")
    if len(xa) != len(xb):
        raise SrllmDataError(f"paired test needs the same items: a has {len(xa)}, b has {len(xb)}")
    return xa, xb


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Paired (dependent) t-test of B − A (scipy.stats.ttest_rel). NaN p-value when every difference is equal."""
    from scipy import stats

    xa, xb = _paired_arrays(a, b)
    diff = xb - xa
    if len(diff) < 2 or np.allclose(diff, diff[0]):
        p = 1.0 if len(diff) and np.allclose(diff, 0) else float("nan")
        return TestResult("paired t-test", 0.0 if p == 1.0 else float("nan"), p, len(diff), float(diff.mean()))
    res = stats.ttest_rel(xb, xa)
    return TestResult("paired t-test", float(res.statistic), float(res.pvalue), len(diff), float(diff.mean()))


def wilcoxon(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Wilcoxon signed-rank test of B − A (scipy.stats.wilcoxon, zero differences dropped); p = 1 when all
    differences are zero."""
    from scipy import stats

    xa, xb = _paired_arrays(a, b)
    diff = xb - xa
    if not np.any(diff != 0):
        return TestResult("wilcoxon", 0.0, 1.0, len(diff), 0.0)
    nonzero = np.abs(diff[diff != 0])
    # Exact distribution for small samples without ties; the normal approximation otherwise (scipy's "auto"
    # would run a slow permutation test on tied small samples).
    exact = len(nonzero) <= 50 and len(np.unique(nonzero)) == len(nonzero) and len(nonzero) == len(diff)
    res = stats.wilcoxon(xb, xa, zero_method="wilcox", method="exact" if exact else "approx")
    return TestResult("wilcoxon", float(res.statistic), float(res.pvalue), len(diff), float(diff.mean()))


def one_sample_ttest(differences: Sequence[float], popmean: float = 0.0) -> TestResult:
    """SR_LLM's test: is the mean per-item difference (after − before) different from `popmean`?"""
    from scipy import stats

    diff = _as_1d(differences, "differences")
    if len(diff) < 2 or np.allclose(diff, diff[0]):
        return TestResult("one-sample t-test", float("nan"), float("nan"), len(diff),
                          float(diff.mean()) if len(diff) else float("nan"))
    res = stats.ttest_1samp(diff, popmean)
    return TestResult("one-sample t-test", float(res.statistic), float(res.pvalue), len(diff), float(diff.mean()))


def compare_paired(a: Sequence[float], b: Sequence[float], *, n_resamples: int = DEFAULT_RESAMPLES,
                   seed: int = DEFAULT_SEED) -> dict:
    """Everything the report shows for two systems on the same items: bootstrap, t-test and Wilcoxon."""
    return {"paired_bootstrap": paired_bootstrap(a, b, n_resamples=n_resamples, seed=seed).to_dict(),
            "paired_ttest": paired_ttest(a, b).to_dict(),
            "wilcoxon": wilcoxon(a, b).to_dict()}
