"""Direct preference optimisation (Rafailov et al. 2023) of a causal LM with a LoRA adapter, on TRL's DPOTrainer.

Pairs are conversational: prompt messages, a chosen and a rejected assistant reply, rendered by the model's chat
template (`srllm data pairs` writes them; rewriting pairs carry the rewrite prompt, response pairs the user's
request). The reference model is never loaded twice: with `adapter: none` TRL wraps the base model in a fresh LoRA
and computes reference log-probabilities with the adapter disabled; with an SFT adapter it trains that adapter and
keeps a frozen copy of it (PEFT adapter "ref") as the reference, which is removed before saving.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from srllm.data.mix import mix_rows
from srllm.data.sources import read_jsonl
from srllm.errors import SrllmDataError
from srllm.train.align_card import write_alignment_card
from srllm.train.dpo_config import DpoConfig
from srllm.train.sft import common_args, embedded_hub_id, prepare_run, save_adapter, start_policy, start_run

__all__ = ["DpoResult", "to_preference", "load_pairs", "build_dpo_trainer", "train_dpo"]


@dataclass
class DpoResult:
    adapter_dir: Path
    train_pairs: int
    eval_pairs: int
    steps: int
    seconds: float
    train_loss: float | None
    log_history: list[dict]


def _messages(value, role: str, *, file: str, line, name: str) -> list[dict]:
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list) and value and all(isinstance(m, dict) and "content" in m for m in value):
        return value
    raise SrllmDataError(f"`{name}` must be a string or a list of chat messages", file=file, line=line, field=name)


def to_preference(row: dict, *, file: str = "?") -> dict:
    """{'prompt': [messages], 'chosen': [assistant], 'rejected': [assistant]} from a pairs row."""
    line = row.get("_line")
    missing = [k for k in ("prompt", "chosen", "rejected") if k not in row]
    if missing:
        raise SrllmDataError(f"a preference row needs prompt, chosen and rejected; missing {', '.join(missing)}",
                             file=file, line=line)
    out = {"prompt": _messages(row["prompt"], "user", file=file, line=line, name="prompt"),
           "chosen": _messages(row["chosen"], "assistant", file=file, line=line, name="chosen"),
           "rejected": _messages(row["rejected"], "assistant", file=file, line=line, name="rejected")}
    if out["chosen"][-1]["content"].strip() == out["rejected"][-1]["content"].strip():
        raise SrllmDataError("chosen and rejected are the same reply", file=file, line=line)
    return out


def load_pairs(path: str | None, *, mix: str | None = None, split: str = "train", max_samples: int | None = None,
               seed: int = 0, allow_empty: bool = False) -> list[dict]:
    """The preference pairs of one split (rows without a split count as train), optionally a seeded sample."""

    def in_split(row: dict) -> bool:
        return row.get("split", "train") == split

    rows = mix_rows(mix, seed=seed, row_filter=in_split)[0] if mix else \
        [r for r in read_jsonl(path, line_key="_line") if in_split(r)]
    pairs = [to_preference(r, file=r.get("_mix_source", str(path))) for r in rows]
    if max_samples is not None and len(pairs) > max_samples:
        pairs = random.Random(seed).sample(pairs, max_samples)
    if not pairs and not allow_empty:
        raise SrllmDataError(f"no preference pairs in split '{split}'", file=str(path or mix))
    return pairs


def build_dpo_trainer(cfg: DpoConfig):
    """The configured DPOTrainer, not yet trained."""
    prepare_run(cfg, "PAIRS.jsonl (from `srllm data pairs`)")
    from datasets import Dataset
    from trl import DPOConfig as TrlDpoConfig
    from trl import DPOTrainer

    train = load_pairs(cfg.data, mix=cfg.mix, split=cfg.train_split, max_samples=cfg.max_train_samples, seed=cfg.seed)
    dev = load_pairs(cfg.data, mix=cfg.mix, split=cfg.eval_split, max_samples=cfg.max_eval_samples, seed=cfg.seed,
                     allow_empty=True) if cfg.eval_split else []
    model, tokenizer, name, peft = start_policy(cfg)
    args = TrlDpoConfig(**common_args(cfg, has_eval=bool(dev)), max_length=cfg.max_length, beta=cfg.beta,
                        loss_type=list(cfg.loss_type), loss_weights=list(cfg.loss_weights) or None,
                        label_smoothing=cfg.label_smoothing, precompute_ref_log_probs=cfg.precompute_ref_log_probs)
    trainer = DPOTrainer(model=model, args=args, processing_class=tokenizer, peft_config=peft,
                         train_dataset=Dataset.from_list(train), eval_dataset=Dataset.from_list(dev) if dev else None)
    trainer.base_model_path = name
    print(f"preference pairs: {len(trainer.train_dataset)} train, {len(dev)} dev; reference: "
          + ("base model (adapter disabled)" if peft is not None else f"frozen copy of {cfg.adapter}"), flush=True)
    return trainer


def train_dpo(cfg: DpoConfig, *, command: str | None = None) -> DpoResult:
    """Train as `cfg` says; save the adapter (without the reference copy) with a card and summary.json."""
    last = start_run(cfg)
    out_dir = Path(cfg.output_dir)
    trainer = build_dpo_trainer(cfg)
    start = time.time()
    out = trainer.train(resume_from_checkpoint=last if cfg.resume else None)
    seconds = time.time() - start
    model = trainer.model
    if "ref" in getattr(model, "peft_config", {}):
        model.delete_adapter("ref")
    base_id = embedded_hub_id(cfg.model)
    adapter_dir = save_adapter(model, out_dir / "adapter", dtype=cfg.save_dtype, base_model_id=base_id)
    result = DpoResult(adapter_dir=adapter_dir, train_pairs=len(trainer.train_dataset),
                       eval_pairs=len(trainer.eval_dataset or []), steps=trainer.state.global_step,
                       seconds=round(seconds, 1), train_loss=out.training_loss, log_history=trainer.state.log_history)
    summary = {"method": "dpo", "config": cfg.to_dict(), "base_model": trainer.base_model_path,
               "base_model_id": base_id,
               **{k: str(v) if isinstance(v, Path) else v for k, v in result.__dict__.items()}}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    write_alignment_card(adapter_dir, summary, command=command)
    return result
