"""Time the detector (shipped heads + embedded all-MiniLM-L6-v2) and record its section of docs/benchmarks.md,
together with the held-out quality the training measured (src/srllm/assets/detector/metrics.json).

    .venv/bin/python benchmarks/bench_detector.py [--paradetox 1000] [--single 200] [--threads default,1]
                                                   [--no-record]
    .venv/bin/python benchmarks/bench_detector.py --terms-only [--no-record]

Rows: batch throughput of `Detector.predict` (batch 64, no spans) on the 53 texts of infer_50.csv and on N
ParaDetox toxic texts (seeded sample); single-text latency of `predict([text])` (p50/p95 over --single calls);
the cost of spans (`predict(..., spans=True)` on flagged texts: one extra batch of leave-one-word-out variants).
Each row is measured for every `--threads` setting (`Detector(threads=...)`; "default" = torch's own setting).
`--terms-only`: quality of the trained heads alone (configs/policy-heads-only.yaml) vs heads + the taxonomy's
terms, on the same held-out sets, recorded in its own section.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import benchmark_parser, machine_note, markdown_table, shared_data_or_exit, update_section  # noqa: E402

from srllm.data import read_paradetox, read_srllm_csv  # noqa: E402
from srllm.detect import Detector, default_heads_dir  # noqa: E402


def batch_row(det: Detector, name: str, texts: list[str], repeats: int) -> dict:
    det.predict(texts[:64])  # warm-up at this thread setting
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        det.predict(texts)
        times.append(time.perf_counter() - t0)
    best, median = min(times), float(np.median(times))
    return {"measure": f"batch throughput, {name}", "n": len(texts), "repeats": repeats,
            "texts/s (median run)": len(texts) / median, "texts/s (best run)": len(texts) / best,
            "ms/text (median)": 1000 * median / len(texts)}


def single_row(det: Detector, texts: list[str]) -> dict:
    lat = []
    for t in texts:
        t0 = time.perf_counter()
        det.predict([t])
        lat.append(1000 * (time.perf_counter() - t0))
    return {"measure": "single-text latency, predict([text])", "n": len(texts), "repeats": 1,
            "p50 ms": float(np.percentile(lat, 50)), "p95 ms": float(np.percentile(lat, 95)),
            "texts/s (median run)": 1000 / float(np.median(lat))}


def spans_row(det: Detector, texts: list[str]) -> dict:
    flagged = [t for t, u in zip(texts, det.is_unsafe(texts), strict=True) if u]
    t0 = time.perf_counter()
    plain = det.predict(flagged)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    with_spans = det.predict(flagged, spans=True)
    t_spans = time.perf_counter() - t0
    n_spans = [len(v.spans) for v in with_spans]
    assert len(plain) == len(with_spans)
    return {"measure": "spans on flagged ParaDetox texts, predict(spans=True)", "n": len(flagged), "repeats": 1,
            "ms/text (median)": 1000 * t_spans / max(1, len(flagged)),
            "spans cost x": t_spans / max(t_plain, 1e-9), "mean spans/text": float(np.mean(n_spans or [0]))}


def quality_rows(detectors: dict[str, Detector], data: Path, label: str = "encoder") -> list[dict]:
    """Quality of each detector (fp32 vs int8 encoder, or heads alone vs heads + terms; `label` names the column)
    on texts neither the heads nor the thresholds saw: ParaDetox pairs of the CMD test split (toxic vs its first
    human rewrite), infer_50 biased vs debiased, and the neutral counterfactual originals (flag rate = false
    positives). Scored by srllm.evaluate.detection, as the detector's training scores its metrics.json."""
    from srllm.data import read_counterfactual
    from srllm.evaluate.detection import binary_scores, detector_judge, score_counterfactual, score_infer50
    from srllm.train.detector.holdout import cmd_test_split

    is_test = cmd_test_split()
    pairs = [(r.text, r.rewrite) for r in read_paradetox(data / "paradetox" / "paradetox.tsv")
             if r.rewrite and is_test(r.text)]
    infer = read_srllm_csv(data / "sr-llm" / "infer_50.csv")
    cf = read_counterfactual(data / "sr-llm" / "counterfactual-inhouse.csv")
    rows = []
    for name, det in detectors.items():
        judge = detector_judge(det)
        y = np.array([1] * len(pairs) + [0] * len(pairs), dtype=bool)
        paradetox = binary_scores(y, *judge([a for a, _ in pairs] + [b for _, b in pairs]), n_resamples=0)
        for set_name, m in (("toxic vs neutral (ParaDetox, CMD test split)", paradetox),
                            ("biased vs debiased (infer_50)", score_infer50(infer, judge))):
            rows.append({label: name, "set": set_name, "n": m["n"], "AUPRC": m["auprc"], "F1": m["f1"],
                         "precision": m["precision"], "recall": m["recall"], "FPR": m["fpr"]})
        c = score_counterfactual(cf, judge, variants=False)
        rows.append({label: name, "set": "counterfactual originals flagged (all safe)", "n": c["n_original"],
                     "FPR": (c["n_original"] - c["original_not_flagged"]) / c["n_original"]})
    return rows


