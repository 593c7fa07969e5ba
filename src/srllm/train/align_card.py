"""The card (README.md) a DPO or RAFT run writes beside its adapter: what the adapter is for, the exact command,
the data, the run's figures and the config."""

from __future__ import annotations

import json
from pathlib import Path

from srllm.atomic import write_text_atomic

__all__ = ["alignment_card", "write_alignment_card"]

_PURPOSE = {
    "dpo": "Trained with `srllm train dpo` (TRL DPOTrainer + LoRA; reference = the base model with the adapter "
           "disabled, or a frozen copy of the start adapter) on preference pairs from `srllm data pairs`.",
    "raft": "Trained with `srllm train raft` (reward-ranked fine-tuning, Dong et al. 2023): rounds of sampling k "
            "responses per prompt, scoring them with a reward, keeping the best above a floor and fine-tuning on "
            "them.",
}


def alignment_card(summary: dict, *, command: str | None = None) -> str:
    cfg, method = summary["config"], summary["method"]
    base = summary.get("base_model_id") or cfg.get("model")
    lines = ["---", f"base_model: {base}", "library_name: peft", f"tags: [srllm, lora, {method}, safety]", "---", "",
             f"# {method.upper()} adapter for {base}", "", _PURPOSE[method], ""]
    if command:
        lines += ["```bash", command, "```", ""]
    skip = {"config", "log_history", "rounds", "method"}
    lines += [f"- {k.replace('_', ' ')}: {v}" for k, v in summary.items() if k not in skip]
    if summary.get("rounds"):
        lines += ["", "| round | prompts | mean reward | best-of-k reward | kept | SFT loss |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['round']} | {r['prompts']} | {r['mean_reward']:.3f} | {r['best_of_k_reward']:.3f} | "
                  f"{r['kept_share']:.3f} | {r.get('train_loss') if r.get('train_loss') is not None else ''} |"
                  for r in summary["rounds"]]
    lines += ["", "## Config", "", "```yaml", *(f"{k}: {json.dumps(v)}" for k, v in cfg.items()), "```", ""]
    return "\n".join(lines)


def write_alignment_card(adapter_dir: str | Path, summary: dict, *, command: str | None = None) -> Path:
    path = Path(adapter_dir) / "README.md"
    write_text_atomic(path, alignment_card(summary, command=command))
    return path
