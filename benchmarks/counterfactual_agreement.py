"""How close `srllm counterfactual` comes to the SR_LLM authors' counterfactual-inhouse.csv (LLM-written variants).

    PYTHONPATH=src .venv/bin/python benchmarks/counterfactual_agreement.py [--sample 50] [--seed 0]

Runs the rule-based generator on the `Original` column and compares each group's output with the authors' variant
of the same row: exact match (as written, and after srllm's "words" normalisation: case and punctuation ignored)
and sacrebleu corpus BLEU. Copying the Original unchanged is the baseline BLEU (the variants mostly keep the
sentence). Then prints `--sample` random (row, group) outputs to read for grammar errors (docs/data.md).
"""

from __future__ import annotations

import argparse
import random

import sacrebleu

from srllm.data import read_counterfactual, shared_data_dir
from srllm.data.counterfactual import lexicon, make_variant
from srllm.data.normalize import normalize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    path = shared_data_dir() / "sr-llm" / "counterfactual-inhouse.csv"
    rows = read_counterfactual(path)
    known = lexicon()
    print(f"{path}: {len(rows)} rows\n")
    print("| group | n | exact | exact (words) | BLEU | BLEU of copying Original | fallback rule |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    outputs = {}
    tot = {"n": 0, "exact": 0, "words": 0}
    all_hyp, all_ref, all_copy = [], [], []
    for col in rows[0].columns[1:]:
        g = known[col]
        hyps, refs, copies, rules = [], [], [], []
        for r in rows:
            v = make_variant(r.original, g, known=known.values())
            outputs[(r.original, col)] = v
            hyps.append(v.text.strip())
            refs.append(r.text(col).strip())
            copies.append(r.original.strip())
            rules.append(v.rule)
        exact = sum(h == ref for h, ref in zip(hyps, refs, strict=True))
        words = sum(normalize(h) == normalize(ref) for h, ref in zip(hyps, refs, strict=True))
        bleu = sacrebleu.corpus_bleu(hyps, [refs]).score
        copy = sacrebleu.corpus_bleu(copies, [refs]).score
        n = len(rows)
        print(f"| {col} | {n} | {exact / n:.1%} ({exact}) | {words / n:.1%} ({words}) | {bleu:.1f} | {copy:.1f} | "
              f"{rules.count('fallback') / n:.0%} |")
        tot["n"] += n
        tot["exact"] += exact
        tot["words"] += words
        all_hyp += hyps
        all_ref += refs
        all_copy += copies
    n = tot["n"]
    print(f"| all | {n} | {tot['exact'] / n:.1%} ({tot['exact']}) | {tot['words'] / n:.1%} ({tot['words']}) | "
          f"{sacrebleu.corpus_bleu(all_hyp, [all_ref]).score:.1f} | "
          f"{sacrebleu.corpus_bleu(all_copy, [all_ref]).score:.1f} | |")
    print(f"\n{args.sample} random outputs (seed {args.seed}):")
    keys = sorted(outputs)
    for i, (orig, col) in enumerate(random.Random(args.seed).sample(keys, args.sample), 1):
        v = outputs[(orig, col)]
        print(f"{i:2d}. [{col}, {v.rule}] {v.text}")


if __name__ == "__main__":
    main()
