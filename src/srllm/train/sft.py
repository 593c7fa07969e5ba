"""Instruction fine-tuning (SFT, and SIT on a mix) of a causal LM with a PEFT adapter, on TRL's SFTTrainer.

Examples are conversational prompt/completion pairs: the prompt is `srllm.rewrite.prompts.build_messages(text)`
(the same prompt as at inference), the completion the human rewrite, both rendered by the model's chat template.
TRL masks the prompt (labels -100) so the loss is on the response only.

`SharedPrefixSFTTrainer` adds one exact speed-up: every example starts with the same system prompt, so each batch
runs that shared prefix once, repeats its KV cache across the batch and runs only the rest of each example. The
loss and gradients equal a full forward's (tests check it); on this task it removes most of the compute.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from srllm.atomic import atomic_folder
from srllm.errors import SrllmConfigError, SrllmModelError
from srllm.train.sft_card import write_adapter_card
from srllm.train.sft_config import SftConfig
from srllm.train.sft_data import load_examples

__all__ = ["SftResult", "train_sft", "build_trainer", "shared_prefix_length", "check_qlora_available", "save_adapter",
           "peft_config", "load_model", "start_policy", "check_output_dir", "start_run", "prepare_run", "common_args",
           "embedded_hub_id", "EMBEDDED_HUB_ID"]

EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


@dataclass
class SftResult:
    adapter_dir: Path
    train_examples: int
    eval_examples: int
    steps: int
    seconds: float
    tokens: int
    tokens_per_second: float
    eval_loss: float | None
    train_loss: float | None
    log_history: list[dict]


def check_qlora_available() -> None:
    """QLoRA needs CUDA and bitsandbytes; say so before anything is loaded."""
    import torch

    if not torch.cuda.is_available():
        raise SrllmConfigError("method 'qlora' loads the base model in 4-bit NF4 with bitsandbytes, which needs a "
                               "CUDA GPU; this machine has none. Use --method lora (same adapter format) on CPU.")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as e:
        raise SrllmConfigError("method 'qlora' needs bitsandbytes: pip install bitsandbytes") from e


def shared_prefix_length(input_ids, attention_mask, labels) -> int:
    """Length P of the prefix all rows share that holds no label, such that label P is also masked (the
    prefix's last logits would predict it). 0 when there is nothing to share."""
    import torch

    valid = attention_mask.bool()
    same = (input_ids == input_ids[:1]) & valid & valid[:1]
    common = int(torch.cumprod(same.all(dim=0).int(), dim=0).sum())
    has_label = labels != -100
    if not has_label.any(dim=1).all():
        return 0
    first_label = int(has_label.int().argmax(dim=1).min())
    return max(0, min(common, first_label - 1))


def peft_config(cfg: SftConfig):
    """The PEFT config of `cfg.method` (LoRA, QLoRA's LoRA, or prefix tuning)."""
    from peft import LoraConfig, PrefixTuningConfig, TaskType

    if cfg.method == "prefix":
        return PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=cfg.num_virtual_tokens)
    targets = cfg.target_modules
    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                      lora_dropout=cfg.lora_dropout,
                      target_modules=targets[0] if targets == ["all-linear"] else list(targets))


