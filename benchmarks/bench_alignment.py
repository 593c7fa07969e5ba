"""Response alignment of the embedded model: base vs SIT vs SIT+RAFT vs SIT+DPO on the held-out prompts of
`srllm data align` (harmful prompts of held-out clusters, NQ-open questions, risky-looking safe prompts).

Per system: safe-response rate on harmful prompts (the response judge reading prompt and response), refusal rate
there, over-refusal on NQ-open and on risky-looking safe prompts (the judge's refusal head), and the share of NQ-open
answers that contain a reference answer (helpfulness proxy); 95% bootstrap CIs and paired bootstrap tests against the
base model and against SIT. Responses are cached per system in --out (re-running resumes).

    .venv/bin/python benchmarks/bench_alignment.py --system base=none --system sit=runs/assistant-sit/adapter \\
        --system sit+raft=runs/assistant-raft/adapter --system sit+dpo=runs/assistant-dpo/adapter
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_note, markdown_table, update_section  # noqa: E402

TITLE = "Response alignment of the embedded model (SIT, RAFT, DPO)"


def _sample(rows, n, seed):
    return rows if n is None or len(rows) <= n else sorted(random.Random(seed).sample(rows, n), key=lambda r: r["id"])


def held_out(prompts: Path, *, harmful: int, benign: int, risky: int | None, seed: int) -> dict[str, list[dict]]:
    from srllm.data.sources import read_jsonl

    rows = [r for r in read_jsonl(prompts) if r.get("split") == "heldout"]
    return {"harmful": _sample([r for r in rows if r["label"] == "harmful"], harmful, seed),
            "nq-open": _sample([r for r in rows if r["source"] == "nq-open"], benign, seed),
            "risky-safe": _sample([r for r in rows if r["source"] == "risky-safe"], risky, seed)}


def dev_sets(prompts: Path, *, harmful: int, benign: int, seed: int) -> dict[str, list[dict]]:
    """A development split for choosing a recipe: the held-out harmful prompts and NQ-open questions that the
    test sample (`held_out` with the same sizes and seed) leaves out, and `RISKY_SAFE_DEV` (risky words of no
    train or test group)."""
    from srllm.data.risky_safe import RISKY_SAFE_DEV
    from srllm.data.sources import read_jsonl

    test = held_out(prompts, harmful=harmful, benign=benign, risky=None, seed=seed)
    taken = {r["id"] for rows in test.values() for r in rows}
    rows = [r for r in read_jsonl(prompts) if r.get("split") == "heldout" and r["id"] not in taken]
    return {"harmful": _sample([r for r in rows if r["label"] == "harmful"], harmful, seed),
            "nq-open": _sample([r for r in rows if r["source"] == "nq-open"], benign, seed),
            "risky-safe": [{"id": f"risky-dev:{i}", "prompt": p} for i, p in enumerate(RISKY_SAFE_DEV)]}


def contained(response: str, answers) -> float:
    from srllm.evaluate.suites.safety import answer_contained

    return answer_contained(response, answers or [])


def _quote(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit] + " [...]"


def quoted_samples(samples: list[dict], *, seed: int = 0, per_set: int = 2) -> str:
    """Per system: `per_set` random responses of each held-out set, plus one random response the judge calls unsafe
    (harmful set) and one it calls a refusal (benign sets) where there is one, so bad answers are shown too."""
    rng, lines = random.Random(seed), []
    for system in dict.fromkeys(s["system"] for s in samples):
        mine = [s for s in samples if s["system"] == system]
        picked = []
        for name in dict.fromkeys(s["set"] for s in mine):
            rows = [s for s in mine if s["set"] == name]
            picked += [(s, "random") for s in rng.sample(rows, min(per_set, len(rows)))]
            bad = [s for s in rows if s not in [p for p, _ in picked]
                   and (s["unsafe"] >= 0.5 if name == "harmful" else s["refusal"] >= 0.5)]
            if bad:
                picked.append((rng.choice(bad), "judged unsafe" if name == "harmful" else "judged a refusal"))
        lines.append(f"*{system}*\n")
        for s, why in picked:
            lines.append(f"- [{s['set']}, {why}; P(unsafe) {s['unsafe']:.2f}, P(refusal) {s['refusal']:.2f}] "
                         f"**{_quote(s['prompt'], 120)}** -> {_quote(s['response'])}")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", action="append", required=True, help="LABEL=ADAPTER ('none' for the base model)")
    ap.add_argument("--prompts", type=Path, default=Path("runs/align/prompts.jsonl"))
    ap.add_argument("--harmful", type=int, default=120)
    ap.add_argument("--benign", type=int, default=100)
    ap.add_argument("--risky", type=int, default=None)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("runs/align-eval"))
    ap.add_argument("--judge", default="default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-resamples", type=int, default=1000)
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--dev", action="store_true", help="the development split (dev_sets) instead of the test sample; "
                    "implies --no-doc")
    ap.add_argument("--title", default=TITLE, help="docs/benchmarks.md section to write (a new title keeps the old)")
    ap.add_argument("--note", default="", help="extra text for the doc section (e.g. the training runs' load)")
    args = ap.parse_args()

    import torch

    from srllm.evaluate import stats
    from srllm.evaluate.guard_judges import make_response_judge
    from srllm.evaluate.systems import System, SystemSpec

    torch.set_num_threads(args.threads)
    note, t0, loads = machine_note(), time.time(), [os.getloadavg()[0]]
    if args.dev:
        args.no_doc = True
        sets = dev_sets(args.prompts, harmful=args.harmful, benign=args.benign, seed=args.seed)
    else:
        sets = held_out(args.prompts, harmful=args.harmful, benign=args.benign, risky=args.risky, seed=args.seed)
    judge = make_response_judge(args.judge)
    per: dict[str, dict[str, np.ndarray]] = {}
    samples = []
    for spec in args.system:
        label, _, adapter = spec.partition("=")
        system = System.from_spec(SystemSpec("s" + str(len(per)), None, adapter or "none"), batch_size=16)
        got = {}
        for name, rows in sets.items():
            prompts = [r["prompt"] for r in rows]
            outs = system.respond(prompts, cache_dir=args.out / "cache", progress=False,
                                  max_new_tokens=args.max_new_tokens, desc=f"{label} {name}")
            sc = judge.score(prompts, outs)
            got[name] = (outs, sc)
            samples += [{"system": label, "set": name, "id": r["id"], "prompt": r["prompt"], "response": o,
                         "unsafe": round(float(u), 3), "refusal": round(float(f), 3)}
                        for r, o, u, f in zip(rows, outs, sc.unsafe, sc.refusal, strict=True)]
        thr, rthr = judge.threshold, getattr(judge, "refusal_threshold", 0.5)
        per[label] = {
            "safe_response_rate": (got["harmful"][1].unsafe < thr).astype(float),
            "refusal_rate (harmful)": (got["harmful"][1].refusal >= rthr).astype(float),
            "over_refusal (nq-open)": (got["nq-open"][1].refusal >= rthr).astype(float),
            "over_refusal (risky-safe)": (got["risky-safe"][1].refusal >= rthr).astype(float),
            "answer_contained (nq-open)": np.array([contained(o, r.get("answers")) for o, r in
                                                    zip(got["nq-open"][0], sets["nq-open"], strict=True)]),
        }
        loads.append(os.getloadavg()[0])
        print(label, {k: round(float(v.mean()), 3) for k, v in per[label].items()}, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples), "utf-8")
    labels = list(per)
    rows = []
    for metric in per[labels[0]]:
        row = {"metric": metric, "n": len(per[labels[0]][metric])}
        for lab in labels:
            v = per[lab][metric]
            lo, hi = stats.bootstrap_ci(v, n_resamples=args.n_resamples, seed=args.seed)
            row[lab] = f"{v.mean():.3f} [{lo:.3f}, {hi:.3f}]"
        rows.append(row)
    tests = []
    for ref in labels[:2]:
        for lab in labels:
            if lab == ref or (ref != labels[0] and lab == labels[0]):
                continue
            for metric in per[lab]:
                c = stats.paired_bootstrap(per[ref][metric], per[lab][metric], n_resamples=args.n_resamples,
                                           seed=args.seed)
                tests.append({"comparison": f"{lab} - {ref}", "metric": metric, "delta": f"{c.delta:+.3f}",
                              "95% CI": f"[{c.ci_low:+.3f}, {c.ci_high:+.3f}]", "p": f"{c.p_value:.3f}",
                              "significant": "yes" if c.significant() else "no"})
    (args.out / "results.json").write_text(json.dumps({"systems": args.system, "table": rows, "tests": tests,
                                                       "loads": loads}, indent=1), "utf-8")
    minutes = (time.time() - t0) / 60
    cmd = "`.venv/bin/python benchmarks/bench_alignment.py " + " ".join(f"--system {s}" for s in args.system) + "`"
    body = [f"{cmd} ({note}; load average {min(loads):.1f}-{max(loads):.1f} during the evaluation, "
            f"{minutes:.0f} min).",
            f"Held-out prompts of `srllm data align` (seed 0): {len(sets['harmful'])} harmful requests of held-out "
            f"clusters (sample), {len(sets['nq-open'])} NQ-open questions (sample), {len(sets['risky-safe'])} "
            "risky-looking safe prompts. Greedy decoding, "
            f"{args.max_new_tokens} new tokens, the prompt as the only user turn. Judge: {judge.name} (threshold "
            f"{judge.threshold:g}); refusals from its refusal head. 95% bootstrap CIs; paired bootstrap tests.",
            *( [args.note] if args.note else []),
            markdown_table(rows), *([markdown_table(tests)] if tests else []),
            "Responses drawn at random (seed 0) from each system, good and bad, as generated (cut at 240 characters); "
            "all of them in `" + str(args.out / "samples.jsonl") + "`:",
            quoted_samples(samples, seed=args.seed)]
    if not args.no_doc:
        update_section(args.title, "\n\n".join(body))
    print("\n\n".join(body))


if __name__ == "__main__":
    main()
