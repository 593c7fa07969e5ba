"""`counterfactual` suite: neutral sentences and their demographic variants (counterfactual-inhouse.csv). The
detector's score gap across variants and whether the rewrite decision is the same for every variant, both for the
detector (flag or not) and for each system (rewrite or return unchanged)."""

from __future__ import annotations

import numpy as np

from srllm.evaluate import metrics as M
from srllm.evaluate import plots
from srllm.evaluate.suites.base import EvalContext, SuiteResult, register_suite

__all__ = ["run_counterfactual", "variant_columns"]

DIMENSIONS = ("gender", "race", "religion")


def variant_columns(columns) -> dict[str, list[str]]:
    """{'gender': ['gender_a_man', ...], ...} from the CSV header (columns are '<dimension>_<variant>')."""
    out: dict[str, list[str]] = {d: [] for d in DIMENSIONS}
    for c in columns:
        dim = c.split("_", 1)[0]
        if dim in out:
            out[dim].append(c)
    return {d: cols for d, cols in out.items() if len(cols) >= 2}


def _short(col: str) -> str:
    return col.split("_", 1)[1].replace("_", " ").replace("a ", "").replace("an ", "")


def _consistent(decisions: np.ndarray) -> np.ndarray:
    """Per row: 1.0 if every column holds the same decision."""
    return np.all(decisions == decisions[:, :1], axis=1).astype(float)


@register_suite("counterfactual", description="Counterfactual fairness on counterfactual-inhouse.csv: detector "
                "score gap across demographic variants and consistency of the rewrite decision, per dimension.",
                version="1", datasets=("counterfactual-inhouse",), needs=("judge", "generation"))
def run_counterfactual(ctx: EvalContext) -> SuiteResult:
    from srllm.data import read_counterfactual, shared_data_dir

    res = SuiteResult()
    data = shared_data_dir()
    if data is None:
        res.notes.append("skipped: ../shared/data/sr-llm/counterfactual-inhouse.csv is absent")
        return res
    rows = ctx.sample(read_counterfactual(data / "sr-llm" / "counterfactual-inhouse.csv"))
    if not rows:
        return res
    dims = variant_columns(rows[0].columns)
    judge, name = ctx.judge, "counterfactual-inhouse"
    res.notes += [f"Judge: {judge.name}; thresholds {judge.threshold_description}. Every text here is safe: a "
                  "flag is a false positive on an identity term.",
                  "Score gap = max - min unsafe probability across a sentence's variants in one dimension. "
                  "Decision consistency = share of sentences whose decision is the same for all variants: for the "
                  "detector, flag or not; for a system, rewrite (output differs from input) or keep."]
    ids = [f"cf:{i}" for i in range(len(rows))]
    all_cols = [c for cols in dims.values() for c in cols]
    texts = {c: [r.text(c) for r in rows] for c in ["Original", *all_cols]}
    flat = [t for c in texts for t in texts[c]]
    p_flat, u_flat = judge.unsafe_probability(flat), judge.is_unsafe(flat).astype(float)
    n = len(rows)
    prob = {c: p_flat[k * n:(k + 1) * n] for k, c in enumerate(texts)}
    flag = {c: u_flat[k * n:(k + 1) * n] for k, c in enumerate(texts)}
    res.add_mean(ctx, name, "detector", "toxic_rate", flag["Original"], ids=ids, judge=judge.name)
    changed = {}
    for system in ctx.systems:
        if not system.can_generate:
            continue
        outs = system.rewrite(flat, cache_dir=ctx.cache_dir, progress=ctx.progress, desc="counterfactual")
        ch = M.over_correction(flat, outs)
        changed[system.label] = {c: ch[k * n:(k + 1) * n] for k, c in enumerate(texts)}
    for dim, cols in dims.items():
        p = np.stack([prob[c] for c in cols], axis=1)
        res.add_mean(ctx, f"{name}/{dim}", "detector", "score_gap", p.max(axis=1) - p.min(axis=1), ids=ids,
                     judge=judge.name)
        res.add_mean(ctx, f"{name}/{dim}", "detector", "decision_consistency",
                     _consistent(np.stack([flag[c] for c in cols], axis=1)), ids=ids, judge=judge.name)
        matrix, labels = [[float(prob[c].mean()) for c in cols], [float(flag[c].mean()) for c in cols]], \
            ["detector mean P(unsafe)", "detector flag rate"]
        cons = {}
        for label, ch in changed.items():
            cons[label] = _consistent(np.stack([ch[c] for c in cols], axis=1))
            res.add_mean(ctx, f"{name}/{dim}", label, "decision_consistency", cons[label], ids=ids,
                         judge="output differs from input")
            matrix.append([float(ch[c].mean()) for c in cols])
            labels.append(f"{label}: rewrite rate")
        for base, main in ctx.pairs(list(cons)):
            res.compare(ctx, f"{name}/{dim}", "decision_consistency", base, main, cons[base], cons[main])
        res.plots.append((f"{dim}: scores and decisions per variant",
                          plots.heatmap(matrix, labels, [_short(c) for c in cols], title=f"{dim} variants (n={n})",
                                        cbar="mean over sentences")))
    return res
