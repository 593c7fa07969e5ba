"""Tune the detector's sentence encoder with LoRA before its heads are fitted (`tune_encoder`, issue 13).

Frozen all-MiniLM-L6-v2 embeddings place "X are lazy" close to "X are late today": a head on top can only draw a
line through what the encoder already separates. A LoRA adapter on the encoder's dense layers, trained with one
linear logit per top head (toxicity, bias, stereotyping; masked BCE, a head's loss only on texts labelled for
it) on a per-source sample of the train split, moves generalisations about a group away from plain mentions of
one. The heads are then fitted as before on the tuned embeddings. The adapter ships beside the heads (a few MB,
`encoder-adapter/` in the heads folder) and is merged into the embedded encoder at load time.

The work folder holds a checkpoint every `_CHECKPOINT_EVERY` steps, so a killed run resumes where it stopped, and
the finished adapter, which a re-run with the same settings and data reuses.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np

from srllm.atomic import write_text_atomic
from srllm.train.detector.data import TOP_HEADS, Example

__all__ = ["tune_encoder", "tuning_sample"]

_CHECKPOINT_EVERY = 100
_TARGETS = r".*encoder.*\.(query|key|value|dense)$"  # every dense layer of the transformer blocks


_README = """# Encoder adapter of the srllm detector

