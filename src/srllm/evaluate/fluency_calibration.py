"""How the FL (fluency) perplexity threshold is chosen: perplexities of human ParaDetox neutral references
(fluent by construction) against the same references with their words shuffled (clearly disfluent, same
vocabulary and length), and the cut with the best balanced accuracy between the two.

Run: `.venv/bin/python -m srllm.evaluate.fluency_calibration` (prints the threshold; metrics.FL_PPL_THRESHOLD holds
the value measured with the defaults)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np

from srllm.errors import SrllmDataError

__all__ = ["shuffle_words", "calibrate_fl_threshold", "calibrate_on_paradetox"]


def shuffle_words(text: str, rng: np.random.Generator) -> str:
    """The words of `text` in a random order (a clearly disfluent counterpart with the same vocabulary)."""
    words = text.split()
    if len(words) < 2:
        return text
    for _ in range(10):  # avoid returning the original order by chance
        out = " ".join(words[i] for i in rng.permutation(len(words)))
        if out != " ".join(words):
            return out
    return out


def calibrate_fl_threshold(fluent_ppl: Sequence[float], disfluent_ppl: Sequence[float]) -> tuple[float, float]:
    """(threshold, balanced accuracy): the perplexity cut that best separates fluent from disfluent texts,
    placed at the geometric midpoint between the two neighbouring observed values."""
    good, bad = np.asarray(fluent_ppl, float), np.asarray(disfluent_ppl, float)
    if not good.size or not bad.size:
        raise SrllmDataError("calibrating FL needs both fluent and disfluent perplexities")
    both = np.concatenate([good, bad])
    cands = np.unique(both[np.isfinite(both)])
    best = (-1.0, float(cands[0]))
    for k, c in enumerate(cands):
        bal = 0.5 * (np.mean(good <= c) + np.mean(bad > c))
        if bal > best[0]:
            nxt = cands[k + 1] if k + 1 < len(cands) else c
            best = (bal, float(np.sqrt(c * nxt)))
    return best[1], float(best[0])


def calibrate_on_paradetox(*, n: int = 600, seed: int = 0, min_words: int = 4,
                           scorer: Callable[[list[str]], Sequence[float]] | None = None) -> dict:
    """Choose the FL threshold on a seeded sample of ParaDetox neutral references (texts of at least `min_words`
    words, so shuffling changes them) and their word-shuffled versions. Half the sample picks the threshold, the
    other half reports its held-out balanced accuracy."""
    from srllm.data import read_paradetox, shared_data_dir
    from srllm.models.lm_scoring import REFERENCE_LM_NAME, fl_scorer

    root = shared_data_dir()
    if root is None:
        raise SrllmDataError("FL calibration reads paradetox/paradetox.tsv from ../shared/data, which is absent")
    refs = sorted({r for rec in read_paradetox(root / "paradetox" / "paradetox.tsv")
                   for r in [rec.rewrite, *rec.alternatives] if r and len(r.split()) >= min_words})
    rng = np.random.default_rng(seed)
    sample = [refs[i] for i in rng.choice(len(refs), size=min(n, len(refs)), replace=False)]
    shuffled = [shuffle_words(t, rng) for t in sample]
    scorer = scorer or fl_scorer()
    good, bad = np.asarray(scorer(sample)), np.asarray(scorer(shuffled))
    half = len(sample) // 2
    thr, bal_fit = calibrate_fl_threshold(good[:half], bad[:half])
    bal_held = 0.5 * (np.mean(good[half:] <= thr) + np.mean(bad[half:] > thr))
    return {"threshold": thr, "balanced_accuracy_fit": bal_fit, "balanced_accuracy_heldout": float(bal_held),
            "fluent_pass_rate_heldout": float(np.mean(good[half:] <= thr)),
            "shuffled_pass_rate_heldout": float(np.mean(bad[half:] <= thr)),
            "median_ppl_fluent": float(np.median(good)), "median_ppl_shuffled": float(np.median(bad)),
            "n": len(sample), "seed": seed, "reference_lm": getattr(scorer, "name", REFERENCE_LM_NAME)}


if __name__ == "__main__":
    print(json.dumps(calibrate_on_paradetox(), indent=2))
