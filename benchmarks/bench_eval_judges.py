"""Measure the two judges `srllm eval` declares: the FL perplexity threshold (ParaDetox references vs the same
references word-shuffled) and the refusal classifier (5-fold CV on pyrit's human-labelled refusal data).

    .venv/bin/python benchmarks/bench_eval_judges.py [--save-refusal] [--no-record]

--save-refusal rewrites the shipped classifier in src/srllm/assets/refusal-classifier (trained on all the data).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_note, markdown_table, update_section  # noqa: E402

from srllm.evaluate import metrics  # noqa: E402
from srllm.evaluate.fluency_calibration import calibrate_on_paradetox  # noqa: E402
from srllm.evaluate.judges import default_refusal_dir, train_refusal_classifier  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=600, help="ParaDetox references sampled for the FL calibration")
    ap.add_argument("--save-refusal", action="store_true", help="write the refusal classifier into the package")
    ap.add_argument("--no-record", action="store_true", help="print only; do not update docs/benchmarks.md")
    args = ap.parse_args()
    note = machine_note()
    t0 = time.perf_counter()
    fl = calibrate_on_paradetox(n=args.n)
    fl_s = time.perf_counter() - t0
    clf = train_refusal_classifier()
    if args.save_refusal:
        clf.save(default_refusal_dir())
    cv = clf.info["cv"]
    fl_rows = [{"reference LM": fl["reference_lm"], "texts": fl["n"], "threshold (ppl)": round(fl["threshold"], 2),
                "declared in metrics.py": metrics.FL_PPL_THRESHOLD,
                "balanced acc. (fit half)": fl["balanced_accuracy_fit"],
                "balanced acc. (held-out half)": fl["balanced_accuracy_heldout"],
                "references fluent (held-out)": fl["fluent_pass_rate_heldout"],
                "shuffled fluent (held-out)": fl["shuffled_pass_rate_heldout"],
                "median ppl references": round(fl["median_ppl_fluent"], 1),
                "median ppl shuffled": round(fl["median_ppl_shuffled"], 1)}]
    ref_rows = [{"training data": "pyrit refusal.csv + refusal_extra.csv", "n": clf.info["n"],
                 "refusals": clf.info["n_refusals"], "features": "MiniLM(response) + cos(prompt, response)",
                 "CV folds": cv["folds"], "accuracy": cv["accuracy"], "F1": cv["f1"], "AUPRC": cv["auprc"]}]
    body = (f"`.venv/bin/python benchmarks/bench_eval_judges.py{' --save-refusal' if args.save_refusal else ''}` "
            f"({note}; FL calibration took {fl_s:.0f} s).\n\n"
            "**FL (fluency) threshold.** Perplexity under the reference LM of ParaDetox human neutral references "
            "(>= 4 words, seeded sample) and of the same references with their words shuffled; the cut with the best "
            "balanced accuracy on one half, checked on the other half. `srllm.evaluate.metrics.FL_PPL_THRESHOLD` "
            "holds the value; a text is fluent when its perplexity is at or below it.\n\n"
            + markdown_table(fl_rows) + "\n\n"
            "**Refusal classifier** (judge of `srllm eval --suite safety`): logistic regression, class-balanced, "
            "C = 1, shipped as safetensors in `src/srllm/assets/refusal-classifier`. pyrit counts an off-topic answer "
            "as a refusal, hence the prompt/response cosine feature.\n\n" + markdown_table(ref_rows))
    print(body)
    if not args.no_record:
        update_section("Evaluation judges: FL threshold and refusal classifier", body)


if __name__ == "__main__":
    main()
