"""SFT training throughput on this CPU: tokens/s of LoRA training of the embedded SmolLM2-135M, fp32 vs bf16
autocast, with and without the shared-prefix speed-up, and with gradient checkpointing (TRL's default).

    .venv/bin/python benchmarks/bench_train.py [--data runs/cmd.jsonl] [--steps 6] [--budget 240] [--no-record]

Each configuration trains on the same seeded sample of the CMD train split (batch 16, LoRA r 8 on all linear
layers, max length 320) for --steps optimiser steps after one warm-up step, or until --budget seconds have
passed (at least one timed step). Tokens are the real tokens of the examples (prompt + response, no padding),
so the shared-prefix rows count the same tokens as the plain ones: tokens/s is data throughput.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_note, markdown_table, update_section  # noqa: E402

CONFIGS = [
    ("fp32, shared prefix", dict(bf16=False, shared_prefix=True)),
    ("fp32, plain TRL forward", dict(bf16=False, shared_prefix=False)),
    ("fp32, plain, gradient checkpointing", dict(bf16=False, shared_prefix=False, gradient_checkpointing=True)),
    ("bf16 autocast, shared prefix", dict(bf16=True, shared_prefix=True)),
]


def cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    wanted = [f for f in flags if f.startswith(("avx", "amx")) or f in ("fma", "f16c")]
    return " ".join(sorted(wanted)) or "none"


def run(name: str, overrides: dict, data: str, steps: int, budget: float) -> dict:
    from transformers import TrainerCallback

    from srllm.train.sft import build_trainer
    from srllm.train.sft_config import SftConfig

    out = tempfile.mkdtemp(prefix="bench-train-")
    cfg = SftConfig(data=data, output_dir=out, max_train_samples=16 * (steps + 1), eval_split="", batch_size=16,
                    max_steps=steps + 1, save_steps=10_000, logging_steps=10_000, report_to="none", max_length=320,
                    seed=0, **overrides)
    trainer = build_trainer(cfg)
    marks: list[tuple[float, int]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            marks.append((time.perf_counter(), trainer._total_train_tokens))
            if len(marks) >= 2 and marks[-1][0] - marks[0][0] > budget:
                control.should_training_stop = True

    trainer.add_callback(Clock())
    trainer.train()
    shutil.rmtree(out, ignore_errors=True)
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    return {"configuration": name, "timed steps": len(marks) - 1, "tokens": n1 - n0, "seconds": t1 - t0,
            "tokens/s": (n1 - n0) / (t1 - t0), "s/step": (t1 - t0) / (len(marks) - 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="runs/cmd.jsonl")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--budget", type=float, default=240.0, help="seconds per configuration (after warm-up)")
    ap.add_argument("--only", default=None, help="comma-separated configuration numbers (1-based)")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    note = machine_note()
    chosen = [CONFIGS[int(i) - 1] for i in args.only.split(",")] if args.only else CONFIGS
    rows = []
    for name, overrides in chosen:
        rows.append(run(name, overrides, args.data, args.steps, args.budget))
        print(rows[-1], flush=True)
    table = markdown_table(rows)
    print(table)
    if not args.no_record:
        import torch

        body = (f"Command: `.venv/bin/python benchmarks/bench_train.py --steps {args.steps} --budget {args.budget:g}`"
                f" ({note}; torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY="
                f"{os.environ.get('OMP_WAIT_POLICY')}). CPU flags: {cpu_flags()}; torch CPU capability "
                f"{torch.backends.cpu.get_cpu_capability()}.\n\n" + __doc__.split("\n\n", 2)[2].strip()
                + "\n\n" + table)
        update_section("SFT training throughput", body)


if __name__ == "__main__":
    main()
