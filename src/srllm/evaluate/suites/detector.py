"""`detector` suite: AUPRC, F1 and false-positive rate at the declared thresholds, overall and per category where
labels exist, on labelled sets the detector was not trained on (infer_50 biased texts vs their debiased rewrites,
the held-out counterfactual rows as negatives: the detector trains on the others) plus ParaDetox and any labelled
--data file."""

from __future__ import annotations

import numpy as np

from srllm.evaluate import metrics as M
from srllm.evaluate import plots
from srllm.evaluate.suites.base import EvalContext, SuiteResult, register_suite

__all__ = ["run_detector", "labelled_sets"]


def labelled_sets(ctx: EvalContext) -> list[tuple[str, list[str], list[set[str]], list[int]]]:
    """(name, texts, categories per text, unsafe label per text); a safe text has no categories."""
    from srllm.data import read_counterfactual, shared_data_dir
    from srllm.evaluate.rewrite_data import from_file, infer50, paradetox_neutral, paradetox_test

    out = []
    data = shared_data_dir()
    if data is not None:
        inf = infer50(data)
        keep = ctx.sample(range(len(inf.texts)))
        texts = [inf.texts[i] for i in keep] + [inf.references[i][0] for i in keep if inf.references[i]]
        cats = [set(inf.categories[i]) | {"bias"} for i in keep] + [set() for i in keep if inf.references[i]]
        from srllm.train.detector.holdout import counterfactual_split

        cf_rows = ctx.sample([r for i, r in enumerate(read_counterfactual(data / "sr-llm" /
                                                                          "counterfactual-inhouse.csv"))
                              if counterfactual_split(i, r.original) == "test"])  # held-out rows only
        cf = [v for r in cf_rows for v in r.texts() if v]
        out.append(("infer50+counterfactual", texts + cf, cats + [set() for _ in cf],
                    [1] * len(keep) + [0] * (len(texts) - len(keep) + len(cf))))
        tox, neu = paradetox_test(data), paradetox_neutral(data)
        tk, nk = ctx.sample(range(len(tox.texts))), ctx.sample(range(len(neu.texts)))
        out.append(("paradetox-test", [tox.texts[i] for i in tk] + [neu.texts[i] for i in nk],
                    [{"toxicity"} for _ in tk] + [set() for _ in nk], [1] * len(tk) + [0] * len(nk)))
    for path in ctx.data_files:
        ds = from_file(path)
        labelled = ctx.sample([i for i, u in enumerate(ds.unsafe) if u is not None])
        out.append((ds.name, [ds.texts[i] for i in labelled], [set(ds.categories[i]) for i in labelled],
                    [int(bool(ds.unsafe[i])) for i in labelled]))
    return [s for s in out if s[1] and 0 < sum(s[3]) < len(s[3])]


def _add_scores(ctx, res, dataset: str, y: np.ndarray, scores: np.ndarray, decision: np.ndarray, judge: str,
                threshold: float | None) -> dict:
    """AUPRC from the scores, F1 and FPR from the decisions, each with a bootstrap CI over items."""
    n = len(y)
    vals = {}
    for name, fn in (("auprc", lambda i: M.auprc(y[i], scores[i])),
                     ("f1", lambda i: M.f1_at(y[i], decision[i], 0.5)),
                     ("fpr", lambda i: M.fpr_at(y[i], decision[i], 0.5))):
        r = res.add_corpus(ctx, dataset, "detector", name, fn, n, judge=judge,
                           threshold=None if name == "auprc" else threshold,
                           n_positive=int(y.sum()), n_negative=int(n - y.sum()))
        vals[name] = r.value
    return vals


@register_suite("detector", description="Detector quality: AUPRC, F1 and FPR at the declared thresholds, overall "
                "and per category, on labelled sets (infer_50 + counterfactual, ParaDetox test split, --data).",
                version="2", datasets=("infer50+counterfactual", "paradetox-test", "--data"), needs=("judge",))
def run_detector(ctx: EvalContext) -> SuiteResult:
    res, judge = SuiteResult(), ctx.judge
    det = judge.detector
    res.notes += [f"Detector: {judge.name}; thresholds {judge.threshold_description} (declared in the shipped heads/"
                  "policy, not tuned here). 'unsafe' scores each text by its largest category probability and "
                  "decides with the detector's own per-category thresholds (F1/FPR use the decision).",
                  "infer_50.csv and counterfactual-inhouse.csv are kept out of the detector's training data. The "
                  "ParaDetox split here is the test split of `srllm data build` (the SR adapter never saw it); the "
                  "detector's own ParaDetox split may differ, so its ParaDetox numbers can be optimistic."]
    bars: dict[str, list[float]] = {}
    groups: list[str] = []
    for name, texts, cats, labels in labelled_sets(ctx):
        y = np.asarray(labels, dtype=int)
        decision = judge.is_unsafe(texts).astype(float)
        scores = judge.unsafe_probability(texts)
        # AUPRC from the probability; F1/FPR from the detector's own decision (per-category thresholds).
        vals = _add_scores(ctx, res, f"{name}/unsafe", y, scores, decision, judge.name, None)
        groups.append(f"{name}/unsafe")
        bars.setdefault("F1", []).append(vals["f1"])
        bars.setdefault("FPR", []).append(vals["fpr"])
        if not hasattr(det, "probabilities") or not hasattr(det, "categories"):
            continue
        probs = np.asarray(det.probabilities(texts))
        for j, cat in enumerate(det.categories):
            pos = np.array([cat in c or any(x.startswith(cat + ".") for x in c) for c in cats])
            neg = y == 0
            use = pos | neg
            if not pos.any() or not neg.any():
                continue
            thr = float(det.thresholds[cat])
            vals = _add_scores(ctx, res, f"{name}/{cat}", pos[use].astype(int), probs[use, j],
                               (probs[use, j] >= thr).astype(float), judge.name, thr)
            groups.append(f"{name}/{cat}")
            bars["F1"].append(vals["f1"])
            bars["FPR"].append(vals["fpr"])
    if groups:
        res.plots.append(("Detector F1 and false-positive rate at the declared thresholds",
                          plots.grouped_bars(groups, bars, title="detector", ylabel="rate", ylim=(0, 1))))
    return res
