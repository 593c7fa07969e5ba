"""srllm.evaluate.stats against scipy and against its own definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from srllm.errors import SrllmDataError
from srllm.evaluate import metrics as M
from srllm.evaluate import stats as S


def test_bootstrap_ci_is_seeded_and_close_to_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(0.6, 0.2, 400)
    ci = S.bootstrap_ci(x, seed=7)
    assert ci == S.bootstrap_ci(x, seed=7)
    assert ci != S.bootstrap_ci(x, seed=8)
    assert ci[0] < x.mean() < ci[1]
    ref = sps.bootstrap((x,), np.mean, n_resamples=4000, method="percentile", random_state=0).confidence_interval
    assert ci[0] == pytest.approx(ref.low, abs=0.006) and ci[1] == pytest.approx(ref.high, abs=0.006)


def test_bootstrap_of_indices_equals_bootstrap_of_means_with_the_same_draws():
    x = np.arange(30, dtype=float) % 7
    assert S.bootstrap_ci_of(lambda idx: x[idx].mean(), len(x), seed=2) == pytest.approx(S.bootstrap_ci(x, seed=2))
    with pytest.raises(SrllmDataError, match="empty"):
        S.bootstrap_ci([])


def test_paired_bootstrap_detects_real_differences_only():
    rng = np.random.default_rng(0)
    a = rng.random(200)
    same = S.paired_bootstrap(a, a)
    assert same.delta == 0 and same.p_value == 1.0 and not same.significant()
    better = S.paired_bootstrap(a, a + 0.1 + rng.normal(0, 0.05, 200))
    assert better.delta > 0.05 and better.ci_low > 0 and better.significant()
    with pytest.raises(SrllmDataError, match="same items"):
        S.paired_bootstrap(a, a[:10])


def test_paired_bootstrap_of_a_corpus_metric():
    outs_a = ["he was brave", "you are an idiot", "the cat sat", "go away now"] * 5
    outs_b = ["he was brave too!", "you are mistaken", "a cat sat on the mat", "please leave"] * 5
    refs = [["he was brave too!"], ["you are mistaken"], ["a cat sat on the mat"], ["please leave now"]] * 5
    fa = M.corpus_metric_of_indices("bleu", outs_a, refs)
    fb = M.corpus_metric_of_indices("bleu", outs_b, refs)
    res = S.paired_bootstrap(statistic_a=fa, statistic_b=fb, n=len(refs), n_resamples=200)
    assert res.delta == pytest.approx(M.bleu(outs_b, refs) - M.bleu(outs_a, refs))
    assert res.delta > 0 and res.significant()


def test_parametric_tests_match_scipy():
    rng = np.random.default_rng(5)
    a = rng.random(50)
    b = a + rng.normal(0.05, 0.1, 50)
    t = S.paired_ttest(a, b)
    ref = sps.ttest_rel(b, a)
    assert t.statistic == pytest.approx(ref.statistic) and t.p_value == pytest.approx(ref.pvalue)
    w = S.wilcoxon(a, b)
    refw = sps.wilcoxon(b, a)
    assert w.statistic == pytest.approx(refw.statistic) and w.p_value == pytest.approx(refw.pvalue)
    one = S.one_sample_ttest(b - a)
    ref1 = sps.ttest_1samp(b - a, 0.0)
    assert one.statistic == pytest.approx(ref1.statistic) and one.p_value == pytest.approx(ref1.pvalue)
    assert one.statistic == pytest.approx(t.statistic)  # the same test, seen two ways
    assert one.mean_difference == pytest.approx(np.mean(b - a))


def test_degenerate_inputs_do_not_crash():
    x = [0.2, 0.4, 0.6]
    assert S.wilcoxon(x, x).p_value == 1.0
    assert S.paired_ttest(x, x).p_value == 1.0
    assert np.isnan(S.one_sample_ttest([0.1, 0.1, 0.1]).p_value)
    report = S.compare_paired(x, [0.3, 0.5, 0.9], n_resamples=100)
    assert set(report) == {"paired_bootstrap", "paired_ttest", "wilcoxon"}
