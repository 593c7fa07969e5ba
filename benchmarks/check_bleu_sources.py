"""Where `srllm check` gains or loses BLEU against the raw adapter on ParaDetox, from compare_rewriters' caches.

    .venv/bin/python benchmarks/check_bleu_sources.py [--split test|dev] [--paradetox-n 300] [--data runs/cmd.jsonl]

The pipeline differs from the raw adapter in two places: the detector gate returns texts it finds safe unchanged
(ParaDetox annotators rewrote every text), and a flagged text whose greedy rewrite fails the re-check gets the
strict retry, the span edit or a sample instead. Swapping outputs per text between the two systems separates the
two effects. Runs compare_rewriters' generation (its cache: nothing is regenerated after a compare_rewriters run
with the same options and code) and prints a table; records nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare_rewriters as cr  # noqa: E402

from srllm.detect import Detector  # noqa: E402
from srllm.evaluate import metrics  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("runs/cmd.jsonl"))
    ap.add_argument("--split", choices=("test", "dev"), default="test")
    ap.add_argument("--paradetox-n", type=int, default=300, help="0: the whole split")
    ap.add_argument("--cache", type=Path, default=Path("runs/compare"))
    args = ap.parse_args()

    name = f"paradetox-{args.split}"
    sets = {name: cr.load_sets(args.data, args.paradetox_n, 0, 0, 0, split=args.split)[name]}
    outputs, _ = cr.generate(sets, cr._adapter_path("default"), args.cache, 16, systems=("adapter", "srllm check"))
    texts, refs = sets[name]["texts"], sets[name]["refs"]
    adapter, check = outputs[name]["adapter"], outputs[name]["srllm check"]
    flagged = Detector().is_unsafe(texts)

    def bleu(outs: list[str]) -> float:
        with contextlib.redirect_stderr(io.StringIO()):  # sacrebleu's "tokenized period" warnings
            return metrics.corpus_metric_of_indices("bleu", outs, refs)(np.arange(len(outs)))

    rows = [
        ("identity", texts),
        ("adapter", adapter),
        ("adapter, unflagged texts unchanged (the gate alone)",
         [a if f else t for t, a, f in zip(texts, adapter, flagged, strict=True)]),
        ("srllm check, adapter rewrite on unflagged texts (the later stages alone)",
         [c if f else a for a, c, f in zip(adapter, check, flagged, strict=True)]),
        ("srllm check", check),
    ]
    print(f"{name}: n={len(texts)}, unflagged by the detector: {int((~flagged).sum())} ({(~flagged).mean():.1%})\n")
    print("| outputs | BLEU |\n|---|---|")
    for label, outs in rows:
        print(f"| {label} | {bleu(outs):.1f} |")


if __name__ == "__main__":
    main()
