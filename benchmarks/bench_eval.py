"""Record a `srllm eval` run: its headline numbers as a section of docs/benchmarks.md and its report.md as
docs/report.md.

    srllm eval --suite all --adapter default --baseline default --out eval-run ...   # the run itself
    .venv/bin/python benchmarks/bench_eval.py eval-run --command "srllm eval ..."   # record it
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import markdown_table, update_section  # noqa: E402

from srllm.evaluate.report import fmt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HEADLINE = [  # (suite, dataset, metric)
    ("detox", "paradetox-test", "sta"), ("detox", "paradetox-test", "sim"), ("detox", "paradetox-test", "fl"),
    ("detox", "paradetox-test", "j"), ("detox", "paradetox-test", "bleu"), ("detox", "sr-llm-infer50", "toxic_rate"),
    ("detox", "sr-llm-infer50", "j"), ("detox", "sr-llm-infer50", "bleu"), ("detox", "paradetox-neutral",
                                                                             "over_correction"),
    ("detox", "paradetox-neutral", "over_correction_words"),
    ("readability", "sr-llm-infer50", "flesch"), ("readability", "sr-llm-infer50", "knowledge_retention"),
    ("counterfactual", "counterfactual-inhouse/gender", "decision_consistency"),
    ("counterfactual", "counterfactual-inhouse/race", "decision_consistency"),
    ("counterfactual", "counterfactual-inhouse/religion", "decision_consistency"),
    ("stereotypes", "stereoset/gender", "icat"), ("stereotypes", "stereoset/profession", "icat"),
    ("stereotypes", "stereoset/race", "icat"), ("stereotypes", "stereoset/religion", "icat"),
    ("stereotypes", "stereoset/all", "ss"), ("stereotypes", "crows-pairs/all", "pct_stereotype"),
    ("safety", "harmful/all", "safe_response_rate"), ("safety", "harmful/all", "refusal_rate"),
    ("safety", "benign/nq-open", "over_refusal"), ("safety", "benign/nq-open", "answer_contained"),
    ("detector", "infer50+counterfactual/unsafe", "auprc"), ("detector", "infer50+counterfactual/unsafe", "fpr"),
    ("detector", "paradetox-test/unsafe", "auprc"),
]


def _cell(r: dict | None) -> str:
    if r is None:
        return ""
    u = r.get("unit", "fraction")
    return f"{fmt(r['value'], u)} [{fmt(r['ci_low'], u)}, {fmt(r['ci_high'], u)}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="the --out folder of the srllm eval run")
    ap.add_argument("--command", required=True, help="the exact srllm eval command that produced the run")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    res = json.loads((args.run / "results.json").read_text("utf-8"))
    by = {(s, r["dataset"], r["system"], r["name"]): r for s, suite in res["suites"].items() for r in suite["results"]}
    sig = {(s, c["dataset"], c["metric"]): c for s, suite in res["suites"].items() for c in suite["comparisons"]}
    rows = []
    for suite, ds, metric in HEADLINE:
        ref = by.get((suite, ds, "input", metric)) or by.get((suite, ds, "detector", metric))
        model, base = by.get((suite, ds, "model", metric)), by.get((suite, ds, "baseline", metric))
        if not (ref or model or base):
            continue
        c = sig.get((suite, ds, metric))
        n = (model or base or ref)["n"]
        rows.append({"suite": suite, "dataset": ds, "metric": metric, "n": n, "input / detector": _cell(ref),
                     "base model": _cell(base), "with SR adapter": _cell(model),
                     "Δ significant": "" if c is None else f"{c['delta']:+.3f} {'yes' if c['significant'] else 'no'}"})
    if not rows:
        sys.exit(f"{args.run / 'results.json'} has none of the headline numbers (was it a --suite all run?)")
    secs = sum(s.get("seconds", 0) for s in res["suites"].values())
    body = (f"`{args.command}` ({res['created'][:10]}, {secs / 60:.0f} min of suites), then "
            f"`.venv/bin/python benchmarks/bench_eval.py {args.run} --command ...`. Systems: "
            + "; ".join(f"{k} = {v}" for k, v in res["systems"].items())
            + ". Values with 95% bootstrap CIs; Δ = with adapter − base (paired bootstrap, p < 0.05). The full "
              "report with every number, judge, threshold and plot: `docs/report.md` (and report.html in the run "
              "folder).\n\n" + markdown_table(rows))
    print(body)
    if not args.no_record:
        update_section("Evaluation suite (srllm eval): SR adapter vs base model", body)
        shutil.copyfile(args.run / "report.md", ROOT / "docs" / "report.md")


if __name__ == "__main__":
    main()
