"""How close `srllm counterfactual` comes to the SR_LLM authors' counterfactual-inhouse.csv (LLM-written variants).

    PYTHONPATH=src .venv/bin/python benchmarks/counterfactual_agreement.py [--sample 50] [--seed 0]
    PYTHONPATH=src .venv/bin/python benchmarks/counterfactual_agreement.py --llm-raw runs/cf-llm.raw.jsonl

Runs the rule-based generator on the `Original` column and compares each group's output with the authors' variant
of the same row: exact match (as written, and after srllm's "words" normalisation: case and punctuation ignored)
and sacrebleu corpus BLEU. Copying the Original unchanged is the baseline BLEU (the variants mostly keep the
sentence). Then prints `--sample` random (row, group) outputs to read for grammar errors (docs/data.md).

With `--llm-raw` (the raw file of `srllm counterfactual --llm` run on counterfactual-inhouse.csv, with `--limit N`
for its first N rows), the same table for those rows only, rule-only vs the LLM mode (with its rule fallback), the
share of variants the LLM made, and `--sample` random LLM answers, used or not.
"""

from __future__ import annotations

import argparse
import json
import random

import sacrebleu

from srllm.data import read_counterfactual, shared_data_dir
from srllm.data.counterfactual import lexicon, make_variant
from srllm.data.normalize import normalize


def scores(hyps: list[str], refs: list[str]) -> dict:
    n = len(refs)
    exact = sum(h == r for h, r in zip(hyps, refs, strict=True))
    words = sum(normalize(h) == normalize(r) for h, r in zip(hyps, refs, strict=True))
    return {"n": n, "exact": exact, "words": words, "bleu": sacrebleu.corpus_bleu(hyps, [refs]).score}


def cell(s: dict) -> str:
    return (f"{s['exact'] / s['n']:.1%} ({s['exact']}) | {s['words'] / s['n']:.1%} ({s['words']}) | "
            f"{s['bleu']:.1f}")


def rule_report(rows, known, sample: int, seed: int) -> None:
    print("| group | n | exact | exact (words) | BLEU | BLEU of copying Original | fallback rule |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    outputs, all_hyp, all_ref, all_copy = {}, [], [], []
    for col in rows[0].columns[1:]:
        variants = [make_variant(r.original, known[col], known=known.values()) for r in rows]
        outputs.update({(r.original, col): v for r, v in zip(rows, variants, strict=True)})
        hyps, refs = [v.text.strip() for v in variants], [r.text(col).strip() for r in rows]
        copies = [r.original.strip() for r in rows]
        copy = sacrebleu.corpus_bleu(copies, [refs]).score
        fallback = sum(v.rule == "fallback" for v in variants) / len(rows)
        print(f"| {col} | {len(rows)} | {cell(scores(hyps, refs))} | {copy:.1f} | {fallback:.0%} |")
        all_hyp, all_ref, all_copy = all_hyp + hyps, all_ref + refs, all_copy + copies
    print(f"| all | {len(all_ref)} | {cell(scores(all_hyp, all_ref))} | "
          f"{sacrebleu.corpus_bleu(all_copy, [all_ref]).score:.1f} | |")
    print(f"\n{sample} random outputs (seed {seed}):")
    for i, (orig, col) in enumerate(random.Random(seed).sample(sorted(outputs), sample), 1):
        v = outputs[(orig, col)]
        print(f"{i:2d}. [{col}, {v.rule}] {v.text}")


def llm_report(rows, known, raw_path: str, sample: int, seed: int) -> None:
    by_id = {}
    with open(raw_path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            by_id[d["id"]] = d  # the last line of a sentence wins, as in the CSV
    lines = sorted(by_id.values(), key=lambda d: d["line"])  # input order: the first rows of the authors' file
    mine = rows[:len(lines)]
    if [d["Original"].strip() for d in lines] != [r.original.strip() for r in mine]:
        raise SystemExit(f"{raw_path} is not a run over the first {len(lines)} rows of the authors' file")
    print(f"{raw_path}: the first {len(mine)} rows ({len({r.original for r in mine})} distinct sentences)\n")
    print("| group | n | rule only: exact | exact (words) | BLEU | LLM mode: exact | exact (words) | BLEU | "
          "made by the LLM | fallback: no group / too many edits / empty |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    tot = {"rule": ([], []), "llm": ([], [])}
    for col in rows[0].columns[1:]:
        refs = [r.text(col).strip() for r in mine]
        rule = [make_variant(r.original, known[col], known=known.values()).text.strip() for r in mine]
        variants = [d["variants"][col] for d in lines]
        llm = [v["text"].strip() for v in variants]
        reasons = [v.get("reason", "").split(" (")[0] for v in variants]
        made = sum(v["method"] == "llm" for v in variants)
        print(f"| {col} | {len(refs)} | {cell(scores(rule, refs))} | {cell(scores(llm, refs))} | "
              f"{made / len(refs):.0%} ({made}) | {reasons.count('no group')} / {reasons.count('too many edits')} / "
              f"{reasons.count('empty')} |")
        for key, hyps in (("rule", rule), ("llm", llm)):
            tot[key][0].extend(hyps)
            tot[key][1].extend(refs)
    made = sum(v["method"] == "llm" for d in lines for v in d["variants"].values())
    n = len(tot["rule"][1])
    print(f"| all | {n} | {cell(scores(*tot['rule']))} | {cell(scores(*tot['llm']))} | {made / n:.0%} ({made}) | |")
    print(f"\n{sample} random LLM answers (seed {seed}), used or not:")
    keys = [(i, c) for i, d in enumerate(lines) for c in d["variants"]]
    for k, (i, col) in enumerate(random.Random(seed).sample(keys, sample), 1):
        v = lines[i]["variants"][col]
        answer = v["text"] if v["method"] == "llm" else v.get("llm", "")
        verdict = "used" if v["method"] == "llm" else f"not used: {v['reason']}; rule gave \"{v['text']}\""
        print(f"{k}. [{col}] {mine[i].original}\n   LLM: \"{answer}\" ({verdict})\n   authors: \"{mine[i].text(col)}\"")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=None, help="random outputs to print (default 50; --llm-raw: 5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--llm-raw", default=None, help="raw JSONL of `srllm counterfactual --llm` to compare")
    args = ap.parse_args()
    path = shared_data_dir() / "sr-llm" / "counterfactual-inhouse.csv"
    rows = read_counterfactual(path)
    print(f"{path}: {len(rows)} rows\n")
    if args.llm_raw:
        llm_report(rows, lexicon(), args.llm_raw, args.sample or 5, args.seed)
    else:
        rule_report(rows, lexicon(), args.sample or 50, args.seed)


if __name__ == "__main__":
    main()
