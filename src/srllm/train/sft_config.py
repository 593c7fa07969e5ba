"""The SFT configuration: one dataclass that is the Python API, the `srllm train sft` options and the YAML file.

`srllm.config.load_config(SftConfig, yaml_path, **flags)` reads a YAML file, lets flags given on the command line win,
and rejects a YAML key that is not a field (naming the key and the closest field).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from srllm.errors import SrllmConfigError

__all__ = ["SftConfig", "METHODS", "help_field"]

METHODS = ("lora", "prefix", "qlora")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")


def help_field(default: Any, help: str, **kw) -> Any:
    """A dataclass field with its help text (the CLI option's help); list defaults are copied per instance."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


_f = help_field


@dataclass
class SftConfig:
    """Instruction fine-tuning of a causal LM on rewrite pairs (SFT) or on a SIT mix, with a PEFT adapter."""

    # data
    data: str | None = _f(None, "CMD JSONL from `srllm data build` (rows with text + rewrite), or chat JSONL "
                                "(rows with `messages`) or prompt/completion JSONL.")
    mix: str | None = _f(None, "SIT mix instead of --data: 'general.jsonl:0.8,safety.jsonl:0.2' (seeded).")
    mix_total: int | None = _f(None, "Rows of the --mix (a short file is repeated to reach its share); default: "
                                     "as many as the scarcest file allows without repeating.")
    train_split: str = _f("train", "Split of --data to train on (rows without a split count as train).")
    eval_split: str = _f("dev", "Split of --data to evaluate on during training ('' for none).")
    max_train_samples: int | None = _f(None, "Use at most this many training examples (seeded sample).")
    max_eval_samples: int | None = _f(200, "Use at most this many dev examples for the periodic eval.")
    max_length: int = _f(192, "Drop examples longer than this many tokens (prompt + response).")
    # model and method
    model: str = _f("default", "Base model: 'default' (embedded SmolLM2-135M-Instruct), a local path or a hub id.")
    method: str = _f("lora", "PEFT method: lora, prefix (prefix tuning) or qlora (4-bit NF4, needs CUDA).")
    adapter: str = _f("none", "Keep training this adapter (a folder, or 'default' for the shipped rewrite adapter) "
                              "instead of a fresh one; 'none' starts a fresh adapter of --method.")
    lora_r: int = _f(8, "LoRA rank.")
    lora_alpha: int = _f(16, "LoRA alpha (scale = alpha / r).")
    lora_dropout: float = _f(0.05, "LoRA dropout.")
    target_modules: list[str] = _f(["all-linear"], "Modules LoRA adapts: 'all-linear' or names like q_proj,v_proj.")
    num_virtual_tokens: int = _f(20, "Prefix tuning: number of virtual tokens.")
    # optimisation
    epochs: float = _f(1.0, "Training epochs.")
    max_steps: int = _f(-1, "Stop after this many optimiser steps (-1: run the epochs).")
    batch_size: int = _f(16, "Examples per optimiser step per device (before gradient accumulation).")
    grad_accum: int = _f(1, "Gradient accumulation steps.")
    learning_rate: float = _f(4e-4, "Peak learning rate.")
    lr_scheduler: str = _f("cosine", "Learning-rate schedule: linear, cosine, constant, constant_with_warmup.")
    warmup_ratio: float = _f(0.05, "Share of steps with linear warm-up.")
    weight_decay: float = _f(0.0, "AdamW weight decay.")
    seed: int = _f(42, "Seed of sampling, shuffling and adapter initialisation.")
    bf16: bool = _f(False, "bf16 autocast (fp32 master weights). Helps on GPUs and CPUs with AVX-512 BF16/AMX.")
    gradient_checkpointing: bool = _f(False, "Recompute activations in backward (saves memory, costs time).")
    shared_prefix: bool = _f(True, "Run the prompt prefix every example shares once per batch and reuse its KV "
                                   "cache (exact; LoRA only). Cuts the compute of the long system prompt.")
    threads: int | None = _f(None, "torch CPU threads (default: torch's choice).")
    # bookkeeping
    output_dir: str = _f("runs/sft", "Checkpoints, TensorBoard logs, the final adapter (<output_dir>/adapter).")
    eval_steps: int = _f(100, "Evaluate on the dev split every this many steps.")
    save_steps: int = _f(100, "Save a checkpoint every this many steps.")
    save_total_limit: int = _f(2, "Keep at most this many checkpoints.")
    logging_steps: int = _f(10, "Log loss, learning rate and throughput every this many steps.")
    resume: bool = _f(False, "Continue from the last checkpoint in output_dir.")
    save_dtype: str = _f("float32", "dtype of the saved adapter weights: float32, float16 or bfloat16.")
    report_to: str = _f("tensorboard", "Where to log: tensorboard or none.")

    def __post_init__(self):
        if isinstance(self.target_modules, str):
            self.target_modules = [m.strip() for m in self.target_modules.split(",") if m.strip()]
        if self.method not in METHODS:
            raise SrllmConfigError(f"method '{self.method}' is not one of {', '.join(METHODS)}")
        if self.lr_scheduler not in SCHEDULERS:
            raise SrllmConfigError(f"lr_scheduler '{self.lr_scheduler}' is not one of {', '.join(SCHEDULERS)}")
        if self.save_dtype not in ("float32", "float16", "bfloat16"):
            raise SrllmConfigError(f"save_dtype '{self.save_dtype}' must be float32, float16 or bfloat16")
        if self.report_to not in ("tensorboard", "none"):
            raise SrllmConfigError(f"report_to '{self.report_to}' must be tensorboard or none")
        if self.data and self.mix:
            raise SrllmConfigError("give --data or --mix, not both")
        for name in ("lora_r", "lora_alpha", "batch_size", "grad_accum", "max_length", "num_virtual_tokens",
                     "eval_steps", "save_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise SrllmConfigError(f"{name}={getattr(self, name)} must be >= 1")
        if not 0 <= self.lora_dropout < 1 or not 0 <= self.warmup_ratio < 1:
            raise SrllmConfigError("lora_dropout and warmup_ratio must be in [0, 1)")
        if self.learning_rate <= 0 or (self.epochs <= 0 and self.max_steps <= 0):
            raise SrllmConfigError("learning_rate must be > 0, and epochs or max_steps must be > 0")
        if self.method == "prefix":
            self.shared_prefix = False  # prefix tuning owns the KV cache itself

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
