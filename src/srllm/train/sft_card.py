"""The model card (README.md) every SFT run writes beside its adapter: base model, method, data, the exact
config, time, throughput and losses, so an adapter folder says how it was made."""

from __future__ import annotations

import json
from pathlib import Path

from srllm.atomic import write_text_atomic

__all__ = ["adapter_card", "write_adapter_card"]


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return str(v)


def adapter_card(summary: dict, *, command: str | None = None, data_counts: dict | None = None,
                 data_command: str | None = None) -> str:
    """Markdown for an adapter trained as `summary` (the summary.json of `train_sft`) says; `data_command` is the
    `srllm data build` line that made its data."""
    cfg = summary["config"]
    minutes = summary["seconds"] / 60
    lines = [
        "---",
        f"base_model: {summary.get('base_model_id') or cfg['model']}",
        "library_name: peft",
        "tags: [srllm, lora, detoxification, debiasing, sr_llm]",
        "---",
        "",
        f"# SR adapter ({cfg['method']}) for {summary.get('base_model_id') or cfg['model']}",
        "",
        "Rewrites unsafe text (toxic, biased) into a benign version that keeps its meaning, with the SR_LLM "
        "instruction prompt of `srllm.rewrite.prompts` (the same prompt at training and inference). Trained with "
        "`srllm train sft` (TRL SFTTrainer + PEFT), loss on the response only.",
        "",
        "## How it was made",
        "",
    ]
    if command or data_command:
        lines += ["```bash", *(c for c in (data_command, command) if c), "```", ""]
    lines += [
        f"- Data: `{cfg.get('data') or cfg.get('mix')}`, split `{cfg['train_split']}`: "
        f"{summary['train_examples']} examples (at most {cfg['max_length']} tokens), "
        f"dev `{cfg['eval_split']}`: {summary['eval_examples']} examples.",
        f"- Run: {summary['steps']} optimiser steps of {cfg['batch_size']} x {cfg['grad_accum']} examples, "
        f"{_fmt(cfg['epochs'])} epoch(s), lr {_fmt(cfg['learning_rate'])} ({cfg['lr_scheduler']}, warm-up "
        f"{_fmt(cfg['warmup_ratio'])}), seed {cfg['seed']}.",
        f"- Time: {minutes:.1f} min; {summary['tokens']:,} tokens, {summary['tokens_per_second']:.0f} tokens/s"
        f"{' (bf16 autocast)' if cfg.get('bf16') else ' (fp32)'}.",
        f"- Loss: train {_fmt(summary.get('train_loss'))}, dev {_fmt(summary.get('eval_loss'))}.",
    ]
    if data_counts:
        lines += ["", "Examples in the data file, by source and split:", "",
                  "| source | " + " | ".join(next(iter(data_counts.values())).keys()) + " |",
                  "|---|" + "---|" * len(next(iter(data_counts.values())))]
        lines += [f"| {src} | " + " | ".join(str(v) for v in row.values()) + " |" for src, row in data_counts.items()]
    lines += ["", "## Config", "", "```yaml"]
    lines += [f"{k}: {json.dumps(v)}" for k, v in cfg.items()]
    lines += ["```", ""]
    return "\n".join(lines)


def write_adapter_card(adapter_dir: str | Path, summary: dict, *, command: str | None = None) -> Path:
    """Write README.md into `adapter_dir`; the data's counts are read from `<data>.stats.json` when present."""
    counts, data_command = None, None
    data = summary["config"].get("data")
    if data:
        from srllm.data.build import stats_path

        sp = stats_path(data)
        if sp.is_file():
            stats = json.loads(sp.read_text("utf-8"))
            counts, data_command = stats.get("by_source_split"), stats.get("command")
    path = Path(adapter_dir) / "README.md"
    write_text_atomic(path, adapter_card(summary, command=command, data_counts=counts, data_command=data_command))
    return path
