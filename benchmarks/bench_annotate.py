"""Agreement of `srllm annotate` output with the SR_LLM authors' labels (infer_50.csv: bias level from `label`,
category from `aspect`), per annotator and for the vote, plus a few outputs quoted at random.

    python benchmarks/bench_annotate.py RAW.jsonl [--csv infer_50.csv] [--quote 5] [--seed 0]

RAW is the `<out stem>.raw.jsonl` of `srllm annotate ... --text-field biased_text`. The authors label every text
biased (Slightly or Highly), so 'flagged' is the share an annotator calls biased (recall), and kappa compares the
three-level scale. Token counts are estimated with the embedded model's tokenizer when the endpoint reported none
(srllm serve does not report usage): the first try's prompt (chat template applied) and the last answer per text.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from srllm.data.annotate.agreement import cohen_kappa, krippendorff_alpha
from srllm.data.annotate.labels import SCALES
from srllm.data.sources import ASPECT_TO_CATEGORY, shared_data_dir

_BIAS = {"slightly biased": "slight", "highly biased": "high", "neutral": "none"}


def authors(path: Path) -> dict[str, dict]:
    out = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            aspect = row["aspect"].strip().lower()
            out[row["biased_text"]] = {"bias": _BIAS[row["label"].strip().lower()], "aspect": row["aspect"].strip(),
                                       "category": ASPECT_TO_CATEGORY.get(aspect, "bias.other") if aspect else None}
    return out


def score(name: str, pairs: list[tuple[dict, dict | None]]) -> dict:
    have = [(ref, la) for ref, la in pairs if la is not None]
    ref_b, got_b = [r["bias"] for r, _ in have], [la["bias"] for _, la in have]
    with_cat = [(r, la) for r, la in have if r["category"]]
    return {
        "annotator": name, "texts": len(pairs), "answered": len(have),
        "exact_bias": round(sum(a == b for a, b in zip(ref_b, got_b, strict=True)) / max(1, len(have)), 3),
        "flagged_biased": round(sum(b != "none" for b in got_b) / max(1, len(have)), 3),
        "cohen_kappa_bias": round(cohen_kappa(ref_b, got_b), 3),
        "alpha_ordinal_bias": round(krippendorff_alpha(list(zip(ref_b, got_b, strict=True)), level="ordinal",
                                                      order=SCALES["bias"]), 3),
        "bias_levels": {v: got_b.count(v) for v in SCALES["bias"]},
        "aspect_category_named": round(sum(r["category"] in la.get("categories", []) for r, la in with_cat)
                                       / max(1, len(with_cat)), 3),
        "any_bias_category": round(sum(any(c.startswith(("bias", "stereotyping")) for c in la.get("categories", []))
                                       for _, la in have) / max(1, len(have)), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", type=Path)
    ap.add_argument("--csv", type=Path, default=None)
    ap.add_argument("--quote", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ref = authors(args.csv or shared_data_dir() / "sr-llm" / "infer_50.csv")
    details = [json.loads(x) for x in args.raw.read_text(encoding="utf-8").splitlines() if x.strip()]
    names = [a["annotator"] for a in details[0]["annotators"]]
    rows = []
    for name in names:
        rows.append(score(name, [(ref[d["record"]["text"]], next(a.get("labels") for a in d["annotators"]
                                                                  if a["annotator"] == name)) for d in details]))
    rows.append(score("vote", [(ref[d["record"]["text"]], None if d["failed"] else d["record"]) for d in details]))
    print(json.dumps(rows, indent=1))
    print("\n| annotator | answered | exact bias level | flagged biased | Cohen's kappa (bias) | alpha ordinal "
          "(bias) | levels none/slight/high | aspect's category named | any bias category |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        lv = r["bias_levels"]
        print(f"| {r['annotator']} | {r['answered']}/{r['texts']} | {r['exact_bias']} | {r['flagged_biased']} | "
              f"{r['cohen_kappa_bias']} | {r['alpha_ordinal_bias']} | {lv['none']}/{lv['slight']}/{lv['high']} | "
              f"{r['aspect_category_named']} | {r['any_bias_category']} |")
    _tokens(details)
    rng = random.Random(args.seed)
    for d in rng.sample(details, min(args.quote, len(details))):
        llm = next(a for a in d["annotators"] if a["annotator"] != "detector")
        r = ref[d["record"]["text"]]
        print(f"\n- text: {d['record']['text'][:160]!r}\n  authors: {r['bias']}, aspect {r['aspect'] or '(none)'}\n"
              f"  llm (tries {llm['tries']}): {(llm.get('raw') or '')[:400]!r}\n  error: {llm.get('error')}")


def _tokens(details: list[dict]) -> None:
    reported = sum(a.get("prompt_tokens", 0) + a.get("completion_tokens", 0) for d in details for a in d["annotators"])
    if reported:
        print(f"\ntokens reported by the endpoint: {reported}")
        return
    from transformers import AutoTokenizer

    from srllm.data.annotate.annotators import _request, load_guideline
    from srllm.models.loading import resolve_llm

    tok = AutoTokenizer.from_pretrained(resolve_llm(None))
    _, guideline = load_guideline("v1")
    prompt = completion = calls = 0
    for d in details:
        for a in d["annotators"]:
            if a["annotator"] == "detector":
                continue
            msgs = [{"role": "system", "content": guideline},
                    {"role": "user", "content": _request(d["record"]["text"])}]
            prompt += len(tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True)
                          ["input_ids"])
            completion += len(tok(a.get("raw") or "")["input_ids"])
            calls += a["tries"]
    print(f"\ntokens (estimated, the endpoint reported none): first-try prompts {prompt}, last answers {completion}, "
          f"requests {calls}")


if __name__ == "__main__":
    main()