def load_model(cfg: SftConfig):
    """(model, tokenizer, resolved name) of `cfg.model`, fp32 (4-bit NF4 for qlora), with a pad token."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from srllm.models.loading import from_pretrained, resolve_llm

    name = resolve_llm(cfg.model)
    tokenizer = from_pretrained(AutoTokenizer, name)
    kwargs = {"dtype": torch.float32}
    if cfg.method == "qlora":
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        kwargs = {"quantization_config": BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16), "dtype": torch.bfloat16}
        model = from_pretrained(AutoModelForCausalLM, name, **kwargs)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    else:
        model = from_pretrained(AutoModelForCausalLM, name, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        raise SrllmModelError(f"the tokenizer of '{name}' has no chat template; SFT renders the rewrite prompt with "
                              "it. Use an instruct model, or add a chat_template to its tokenizer_config.json")
    return model, tokenizer, name


def start_policy(cfg: SftConfig):
    """(model, tokenizer, name, peft_config): the base model and a fresh adapter's config, or (`cfg.adapter`) the
    base model wrapped in that adapter, trainable, and no config."""
    from srllm.models.loading import is_embedded_llm, resolve_adapter

    model, tokenizer, name = load_model(cfg)
    adapter = resolve_adapter(cfg.adapter, model_is_default=is_embedded_llm(cfg.model))
    if not adapter:
        return model, tokenizer, name, peft_config(cfg)
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(adapter), is_trainable=True), tokenizer, name, None


def _make_trainer_class():
    import torch
    import torch.nn.functional as F
    from trl import SFTTrainer

    class SharedPrefixSFTTrainer(SFTTrainer):
        """SFTTrainer that runs the prefix every example shares once per batch (see the module docstring)."""

        shared_prefix = True

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            mode = "train" if self.model.training else "eval"
            ids, mask, labels = inputs["input_ids"], inputs["attention_mask"], inputs["labels"]
            p = shared_prefix_length(ids, mask, labels) if self.shared_prefix and ids.shape[0] > 1 else 0
            if p < 2 or return_outputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            b, t = ids.shape
            pre = model(input_ids=ids[:1, :p], attention_mask=mask[:1, :p], use_cache=True, logits_to_keep=1)
            cache = pre.past_key_values
            cache.batch_repeat_interleave(b)
            first_label = int((labels != -100).int().argmax(dim=1).min())
            keep = t - first_label + 1  # logits at positions first_label-1 .. t-1
            out = model(input_ids=ids[:, p:], attention_mask=mask, past_key_values=cache, use_cache=True,
                        logits_to_keep=keep)
            logits = out.logits[:, :-1].float()
            target = labels[:, t - keep + 1:]
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100,
                                  reduction="sum")
            counted = (target != -100).sum()
            denom = num_items_in_batch if num_items_in_batch is not None else counted
            loss = nll / torch.as_tensor(denom).clamp(min=1)
            with torch.no_grad():
                correct = ((logits.argmax(-1) == target) & (target != -100)).sum()
                self._metrics[mode]["mean_token_accuracy"].append((correct / counted.clamp(min=1)).item())
            if mode == "train":
                self._total_train_tokens += int(mask.sum())
                self._computed_tokens = getattr(self, "_computed_tokens", 0) + p + int(mask[:, p:].sum())
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
            return loss

        def log(self, logs, start_time=None):
            if self.model.training and "loss" in logs:
                now, tokens = time.time(), self._total_train_tokens
                last_t, last_n = getattr(self, "_tps_mark", (getattr(self, "_train_start", now), 0))
                if now > last_t:
                    logs["tokens_per_second"] = round((tokens - last_n) / (now - last_t), 1)
                self._tps_mark = (now, tokens)
            super().log(logs, start_time)

    return SharedPrefixSFTTrainer


def save_adapter(model, out_dir: str | Path, *, dtype: str = "float32", base_model_id: str | None = None) -> Path:
    """Save a PEFT adapter as safetensors, weights cast to `dtype`, into `out_dir` (written beside, then renamed)."""

    import torch
    from safetensors.torch import load_file, save_file

    out = Path(out_dir)
    with atomic_folder(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        weights = tmp / "adapter_model.safetensors"
        if dtype != "float32":
            cast = getattr(torch, dtype)
            tensors = {k: v.to(cast) if v.is_floating_point() else v for k, v in load_file(weights).items()}
            save_file(tensors, weights, metadata={"format": "pt"})
        if base_model_id:
            conf_path = tmp / "adapter_config.json"
            conf = json.loads(conf_path.read_text())
            conf["base_model_name_or_path"] = base_model_id
            conf_path.write_text(json.dumps(conf, indent=2, sort_keys=True) + "\n")
    return out


def _last_checkpoint(output_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None


def check_output_dir(cfg: SftConfig) -> str | None:
    """The checkpoint to resume from (with --resume), or None; refuses to overwrite a run without --resume."""
    out_dir = Path(cfg.output_dir)
    last = _last_checkpoint(out_dir)
    if cfg.resume and last is None:
        raise SrllmConfigError(f"--resume: no checkpoint-* folder in {out_dir}; run without --resume to start")
    if not cfg.resume and last is not None:
        raise SrllmConfigError(f"{out_dir} already holds {Path(last).name}; pass --resume to continue it, or choose "
                               "another --output-dir")
    return last


def start_run(cfg: SftConfig) -> str | None:
    """What `train_sft` and `train_dpo` check first: QLoRA's CUDA (before the output folder, so that a machine
    without a GPU hears that first), then the output folder; returns the checkpoint to resume from, or None."""
    if cfg.method == "qlora":
        check_qlora_available()
    return check_output_dir(cfg)


def embedded_hub_id(model: str | None) -> str | None:
    """The embedded SmolLM2's hub id when `model` names it, else None: what a saved adapter records as its base model
    (the embedded copy's local path means nothing on another machine; any other model is recorded as given)."""
    return EMBEDDED_HUB_ID if model in (None, "", "default", "embedded") else None


def prepare_run(cfg: SftConfig, data_hint: str) -> None:
    """Checks every trainer makes before loading anything (QLoRA needs CUDA, some data is given), and threads."""
    if cfg.method == "qlora":  # again after start_run: build_trainer / build_dpo_trainer are also called on their own
        check_qlora_available()
    if not cfg.data and not cfg.mix:
        raise SrllmConfigError(f"no training data: pass --data {data_hint} or --mix")
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)


