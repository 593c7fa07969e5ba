"""Stereotype rewriting (issue 13): what `srllm check` does with stereotype statements it has never seen, recorded as
the "Stereotype rewriting (held-out)" section of docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_stereotype_rewrite.py [--data FILE.jsonl] [--n 300] [--seed 13] [--exclude F]
                                                            [--out runs/stereo-rewrite] [--samples 30] [--no-record]
                                                            [-- extra srllm check options]

Statements: by default `--n` stereotype statements (label 1) of the held-out stereotype set
(`srllm.data.sources.heldout_stereotypes`, shipped), drawn with random.Random(seed) evenly over its kinds of group;
`--data` takes any JSONL with `text` (and optionally `kind`), e.g. a dev split. Each is run through the real CLI
(`srllm check -i ... -o ...`: detector gate, default adapter and options; resumable), then scored:

- shares of the actions (kept = not flagged; rewritten / reframed / edited = an accepted output; failed = blocked),
  over all statements and over the flagged ones;
- fragments among changed outputs, by two judges: `srllm.rewrite.quality.fragment` (the pipeline's own rule, so it
  cannot show what the rule misses) and the FL judge (perplexity under the embedded SmolLM2 above the detox suite's
  threshold); the samples quoted are read by hand as a third;
- STA (detector), SIM (MiniLM cosine with the input), FL and J = mean of STA*SIM*FL, as in the detox suite, with 95%
  bootstrap intervals, over all statements and over the flagged ones;
- per kind of group: flagged, accepted and failed shares.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_note, markdown_table, update_section  # noqa: E402

from srllm.data.sources import heldout_stereotypes, iter_jsonl  # noqa: E402
from srllm.evaluate import metrics as M  # noqa: E402
from srllm.evaluate import stats  # noqa: E402
from srllm.models.lm_scoring import fl_scorer  # noqa: E402
from srllm.rewrite.quality import fragment  # noqa: E402

ACCEPTED = ("rewritten", "reframed", "edited")
ROOT = Path(__file__).resolve().parents[1]


def statements(data: Path | None, n: int, seed: int, exclude: list[Path] = ()) -> list[dict]:
    if data is not None:
        return [{"id": d.get("id") or f"L{line}", "text": d["text"], "kind": d.get("kind") or ""}
                for line, d in iter_jsonl(data)]
    seen = {d["text"] for path in exclude for _line, d in iter_jsonl(path)}
    by_kind = defaultdict(list)
    for item in heldout_stereotypes():
        if item.label == 1 and item.text not in seen:
            by_kind[item.kind or "other"].append(item)
    rng = random.Random(seed)
    for items in by_kind.values():
        rng.shuffle(items)
    out, kinds = [], sorted(by_kind)
    while len(out) < n and any(by_kind.values()):  # round-robin over kinds: every kind as evenly as it can
        for kind in kinds:
            if by_kind[kind] and len(out) < n:
                item = by_kind[kind].pop()
                out.append({"id": f"heldout-{len(out):03d}", "text": item.text, "kind": kind})
    return out


def run_check(items: list[dict], out_dir: Path, extra: list[str]) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs, outputs = out_dir / "inputs.jsonl", out_dir / "outputs.jsonl"
    inputs.write_text("".join(json.dumps({"id": it["id"], "text": it["text"]}) + "\n" for it in items), "utf-8")
    srllm = Path(sys.executable).with_name("srllm")
    subprocess.run([str(srllm), "check", "-i", str(inputs), "-o", str(outputs), *extra], check=True)
    by_id = {d["id"]: d for _line, d in iter_jsonl(outputs)}
    return [by_id[it["id"]] for it in items]


def ci(values) -> str:
    values = np.asarray(values, dtype=float)
    if not values.size:
        return "-"
    lo, hi = stats.bootstrap_ci(values)
    return f"{values.mean():.3f} [{lo:.3f}, {hi:.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--exclude", type=Path, action="append", default=[],
                    help="a JSONL with `text` (e.g. an earlier run's inputs.jsonl): its statements are not drawn, "
                         "for a fresh sample disjoint from one already read")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "stereo-rewrite")
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--title", default="Stereotype rewriting (held-out)")
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("extra", nargs="*", help="options passed on to srllm check (after --)")
    args = ap.parse_args()

    items = statements(args.data, args.n, args.seed, args.exclude)
    results = run_check(items, args.out, args.extra)
    texts = [r["text"] for r in results]
    outs = [r["output"] for r in results]
    actions = [r["action"] for r in results]
    flagged = np.array([a != "kept" for a in actions])
    changed = [i for i, a in enumerate(actions) if a in ACCEPTED]

    from srllm.detect import Detector

    detector = Detector()
    sta_i = 1.0 - detector.is_unsafe(outs).astype(float)
    sim_i = M.sim(texts, outs)
    ppl = fl_scorer()(outs)
    fl_i = M.fl(perplexities=ppl)
    j_i = M.j_items(sta_i, sim_i, fl_i)
    rule_fragments = [i for i in changed if fragment(texts[i], outs[i])]
    fl_fragments = [i for i in changed if fl_i[i] < 0.5]

    counts = Counter(actions)
    n, nf = len(items), int(flagged.sum())
    rows = []
    for name, idx in (("all statements", np.arange(n)), ("flagged by the detector", np.flatnonzero(flagged))):
        m = len(idx)
        acc = sum(actions[i] in ACCEPTED for i in idx)
        rows.append({"set": name, "n": m, "accepted (rewritten/reframed/edited)": f"{acc / max(m, 1):.3f}",
                     "failed": f"{sum(actions[i] == 'failed' for i in idx) / max(m, 1):.3f}",
                     "STA": ci(sta_i[idx]), "SIM": ci(sim_i[idx]), "FL": ci(fl_i[idx]), "J": ci(j_i[idx])})
    kinds = sorted({it["kind"] for it in items})
    kind_rows = []
    for kind in kinds:
        idx = [i for i, it in enumerate(items) if it["kind"] == kind]
        fl_idx = [i for i in idx if flagged[i]]
        kind_rows.append({"kind": kind, "n": len(idx), "flagged": len(fl_idx),
                          "accepted of flagged": sum(actions[i] in ACCEPTED for i in fl_idx),
                          "failed": sum(actions[i] == "failed" for i in fl_idx)})
    rng = random.Random(args.seed)
    picked = rng.sample(range(n), min(args.samples, n))
    sample_rows = [{"#": k + 1, "kind": items[i]["kind"], "input": texts[i], "action": actions[i],
                    "output": outs[i] if actions[i] in ACCEPTED else "(same as input)",
                    "J": f"{j_i[i]:.2f}"} for k, i in enumerate(picked)]
    fragment_rows = [{"judge": "srllm.rewrite.quality.fragment (the pipeline's own rule)",
                      "fragments among changed outputs": f"{len(rule_fragments)} of {len(changed)}"},
                     {"judge": f"FL (perplexity > {M.FL_PPL_THRESHOLD:g} under the embedded SmolLM2)",
                      "fragments among changed outputs": f"{len(fl_fragments)} of {len(changed)}"}]
    source = (f"`--data {args.data}`" if args.data else
              f"{n} stereotype statements of the held-out stereotype set "
              "(`src/srllm/assets/stereotypes/heldout.jsonl`, "
              f"label 1), drawn with random.Random({args.seed}) evenly over its {len(kinds)} kinds of group")
    body = "\n\n".join([
        f"{source}, run through `srllm check -i {args.out.name}/inputs.jsonl -o {args.out.name}/outputs.jsonl "
        f"{' '.join(args.extra)}`".rstrip() + " (default adapter and options), then scored by "
        "`benchmarks/bench_stereotype_rewrite.py`. " + machine_note(),
        f"Actions: {dict(counts)}; {nf} of {n} flagged.",
        markdown_table(rows),
        "Fragments (an accepted output that is not a whole sentence where the input was one):\n\n"
        + markdown_table(fragment_rows),
        "Per kind of group (counts):\n\n" + markdown_table(kind_rows),
        f"{len(picked)} statements drawn at random (random.Random({args.seed})), verbatim:\n\n"
        + markdown_table(sample_rows),
    ])
    print(body)
    (args.out / "scores.json").write_text(json.dumps({"actions": dict(counts), "rows": rows, "kinds": kind_rows,
                                                      "fragments_rule": rule_fragments,
                                                      "fragments_fl": fl_fragments}, indent=1), "utf-8")
    if not args.no_record:
        update_section(args.title, body)


if __name__ == "__main__":
    main()
