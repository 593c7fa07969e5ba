"""Time `srllm check` end to end (detector + rewriting with the embedded SmolLM2 and its default adapter) and
measure over-correction on neutral texts.

    .venv/bin/python benchmarks/bench_check.py [--paradetox 1000] [--rewrite-n N] [--adapter default] [--screen]
                                               [--engine ENGINE] [--sets infer_50,paradetox,neutral]
                                               [--detect-only] [--no-record]

Inputs: the 53 texts of infer_50.csv, N ParaDetox toxic texts (seeded sample), the 420 neutral `Original`
sentences of counterfactual-inhouse.csv.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import benchmark_parser, machine_note, markdown_table, shared_data_or_exit, update_section  # noqa: E402

from srllm.data import read_counterfactual, read_paradetox, read_srllm_csv  # noqa: E402
from srllm.guard import Guard  # noqa: E402
from srllm.rewrite import RewriteConfig  # noqa: E402


def run(guard: Guard, name: str, texts: list[str], rewrite: bool) -> dict:
    t0 = time.perf_counter()
    results = []
    for i in range(0, len(texts), 64):
        results += guard.check(texts[i:i + 64], rewrite=rewrite, spans=rewrite)
    dt = time.perf_counter() - t0
    actions = Counter(r.action for r in results)
    unsafe_out = guard.detector.is_unsafe([r.output for r in results])
    return {"set": name, "mode": "rewrite" if rewrite else "detect only", "n": len(texts),
            "seconds": dt, "texts/s": len(texts) / dt, "flagged": sum(r.unsafe for r in results),
            "kept": actions["kept"], "rewritten": actions["rewritten"], "edited": actions["edited"],
            "failed": actions["failed"], "outputs still flagged": int(unsafe_out.sum()),
            "unchanged": sum(r.output == r.text for r in results)}


def main() -> None:
    ap = benchmark_parser(__doc__)
    ap.add_argument("--paradetox", type=int, default=1000)
    ap.add_argument("--rewrite-n", type=int, default=None,
                    help="time rewriting on the first N texts of the ParaDetox sample (default: all of them)")
    ap.add_argument("--adapter", default="default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--screen", action="store_true", help="the detector's first-pass screen (srllm check --screen)")
    ap.add_argument("--detect-only", action="store_true", help="only the detection rows (no rewriting)")
    ap.add_argument("--engine", default="transformers", help="generation engine of the rewriter (srllm check "
                    "--engine: transformers, ctranslate2, auto)")
    ap.add_argument("--sets", default="infer_50,paradetox,neutral", help="which input sets to run (comma-separated)")
    args = ap.parse_args()
    data = shared_data_or_exit()
    note = machine_note()
    infer = [r.text for r in read_srllm_csv(data / "sr-llm" / "infer_50.csv")]
    para = [r.text for r in read_paradetox(data / "paradetox" / "paradetox.tsv")]
    para = random.Random(args.seed).sample(para, args.paradetox)
    neutral = [r.original for r in read_counterfactual(data / "sr-llm" / "counterfactual-inhouse.csv")]
    guard = Guard(adapter=args.adapter, screen=args.screen, rewrite_config=RewriteConfig(engine=args.engine))
    guard.check(["warm up the detector"], rewrite=False)
    sets = {"infer_50": ("infer_50", infer, infer), "paradetox": ("ParaDetox sample", para, para[: args.rewrite_n]),
            "neutral": ("counterfactual originals (neutral)", neutral, neutral)}
    chosen = [sets[name] for name in args.sets.split(",")]
    rows = [run(guard, name, texts, False) for name, texts, _ in chosen]
    if not args.detect_only:
        rows += [run(guard, name, texts, True) for name, _, texts in chosen]
    table = markdown_table(rows)
    print(table)
    if args.detect_only:
        return  # the recorded section needs the rewriting rows
    if args.sets != ap.get_default("sets") or args.engine != ap.get_default("engine"):
        return  # the recorded section is the default run
    over = rows[-1]  # rewrite mode: what `srllm check` returns for neutral texts
    rewrite_n = f" --rewrite-n {args.rewrite_n}" if args.rewrite_n else ""
    body = (f"`.venv/bin/python benchmarks/bench_check.py --paradetox {args.paradetox}{rewrite_n} --adapter "
            f"{args.adapter}` "
            f"({note}).\n\nRewriting: embedded SmolLM2-135M-Instruct, adapter `{args.adapter}`, greedy, "
            "re-check by the detector, strict retry, span-edit fallback, 4 sampled rewrites as a last resort. "
            "`texts/s` includes spans and rewriting.\n\n"
            f"{table}\n\nOver-correction on the 420 neutral counterfactual originals: {over['unchanged']}/{over['n']} "
            f"returned unchanged ({100 * over['unchanged'] / over['n']:.1f}%).\n")
    if not args.no_record:
        update_section("check end to end", body)


if __name__ == "__main__":
    main()