A PEFT LoRA adapter (rank {encoder_lora_rank}, every dense layer of the transformer blocks) for the sentence encoder
`{base}`, trained by `srllm train detector` (srllm.train.detector.encoder_tuning) on {texts} train-split texts
({steps} steps), one logit per top head (toxicity, bias, stereotyping). The detector merges it into the encoder
when it loads the heads beside it; the heads were fitted on the tuned embeddings. TUNING.json has the settings.
"""


def tuning_sample(examples: list[Example], per_source: int, seed: int) -> list[Example]:
    """Up to `per_source` train-split examples of each source (seeded), shuffled: sources stay balanced, so the
    20k ParaDetox texts do not drown the 200 StereoSet stereotypes."""
    by_source: dict[str, list[Example]] = {}
    for e in examples:
        if e.split == "train":
            by_source.setdefault(e.source, []).append(e)
    sample: list[Example] = []
    for source, items in sorted(by_source.items()):
        items = sorted(items, key=lambda e: e.text)
        random.Random(f"{seed}:{source}").shuffle(items)
        sample += items[:per_source]
    random.Random(seed).shuffle(sample)
    return sample


def _labels(sample: list[Example]) -> np.ndarray:
    """(n, len(TOP_HEADS)) with 1 / 0, or -1 where the example says nothing about that head."""
    y = np.full((len(sample), len(TOP_HEADS)), -1.0, dtype=np.float32)
    for i, e in enumerate(sample):
        for j, head in enumerate(TOP_HEADS):
            if head in e.labels:
                y[i, j] = e.labels[head]
    return y


def _fingerprint(sample: list[Example], base: str, cfg) -> str:
    h = hashlib.sha1()
    h.update(json.dumps([base, cfg.encoder_lora_rank, cfg.encoder_tune_epochs, cfg.encoder_tune_learning_rate,
                         cfg.encoder_tune_max_seq_length, cfg.encoder_tune_batch_size, cfg.seed]).encode())
    for e in sample:
        h.update(e.text.encode("utf-8"))
        h.update(json.dumps(sorted(e.labels.items())).encode())
    return h.hexdigest()[:16]


def tune_encoder(examples: list[Example], cfg, *, base: str, work_dir: Path, base_name: str | None = None,
                 console=None) -> Path:
    """LoRA-tune the sentence encoder at `base` (a local folder) on the train split; returns the adapter folder.
    `base_name`: how the adapter's files name the base model (default: the folder's name)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from transformers import AutoModel, AutoTokenizer

    from srllm.models.quiet import quiet_loading

    sample = tuning_sample(examples, cfg.encoder_tune_per_source, cfg.seed)
    y = _labels(sample)
    run = Path(work_dir) / _fingerprint(sample, base, cfg)
    adapter = run / "adapter"
    if (adapter / "adapter_config.json").is_file():
        if console is not None:
            console.print(f"encoder adapter: reusing {adapter} (same settings and data)")
        return adapter
    torch.manual_seed(cfg.seed)
    with quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(base)
        model = get_peft_model(AutoModel.from_pretrained(base), LoraConfig(
            r=cfg.encoder_lora_rank, lora_alpha=2 * cfg.encoder_lora_rank, lora_dropout=0.05,
            target_modules=_TARGETS))
    dim = model.config.hidden_size
    logits_layer = torch.nn.Linear(dim, len(TOP_HEADS))
    scale = torch.nn.Parameter(torch.tensor(10.0))  # unit-norm embeddings need a temperature to reach 0 or 1
    lora = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": lora, "lr": cfg.encoder_tune_learning_rate},
                                   {"params": [*logits_layer.parameters(), scale], "lr": 1e-3}], weight_decay=0.01)
    bs = cfg.encoder_tune_batch_size
    steps = max(1, int(len(sample) / bs * cfg.encoder_tune_epochs))
    warmup = max(1, int(0.05 * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, s / warmup) * max(0.0, 1.0 - s / steps))
    positives = (y == 1).sum(axis=0)
    negatives = (y == 0).sum(axis=0)
    pos_weight = torch.tensor(negatives / np.maximum(positives, 1), dtype=torch.float32)  # class balance per head
    start = 0
    ckpt = run / "checkpoint.pt"
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=True)  # tensors and numbers only: no pickled code
        model.load_state_dict(state["model"], strict=False)
        logits_layer.load_state_dict(state["logits"])
        scale.data.fill_(state["scale"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start = state["step"]
    run.mkdir(parents=True, exist_ok=True)
    model.train()
    params = [*lora, *logits_layer.parameters(), scale]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=console is None) as bar:
        task = bar.add_task(f"tuning the encoder (LoRA r={cfg.encoder_lora_rank}, {len(sample)} texts)",
                            total=steps, completed=start)
        for step in range(start, steps):
            k = (step * bs) % len(sample)
            batch, yb = sample[k:k + bs], torch.from_numpy(y[k:k + bs])
            enc = tokenizer([e.text for e in batch], padding=True, truncation=True,
                            max_length=cfg.encoder_tune_max_seq_length, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits_layer(pooled * scale), yb.clamp(min=0), pos_weight=pos_weight, reduction="none")
            labelled = (yb >= 0).float()
            loss = (loss * labelled).sum() / labelled.sum().clamp(min=1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            bar.advance(task)
            if (step + 1) % _CHECKPOINT_EVERY == 0 and step + 1 < steps:
                tmp = run / "checkpoint.pt.tmp"
                torch.save({"model": {k: v for k, v in model.state_dict().items() if "lora_" in k},
                            "logits": logits_layer.state_dict(), "scale": float(scale.detach()),
                            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                            "step": step + 1}, tmp)
                tmp.replace(ckpt)
    tmp = run / "adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, save_embedding_layers=False)  # LoRA only; and no look-up of the base on the hub
    config_file = tmp / "adapter_config.json"
    config = json.loads(config_file.read_text("utf-8"))
    name = base_name or Path(base).name
    config["base_model_name_or_path"] = name  # no local path in a shipped file
    write_text_atomic(config_file, json.dumps(config, indent=2) + "\n")
    write_text_atomic(tmp / "README.md", _README.format(base=name, texts=len(sample), steps=steps, **vars(cfg)))
    write_text_atomic(tmp / "TUNING.json", json.dumps({
        "base": name, "texts": len(sample), "steps": steps, "rank": cfg.encoder_lora_rank,
        "epochs": cfg.encoder_tune_epochs, "learning_rate": cfg.encoder_tune_learning_rate,
        "max_seq_length": cfg.encoder_tune_max_seq_length, "batch_size": bs,
        "positives": dict(zip(TOP_HEADS, positives.astype(int).tolist(), strict=True)),
        "negatives": dict(zip(TOP_HEADS, negatives.astype(int).tolist(), strict=True))}, indent=2) + "\n")
    tmp.rename(adapter)
    ckpt.unlink(missing_ok=True)
    return adapter
