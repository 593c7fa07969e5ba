"""Is `srllm check` byte-for-byte unchanged by a refactoring? Run it on the same dev texts before and after, compare.

    .venv/bin/python benchmarks/check_unchanged.py run runs/unchanged/before.jsonl    # on the old commit
    .venv/bin/python benchmarks/check_unchanged.py run runs/unchanged/after.jsonl     # on the new one
    .venv/bin/python benchmarks/check_unchanged.py compare runs/unchanged/before.jsonl runs/unchanged/after.jsonl

Inputs: from the CMD file of `srllm data build` (--data, default runs/cmd.jsonl), the dev split's ParaDetox texts
(a seeded sample of --paradetox-n, default 300) and every neutral ParaDetox dev text (keep-unchanged examples, 71 at
the default build), written with their record ids to <output folder>/inputs.jsonl. `run` calls the real command line,
`srllm check -i inputs.jsonl -o OUTPUT --id-field id` (rewriting on, the shipped defaults), so ids, the detector,
the rewrite policy and the writer are all in the comparison. `compare` exits 1 when any line differs and prints
the first differences.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path


def dev_inputs(data: Path, paradetox_n: int, seed: int) -> list[dict]:
    rows = [json.loads(line) for line in data.read_text("utf-8").splitlines() if line.strip()]
    dev = [r for r in rows if r.get("split") == "dev"]
    if not dev:
        raise SystemExit(f"{data} has no dev split; build it with `srllm data build --out {data}`")
    toxic = sorted((r for r in dev if r.get("source") == "paradetox"), key=lambda r: r["id"])
    if 0 < paradetox_n < len(toxic):
        toxic = sorted(random.Random(seed).sample(toxic, paradetox_n), key=lambda r: r["id"])
    neutral = sorted((r for r in dev if r.get("source") == "paradetox/neutral"), key=lambda r: r["id"])
    return [{"id": r["id"], "text": r["text"]} for r in toxic + neutral]


def run(output: Path, data: Path, paradetox_n: int, seed: int) -> None:
    inputs = output.parent / "inputs.jsonl"
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = dev_inputs(data, paradetox_n, seed)
    inputs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    srllm = Path(sys.executable).with_name("srllm")
    t0 = time.perf_counter()
    subprocess.run([str(srllm), "check", "-i", str(inputs), "-o", str(output), "--id-field", "id", "--restart"],
                   check=True)
    print(f"{len(rows)} texts -> {output} in {time.perf_counter() - t0:.0f} s")


def compare(a: Path, b: Path, show: int = 5) -> int:
    la, lb = a.read_bytes().splitlines(), b.read_bytes().splitlines()
    differ = [i for i in range(max(len(la), len(lb))) if i >= len(la) or i >= len(lb) or la[i] != lb[i]]
    print(f"{a}: {len(la)} lines; {b}: {len(lb)} lines; {len(differ)} differ")
    for i in differ[:show]:
        print(f"line {i + 1}:\n  - {la[i] if i < len(la) else '(none)'!r}\n  + {lb[i] if i < len(lb) else '(none)'!r}")
    return 1 if differ else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("output", type=Path)
    r.add_argument("--data", type=Path, default=Path("runs/cmd.jsonl"))
    r.add_argument("--paradetox-n", type=int, default=300)
    r.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = ap.parse_args()
    if args.cmd == "run":
        run(args.output, args.data, args.paradetox_n, args.seed)
    else:
        sys.exit(compare(args.a, args.b))


if __name__ == "__main__":
    main()
