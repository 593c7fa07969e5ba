"""Rewriting: the trained SR adapter vs prompting the same base model, and vs returning the input unchanged.

    .venv/bin/python benchmarks/compare_rewriters.py [--out runs/eval-rewriters] [--split test|dev]
        [--paradetox-n 300] [--neutral-n 128] [--systems ...] [--adapter default] [--no-record]

Runs one `srllm eval` (srllm.evaluate.run_eval; the command it equals is printed and recorded), prints its tables
(srllm.evaluate.report.rewriting_markdown) and, on the test split, records them as the section "Rewriting: adapter
vs prompting" of docs/benchmarks.md and of the adapter's model card. --split dev scores the dev split (for choosing
adapters and policies without looking at test) and records nothing. Generations are cached in --out/cache.

Systems (srllm.evaluate.systems): identity (the input unchanged); zero-shot, the embedded SmolLM2-135M-Instruct
with the SR_LLM rewrite prompt (srllm.rewrite.prompts.build_messages); few-shot, the same with FEW_SHOT_EXAMPLES;
adapter, the same model + the adapter, zero-shot prompt (as at inference); pipeline, the whole `srllm check`
(srllm.guard.Guard.check: detector gate, so a text it finds safe comes back unchanged; adapter rewrite; re-check;
strict retry; span edit; sampled rewrites as a last resort; its gate is also the STA judge, so its STA is
favourable by construction); reference, the first human reference, for scale. Greedy generation, batches of 16,
token budget by input length (32-256), every LLM output cleaned by srllm.rewrite.clean_rewrite.

Sets (srllm.evaluate.rewrite_data, the splits of `srllm data build`): SR_LLM's infer_50.csv (53 texts, one human
rewrite each); a seeded sample of the ParaDetox test split (all human rewrites as references); for over-correction,
a seeded sample of the neutral human rewrites of the ParaDetox test split. Samples: srllm.evaluate.suites.sample_items
(seed 0, nested, in file order), as every `srllm eval --limit`. Metrics (docs/evaluation.md): STA = 1 - the shipped
detector's decision; SIM = MiniLM cosine (0 for a blank output); FL = perplexity under the embedded SmolLM2 at or
below FL_PPL_THRESHOLD; J = mean of STA_i*SIM_i*FL_i; BLEU = sacrebleu corpus BLEU, multi-reference; 95% bootstrap
CIs over items and paired bootstrap deltas (1000 resamples, seed 0).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_note, update_section  # noqa: E402

from srllm.evaluate import EvalConfig, run_eval  # noqa: E402
from srllm.evaluate.report import rewriting_markdown  # noqa: E402

SYSTEMS = "identity,zero-shot,few-shot,adapter,pipeline,reference"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/eval-rewriters"))
    ap.add_argument("--split", choices=("test", "dev"), default="test")
    ap.add_argument("--paradetox-n", type=int, default=300, help="0: the whole split")
    ap.add_argument("--neutral-n", type=int, default=128, help="0: every neutral text of the split")
    ap.add_argument("--systems", default=SYSTEMS)
    ap.add_argument("--adapter", default="default", help="'default' (the shipped adapter) or a folder")
    ap.add_argument("--no-record", action="store_true", help="do not write docs/benchmarks.md")
    args = ap.parse_args()
    suffix = "" if args.split == "test" else "-dev"
    limits = {name: n for name, n in ((f"paradetox-{args.split}", args.paradetox_n),
                                      (f"paradetox-neutral{suffix}", args.neutral_n)) if n > 0}
    cfg = EvalConfig(suites="detox", systems=args.systems, adapter=args.adapter, split=args.split,
                     suite_limits=limits, threads=1, out=args.out)
    command = ["srllm", "eval", "--suite", "detox", "--systems", args.systems]
    command += ["--adapter", args.adapter] if args.adapter != "default" else []
    command += ["--split", args.split] if args.split != "test" else []
    command += [x for name, n in limits.items() for x in ("--limit-for", f"{name}={n}")]
    command = shlex.join([*command, "--threads", "1", "--out", str(args.out)])
    print(f"$ {command}", flush=True)
    note = machine_note()
    results = run_eval(cfg)
    tables = rewriting_markdown(results)
    print(tables)
    if args.split != "test" or args.no_record:
        return
    seconds = results["suites"]["detox"]["seconds"]
    systems = "; ".join(f"{label}: {name}" for label, name in results["systems"].items())
    body = (f"Command: `{command}` ({note}; {seconds:.0f} s, generation included), recorded by "
            f"`benchmarks/compare_rewriters.py`. Systems: {systems}.\n\n"
            + "\n\n".join(__doc__.split("\n\n")[3:]).strip() + "\n\n" + tables)
    update_section("Rewriting: adapter vs prompting", body)
    from srllm.models import default_adapter_dir

    card = Path(default_adapter_dir() if args.adapter == "default" else args.adapter) / "README.md"
    if card.is_file():  # the adapter's own model card carries the same measurement
        update_section("Measured (benchmarks/compare_rewriters.py)", body, doc=card)


if __name__ == "__main__":
    main()
