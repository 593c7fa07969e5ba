"""The RAFT configuration: `SftConfig`'s model, PEFT, optimisation and bookkeeping fields (used by each round's
fine-tuning) plus the sampling and reward ones. One dataclass is the Python API, the `srllm train raft` options and
the YAML file (srllm.config.load_config)."""

from __future__ import annotations

from dataclasses import dataclass

from srllm.errors import SrllmConfigError
from srllm.train.sft_config import SftConfig
from srllm.train.sft_config import help_field as _f

__all__ = ["RaftConfig", "TASKS"]

TASKS = ("response", "rewrite")


@dataclass
class RaftConfig(SftConfig):
    """Reward-ranked fine-tuning (RAFT, Dong et al. 2023): per round, sample k responses per prompt, score them,
    keep each prompt's best above a floor, fine-tune the adapter on them; repeat."""

    prompts: str | None = _f(None, "Prompts JSONL: for task response, rows with id, prompt (and label harmful/benign, "
                                   "split) as `srllm data align` writes; for task rewrite, a CMD JSONL (id, text).")
    task: str = _f("response", "response (answer the prompt as an assistant) or rewrite (the SR rewrite prompt).")
    reward: str = _f("judge", "Reward: judge (the shipped response judge), judge:FOLDER|--judge value, rewrite "
                              "(detector safety x similarity x fluency), rewrite-nofl, or module:function.")
    rounds: int = _f(2, "Rounds of sample -> reward -> keep -> fine-tune.")
    k: int = _f(4, "Samples per prompt per round.")
    prompts_per_round: int = _f(128, "Prompts drawn (seeded, different each round) from the train split per round.")
    temperature: float = _f(0.8, "Sampling temperature.")
    top_p: float = _f(0.95, "Nucleus sampling top-p.")
    max_new_tokens: int = _f(96, "New tokens per sample.")
    gen_batch_size: int = _f(16, "Conversations per generation batch.")
    floor: float = _f(0.5, "Keep a prompt's best sample only if its reward is at least this.")
    include_greedy: bool = _f(True, "Also score the greedy response as one of the candidates.")
    adapter: str = _f("none", "Adapter to start round 1 from (e.g. the SIT adapter); 'none' starts a fresh LoRA.")
    data: str | None = _f(None, "Not used by RAFT (each round writes its own SFT data).")
    eval_split: str = _f("", "Not used by RAFT (each round trains on its kept samples).")
    epochs: float = _f(1.0, "Epochs over each round's kept samples.")
    batch_size: int = _f(8, "Examples per optimiser step in each round's fine-tuning.")
    learning_rate: float = _f(1e-4, "Peak learning rate of each round's fine-tuning.")
    lr_scheduler: str = _f("constant", "Learning-rate schedule of each round.")
    warmup_ratio: float = _f(0.0, "Warm-up share of each round.")
    shared_prefix: bool = _f(False, "Shared-prefix speed-up (pays off with a long shared system prompt: task rewrite).")
    output_dir: str = _f("runs/raft", "round-N/ folders (samples, kept data, adapter), raft_log.jsonl, the final "
                                      "adapter (<output_dir>/adapter) and reward_curve.png.")

    def __post_init__(self):
        super().__post_init__()
        if self.task not in TASKS:
            raise SrllmConfigError(f"task '{self.task}' is not one of {', '.join(TASKS)}")
        if self.mix:
            raise SrllmConfigError("RAFT builds each round's data itself; --mix is not used (give --prompts)")
        for name in ("rounds", "k", "prompts_per_round", "max_new_tokens", "gen_batch_size"):
            if getattr(self, name) < 1:
                raise SrllmConfigError(f"{name}={getattr(self, name)} must be >= 1")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise SrllmConfigError("temperature must be > 0 and top_p in (0, 1]")