def quality_section() -> str:
    from srllm.train.detector.card import external_lines, heldout_table, thresholds_table

    path = default_heads_dir() / "metrics.json"
    if not path.is_file():
        return "_No metrics.json next to the shipped heads: run `srllm train detector`._"
    m = json.loads(path.read_text("utf-8"))
    return (f"Held-out quality of the shipped heads, measured by `{m['command']}` on {m['date']} "
            f"(copied from `src/srllm/assets/detector/metrics.json`; the card is `CARD.md` beside it). "
            f"{m['unsafe_rule']}.\n\n{thresholds_table(m)}\n\n{heldout_table(m, sub_categories=False)}\n\n"
            f"Sub-categories of bias and toxicity (rows with >= 5 held-out positives):\n\n"
            f"{heldout_table(m, sub_categories=True)}\n\n"
            f"{external_lines(m)}")


def main() -> None:
    ap = benchmark_parser(__doc__)
    ap.add_argument("--paradetox", type=int, default=1000)
    ap.add_argument("--single", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", default="default,1",
                    help="comma-separated Detector(threads=...) settings to measure; 'default' = torch's choice")
    ap.add_argument("--quantize", default="none,int8",
                    help="comma-separated encoder settings: none (fp32) and/or int8 (Detector(quantize='int8'))")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--terms-only", action="store_true",
                    help="only compare the heads alone with heads + taxonomy terms (quality, no timing)")
    args = ap.parse_args()
    if args.terms_only:
        return terms_section(args)
    import torch

    settings = [None if t.strip() == "default" else int(t) for t in args.threads.split(",") if t.strip()]
    data = shared_data_or_exit()
    infer = [r.text for r in read_srllm_csv(data / "sr-llm" / "infer_50.csv")]
    para = random.Random(args.seed).sample([r.text for r in read_paradetox(data / "paradetox" / "paradetox.tsv")],
                                           args.paradetox)
    note = machine_note()
    encoders = [q.strip() for q in args.quantize.split(",") if q.strip()]
    detectors = {q: Detector(batch_size=64, quantize=None if q == "none" else q) for q in encoders}
    rows = []
    for q, det in detectors.items():
        for threads in settings:
            det.threads = threads
            label = f"default ({torch.get_num_threads()})" if threads is None else str(threads)
            for row in (batch_row(det, "infer_50", infer, args.repeats),
                        batch_row(det, f"{args.paradetox} ParaDetox", para, args.repeats),
                        single_row(det, para[: args.single]),
                        spans_row(det, para[:100])):
                rows.append({"encoder": "fp32" if q == "none" else q, "threads": label, **row})
    load_end = os.getloadavg()[0]
    columns = ["encoder", "threads", "measure", "n", "repeats", "texts/s (median run)", "texts/s (best run)",
               "ms/text (median)", "p50 ms", "p95 ms", "spans cost x", "mean spans/text"]
    table = markdown_table(rows, columns)
    print(table)
    quality = ""
    if len(detectors) > 1:
        for det in detectors.values():
            det.threads = None
        qrows = quality_rows({("fp32" if q == "none" else q): d for q, d in detectors.items()}, data)
        quality = ("\n\nThe same heads and declared thresholds on fp32 vs int8 embeddings, on texts they never "
                   "trained on:\n\n" + markdown_table(qrows, ["encoder", "set", "n", "AUPRC", "F1", "FPR"]))
        print(quality)
    body = (f"`.venv/bin/python benchmarks/bench_detector.py --paradetox {args.paradetox} --single {args.single} "
            f"--threads {args.threads} --quantize {args.quantize}` ({note}; load average {load_end:.1f} at the end; "
            f"2 = both cores busy; other jobs, if any, ran at nice 19). Targets on 2 "
            f"cores: >= 300 texts/s batched, single-text p50 <= 20 ms. `Detector(threads=...)` sets torch threads "
            f"while embedding (calls of <= 8 texts always use 1); `Detector(quantize='int8')` embeds with an int8 "
            f"copy of MiniLM (torch dynamic quantization; off by default).\n\n{table}{quality}\n\n"
            f"{quality_section()}\n")
    if not args.no_record:
        update_section("Detector", body)


def terms_section(args) -> None:
    data = shared_data_or_exit()
    heads_only = Path(__file__).resolve().parent.parent / "configs" / "policy-heads-only.yaml"
    detectors = {"trained heads only": Detector(policy=heads_only), "heads + terms (default)": Detector()}
    rows = quality_rows(detectors, data, label="detector")
    table = markdown_table(rows, ["detector", "set", "n", "AUPRC", "F1", "precision", "recall", "FPR"])
    print(table)
    terms = detectors["heads + terms (default)"].taxonomy.flag_terms
    body = (f"`.venv/bin/python benchmarks/bench_detector.py --terms-only` ({machine_note()}). The shipped heads "
            f"and their declared thresholds, alone (`configs/policy-heads-only.yaml`) and with the default "
            f"taxonomy's `terms` ({', '.join(f'{c}: {len(w)}' for c, w in terms.items())} words; a text containing "
            f"one is flagged for that category), on sets neither saw in training: ParaDetox pairs of the CMD test "
            f"split (toxic vs its first human rewrite), infer_50 biased vs debiased, the neutral counterfactual "
            f"originals (flag rate = false positives). AUPRC ranks by P(unsafe); a term hit scores at the "
            f"threshold. The \"Detector\" section above was measured before the terms existed (heads alone; the "
            f"terms do not change the heads' scores, only raise a category on a hit).\n\n{table}\n")
    if not args.no_record:
        update_section("Detector: trained heads vs heads + terms", body)


if __name__ == "__main__":
    main()
