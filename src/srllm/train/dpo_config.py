"""The DPO configuration: `SftConfig`'s model, PEFT, optimisation and bookkeeping fields plus the preference ones.
One dataclass is the Python API, the `srllm train dpo` options and the YAML file (srllm.config.load_config)."""

from __future__ import annotations

from dataclasses import dataclass

from srllm.errors import SrllmConfigError
from srllm.train.sft_config import SftConfig
from srllm.train.sft_config import help_field as _f

__all__ = ["DpoConfig", "LOSS_TYPES"]

# TRL 1.x DPOConfig.loss_type values that need no extra inputs.
LOSS_TYPES = ("sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
              "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm")


@dataclass
class DpoConfig(SftConfig):
    """Direct preference optimisation (TRL DPOTrainer) with a LoRA adapter, on the base model or on top of an SFT
    adapter. The reference model is the PEFT one: a fresh adapter trains against the base model with the adapter
    disabled; an SFT adapter trains against a frozen copy of itself. Nothing else is loaded."""

    data: str | None = _f(None, "Preference JSONL (`srllm data pairs`): rows with prompt, chosen, rejected (strings or "
                                "chat messages).")
    mix: str | None = _f(None, "Mix of preference files instead of --data: 'responses.jsonl:0.7,rewrite.jsonl:0.3'.")
    max_length: int = _f(256, "Truncate prompt + response to this many tokens (prompts that fill it are dropped).")
    beta: float = _f(0.1, "DPO beta: higher keeps the policy closer to the reference.")
    loss_type: list[str] = _f(["sigmoid"], "TRL loss type(s), comma-separated: sigmoid (DPO), ipo, hinge, robust, "
                                           "apo_zero, sft, ... Several are summed with --loss-weights.")
    loss_weights: list[float] = _f([], "Weights of the loss types (default: 1 each), e.g. 1.0,0.2 for sigmoid,sft.")
    label_smoothing: float = _f(0.0, "Label smoothing (robust DPO: probability that a preference is flipped).")
    precompute_ref_log_probs: bool = _f(False, "Compute the reference log-probabilities once before training.")
    learning_rate: float = _f(5e-5, "Peak learning rate.")
    batch_size: int = _f(8, "Pairs per optimiser step per device (before gradient accumulation).")
    shared_prefix: bool = _f(False, "Not used by DPO (kept for the shared fields).")
    output_dir: str = _f("runs/dpo", "Checkpoints, logs and the final adapter (<output_dir>/adapter).")

    def __post_init__(self):
        if isinstance(self.loss_type, str):
            self.loss_type = [t.strip() for t in self.loss_type.split(",") if t.strip()]
        if isinstance(self.loss_weights, str):
            self.loss_weights = [float(w) for w in self.loss_weights.split(",") if w.strip()]
        super().__post_init__()
        self.shared_prefix = False
        if self.method == "prefix":
            raise SrllmConfigError("DPO here trains LoRA adapters (method lora, or qlora on a GPU), not prefix tuning")
        bad = [t for t in self.loss_type if t not in LOSS_TYPES]
        if bad or not self.loss_type:
            raise SrllmConfigError(f"loss_type {bad or '(empty)'}: choose from {', '.join(LOSS_TYPES)}")
        if self.loss_weights and len(self.loss_weights) != len(self.loss_type):
            raise SrllmConfigError(f"{len(self.loss_weights)} loss_weights for {len(self.loss_type)} loss types")
        if self.beta <= 0:
            raise SrllmConfigError(f"beta={self.beta} must be > 0")
        if not 0 <= self.label_smoothing < 0.5:
            raise SrllmConfigError(f"label_smoothing={self.label_smoothing} must be in [0, 0.5)")
