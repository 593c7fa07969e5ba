"""Where `srllm check` gains or loses BLEU against the raw adapter on ParaDetox, from compare_rewriters' cache.

    .venv/bin/python benchmarks/check_bleu_sources.py [--split test|dev] [--paradetox-n 300] [--out runs/eval-rewriters]

The pipeline differs from the raw adapter in two places: the detector gate returns texts it finds safe unchanged
(ParaDetox annotators rewrote every text), and a flagged text whose greedy rewrite fails the re-check gets the
strict retry, the span edit or a sample instead. Swapping outputs per text between the two systems separates the
two effects. Uses the systems and the sample of `srllm eval --systems adapter,pipeline` (srllm.evaluate), with the
generation cache of a compare_rewriters run in --out (nothing is regenerated after a run with the same split, size,
adapter and code); prints a table and records nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import numpy as np

from srllm.data import shared_data_dir
from srllm.detect import Detector
from srllm.evaluate import metrics
from srllm.evaluate.rewrite_data import paradetox_pairs
from srllm.evaluate.suites import sample_items
from srllm.evaluate.systems import System, named_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("test", "dev"), default="test")
    ap.add_argument("--paradetox-n", type=int, default=300, help="0: the whole split")
    ap.add_argument("--seed", type=int, default=0, help="the sample's seed (srllm eval --seed)")
    ap.add_argument("--out", type=Path, default=Path("runs/eval-rewriters"), help="the srllm eval --out folder")
    args = ap.parse_args()

    data = shared_data_dir()
    if data is None:
        raise SystemExit("../shared/data (ParaDetox) is not beside this checkout; set SRLLM_DATA_DIR")
    ds = paradetox_pairs(data, args.split)
    ds = ds.subset(sample_items(range(len(ds.texts)), args.paradetox_n or None, args.seed))
    texts, refs = ds.texts, ds.references
    adapter, check = (System.from_spec(named_spec(name)).rewrite(texts, cache_dir=args.out / "cache", desc=name)
                      for name in ("adapter", "pipeline"))
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
    print(f"{ds.name}: n={len(texts)}, unflagged by the detector: {int((~flagged).sum())} ({(~flagged).mean():.1%})\n")
    print("| outputs | BLEU |\n|---|---|")
    for label, outs in rows:
        print(f"| {label} | {bleu(outs):.1f} |")


if __name__ == "__main__":
    main()