def common_args(cfg: SftConfig, *, has_eval: bool) -> dict:
    """The TrainingArguments values SFT, DPO and RAFT's rounds share, from the shared config fields."""
    import torch

    return dict(
        output_dir=str(cfg.output_dir), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum, learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler, warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay,
        seed=cfg.seed, data_seed=cfg.seed, bf16=cfg.bf16, fp16=False, gradient_checkpointing=cfg.gradient_checkpointing,
        eval_strategy="steps" if has_eval else "no", eval_steps=cfg.eval_steps, save_strategy="steps",
        save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit, logging_steps=cfg.logging_steps,
        logging_first_step=True, report_to=[] if cfg.report_to == "none" else [cfg.report_to],
        dataloader_num_workers=0, use_cpu=not torch.cuda.is_available())


def build_trainer(cfg: SftConfig):
    """The configured SFTTrainer (PEFT model, tokenized and length-filtered datasets), not yet trained."""
    prepare_run(cfg, "FILE.jsonl (from `srllm data build`)")
    from datasets import Dataset
    from trl import SFTConfig

    train_rows = load_examples(cfg.data, mix=cfg.mix, split=cfg.train_split, max_samples=cfg.max_train_samples,
                               seed=cfg.seed, mix_total=cfg.mix_total)
    eval_rows = (load_examples(cfg.data, mix=cfg.mix, split=cfg.eval_split, max_samples=cfg.max_eval_samples,
                               seed=cfg.seed, allow_empty=True) if cfg.eval_split else [])
    model, tokenizer, name, peft = start_policy(cfg)
    args = SFTConfig(**common_args(cfg, has_eval=bool(eval_rows)), max_length=None, completion_only_loss=True,
                     train_sampling_strategy="group_by_length", disable_tqdm=False)
    trainer = _make_trainer_class()(
        model=model, args=args, processing_class=tokenizer, peft_config=peft,
        train_dataset=Dataset.from_list(train_rows), eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None)
    trainer.shared_prefix = cfg.shared_prefix
    trainer.base_model_path = name

    def short(ds):
        return ds.filter(lambda ex: len(ex["input_ids"]) <= cfg.max_length) if ds is not None else None

    n_all = len(trainer.train_dataset)
    trainer.train_dataset, trainer.eval_dataset = short(trainer.train_dataset), short(trainer.eval_dataset)
    if len(trainer.train_dataset) == 0:
        raise SrllmConfigError(f"every training example is longer than max_length={cfg.max_length} tokens")
    print(f"train examples: {len(trainer.train_dataset)} (dropped {n_all - len(trainer.train_dataset)} longer than "
          f"{cfg.max_length} tokens); eval examples: {len(trainer.eval_dataset or [])}", flush=True)
    return trainer


def train_sft(cfg: SftConfig, *, command: str | None = None) -> SftResult:
    """Train an adapter as `cfg` says; returns where it was saved and what the run measured. The adapter folder
    gets a model card (README.md; `command`, if given, is quoted in it as the way to reproduce the run)."""
    last = start_run(cfg)
    out_dir = Path(cfg.output_dir)
    trainer = build_trainer(cfg)
    start = time.time()
    trainer._train_start = start
    out = trainer.train(resume_from_checkpoint=last if cfg.resume else None)
    seconds = time.time() - start
    eval_loss = trainer.evaluate()["eval_loss"] if trainer.eval_dataset is not None else None
    base_id = embedded_hub_id(cfg.model)
    adapter_dir = save_adapter(trainer.model, out_dir / "adapter", dtype=cfg.save_dtype, base_model_id=base_id)
    tokens = trainer._total_train_tokens
    result = SftResult(adapter_dir=adapter_dir, train_examples=len(trainer.train_dataset),
                       eval_examples=len(trainer.eval_dataset or []), steps=trainer.state.global_step,
                       seconds=round(seconds, 1), tokens=tokens,
                       tokens_per_second=round(tokens / seconds, 1) if seconds else 0.0,
                       eval_loss=eval_loss, train_loss=out.training_loss, log_history=trainer.state.log_history)
    summary = {"config": cfg.to_dict(), "base_model": trainer.base_model_path, "base_model_id": base_id,
               **{k: str(v) if isinstance(v, Path) else v for k, v in result.__dict__.items()}}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    write_adapter_card(adapter_dir, summary, command=command)
    return result
