"""Suites over rewrites: `detox` (STA, SIM, FL, J, BLEU, chrF, % toxic, over-correction) and `readability`
(Flesch reading ease before/after, knowledge retention). Both reuse the same cached rewrites."""

from __future__ import annotations

from collections import Counter

import numpy as np

from srllm.evaluate import metrics as M
from srllm.evaluate import plots
from srllm.evaluate.rewrite_data import RewriteSet, builtin_sets, from_file, paradetox_neutral
from srllm.evaluate.stats import one_sample_ttest
from srllm.evaluate.suites.base import EvalContext, SuiteResult, register_suite
from srllm.evaluate.text_facts import flesch_reading_ease, knowledge_retained, syllable_counter
from srllm.models.lm_scoring import REFERENCE_LM_NAME

__all__ = ["rewrite_sets", "run_detox", "run_readability"]


def rewrite_sets(ctx: EvalContext, *, builtin: bool = True) -> list[RewriteSet]:
    """ParaDetox pairs and the SR_LLM texts of --split (when ../shared/data is present: infer_50 for test, the
    train_500 dev rows for dev) and every --data file, each sampled to its limit (--limit, or --limit-for
    DATASET=N)."""
    from srllm.data import shared_data_dir

    sets = []
    data = shared_data_dir() if builtin else None
    if data is not None:
        sets += builtin_sets(data, ctx.split)
    sets += [from_file(p) for p in ctx.data_files]
    out = []
    for s in sets:
        keep = ctx.sample(range(len(s.texts)), dataset=s.name)
        out.append(s.subset(keep))
    return out


def _rewrites(ctx: EvalContext, ds: RewriteSet) -> dict[str, list[str]]:
    """Each system's rewrites of a dataset (a human-reference system only where every text has references)."""
    refs = ds.references if ds.has_references else None
    return {s.label: s.rewrite(ds.texts, references=refs, cache_dir=ctx.cache_dir, progress=ctx.progress)
            for s in ctx.systems if refs is not None or s.kind != "reference"}


def _category_bars(ds: RewriteSet, sta_by_system: dict[str, np.ndarray], sta_inputs: np.ndarray) -> str | None:
    counts = Counter(c for cats in ds.categories for c in cats)
    cats = [c for c, _ in counts.most_common(8)]
    if len(cats) < 2:
        return None
    series = {"inputs": [float(np.mean([sta_inputs[i] for i, cs in enumerate(ds.categories) if c in cs]))
                         for c in cats]}
    for name, sta_i in sta_by_system.items():
        series[name] = [float(np.mean([sta_i[i] for i, cs in enumerate(ds.categories) if c in cs])) for c in cats]
    labels = [f"{c} (n={counts[c]})" for c in cats]
    return plots.grouped_bars(labels, series, title=f"{ds.name}: share judged safe per category", ylabel="STA",
                              ylim=(0, 1))


@register_suite("detox", description="Rewriting unsafe text (ParaDetox test split, SR_LLM infer_50, --data files): "
                "STA, SIM, FL, J, BLEU, chrF, % toxic before/after, over-correction on neutral texts.",
                version="1", datasets=("paradetox-test", "sr-llm-infer50", "paradetox-neutral", "paradetox-dev",
                                       "sr-llm-dev", "paradetox-neutral-dev", "--data"),
                needs=("generation", "judge", "encoder", "fluency"))
def run_detox(ctx: EvalContext) -> SuiteResult:
    res, judge = SuiteResult(), ctx.judge
    thr, fl_name = judge.threshold_description, getattr(ctx.fluency, "name", REFERENCE_LM_NAME)
    res.notes += [f"STA judge: {judge.name}; thresholds {thr}. SIM: {M.SIM_ENCODER_NAME}. FL: perplexity <= "
                  f"{M.FL_PPL_THRESHOLD:g} under {fl_name} (calibrated on ParaDetox references vs "
                  "word-shuffled; human references pass ~79%). J = mean of per-item STA*SIM*FL.",
                  "An empty rewrite (the model refused or only explained) counts as unsafe, dissimilar and "
                  "disfluent."]
    for ds in rewrite_sets(ctx):
        if not ds.texts:
            continue
        unsafe_in = judge.is_unsafe(ds.texts).astype(float)
        p_in = judge.unsafe_probability(ds.texts)
        res.add_mean(ctx, ds.name, "input", "toxic_rate", unsafe_in, ids=ds.ids, judge=judge.name)
        if ds.has_references:
            for kind in ("bleu", "chrf"):
                res.add_corpus(ctx, ds.name, "input", kind, M.corpus_metric_of_indices(kind, ds.texts,
                                                                                        ds.references), len(ds.texts))
        outs, per, p_outs = _rewrites(ctx, ds), {}, {}
        for label, o in outs.items():
            empty = np.array([not x.strip() for x in o], dtype=bool)
            sta_i = 1.0 - judge.is_unsafe(o).astype(float)
            sim_i = np.where(empty, 0.0, M.sim(ds.texts, [x if x.strip() else "." for x in o], encoder=ctx.encoder))
            fl_i = M.fl(perplexities=ctx.fluency(o))
            j_i = M.j_items(sta_i, sim_i, fl_i)
            p_outs[label] = judge.unsafe_probability(o)
            per[label] = {"sta": sta_i, "sim": sim_i, "fl": fl_i, "j": j_i}
            kw = dict(ids=ds.ids)
            res.add_mean(ctx, ds.name, label, "sta", sta_i, judge=judge.name, **kw)
            res.add_mean(ctx, ds.name, label, "sim", sim_i, judge=M.SIM_ENCODER_NAME, **kw)
            res.add_mean(ctx, ds.name, label, "fl", fl_i, judge=fl_name, threshold=M.FL_PPL_THRESHOLD, **kw)
            res.add_mean(ctx, ds.name, label, "j", j_i, judge=judge.name, **kw)
            res.add_mean(ctx, ds.name, label, "toxic_rate", 1.0 - sta_i, judge=judge.name, **kw)
            res.add_mean(ctx, ds.name, label, "empty", empty.astype(float), judge="blank after cleaning", **kw)
            if ds.has_references:
                for kind in ("bleu", "chrf"):
                    of_idx = M.corpus_metric_of_indices(kind, o, ds.references)
                    per[label][kind] = of_idx
                    res.add_corpus(ctx, ds.name, label, kind, of_idx, len(o))
            t = one_sample_ttest(p_outs[label] - p_in)
            res.tables.setdefault("SR_LLM-style one-sample t-test (unsafe probability after - before)", {
                "columns": ["dataset", "system", "n", "mean difference", "t", "p"], "rows": []})["rows"].append(
                [ds.name, label, t.n, round(t.mean_difference, 4), round(t.statistic, 3), t.p_value])
        for base, main in ctx.pairs(list(per)):
            for metric in ("j", "sta", "sim", "fl"):
                res.compare(ctx, ds.name, metric, base, main, per[base][metric], per[main][metric])
            if ds.has_references:
                res.compare(ctx, ds.name, "bleu", base, main, of_indices_a=per[base]["bleu"],
                            of_indices_b=per[main]["bleu"], n=len(ds.texts))
        res.plots.append((f"{ds.name}: unsafe probability of inputs vs rewrites",
                          plots.unsafe_histogram(p_in, p_outs, title=f"{ds.name} (n={len(ds.texts)})")))
        bars = _category_bars(ds, {k: v["sta"] for k, v in per.items()}, 1.0 - unsafe_in)
        if bars:
            res.plots.append((f"{ds.name}: STA per category", bars))
        for i in range(len(ds.texts)):
            res.samples.append({"dataset": ds.name, "id": ds.ids[i], "input": ds.texts[i],
                                **{f"output_{k}": v[i] for k, v in outs.items()},
                                **{f"j_{k}": round(float(v["j"][i]), 4) for k, v in per.items()}})
    _over_correction(ctx, res)
    return res


def _over_correction(ctx: EvalContext, res: SuiteResult) -> None:
    from srllm.data import shared_data_dir

    data = shared_data_dir()
    if data is None:
        res.notes.append("over-correction skipped: ../shared/data (ParaDetox neutral references) is absent")
        return
    ds = paradetox_neutral(data, ctx.split)
    ds = ds.subset(ctx.sample(range(len(ds.texts)), dataset=ds.name))
    outs = _rewrites(ctx, ds)
    vals = {k: M.over_correction(ds.texts, o) for k, o in outs.items()}
    for label, v in vals.items():
        res.add_mean(ctx, ds.name, label, "over_correction", v, ids=ds.ids, judge="exact match (whitespace-normalised)")
        res.add_mean(ctx, ds.name, label, "over_correction_words", M.over_correction_words(ds.texts, outs[label]),
                     ids=ds.ids, judge="same words (case, punctuation, spacing ignored)")
    for base, main in ctx.pairs(list(vals)):
        res.compare(ctx, ds.name, "over_correction", base, main, vals[base], vals[main])


@register_suite("readability", description="Flesch reading ease of inputs and rewrites (textstat) and knowledge "
                "retention: the share of rewrites keeping the original's named entities and numbers.",
                version="1", datasets=("paradetox-test", "sr-llm-infer50", "--data"), needs=("generation",))
def run_readability(ctx: EvalContext) -> SuiteResult:
    res = SuiteResult()
    res.notes += [f"Flesch reading ease by textstat (syllables: {syllable_counter()}).",
                  "Knowledge retention is a heuristic: the numbers and capitalised words (not sentence-initial, "
                  "not 'I') of the original must all appear in the rewrite; items with none are left out (n says "
                  "how many remain). It misses paraphrased facts and lowercased names."]
    if ctx.llm_judge is not None:
        res.notes.append(f"LLM judge for knowledge retention: {ctx.llm_judge.name}.")
    for ds in rewrite_sets(ctx):
        if not ds.texts:
            continue
        outs = _rewrites(ctx, ds)
        f_in = flesch_reading_ease(ds.texts)
        res.add_mean(ctx, ds.name, "input", "flesch", f_in, ids=ds.ids, judge="textstat")
        kept_by = {}
        for label, o in outs.items():
            f_out = flesch_reading_ease(o)
            scored = ~np.isnan(f_out)  # an empty output (refusal) has no reading ease: n says how many remain
            res.add_mean(ctx, ds.name, label, "flesch", f_out[scored],
                         ids=[i for i, m in zip(ds.ids, scored, strict=True) if m], judge="textstat")
            kept = np.array([knowledge_retained(a, b) for a, b in zip(ds.texts, o, strict=True)])
            mask = ~np.isnan(kept)
            kept_by[label] = kept
            res.add_mean(ctx, ds.name, label, "knowledge_retention", kept[mask],
                         ids=[i for i, m in zip(ds.ids, mask, strict=True) if m], judge="entity/number heuristic")
            if ctx.llm_judge is not None:
                res.add_mean(ctx, f"{ds.name} (LLM judge)", label, "knowledge_retention",
                             ctx.llm_judge.knowledge_retained(ds.texts, o), ids=ds.ids, judge=ctx.llm_judge.name)
        for base, main in ctx.pairs(list(kept_by)):
            both = ~np.isnan(kept_by[main]) & ~np.isnan(kept_by[base])
            if both.sum() >= 2:
                res.compare(ctx, ds.name, "knowledge_retention", base, main, kept_by[base][both], kept_by[main][both])
    return res
