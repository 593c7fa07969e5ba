"""A tiny random LlamaForCausalLM with the embedded SmolLM2 tokenizer (and its chat template), for fast tests."""

from __future__ import annotations

import json
from pathlib import Path


def make_tiny_llm(path: Path, *, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from srllm.models import embedded_llm_dir

    tok = AutoTokenizer.from_pretrained(embedded_llm_dir())
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def write_cmd_fixture(path: Path, n: int = 40) -> Path:
    """A small CMD JSONL: toxic → neutral pairs in train and dev, and keep-unchanged rows."""
    words = ["stupid", "idiotic", "damn", "dumb", "crappy"]
    rows = []
    for i in range(n):
        bad = words[i % len(words)]
        split = "dev" if i % 5 == 0 else "train"
        rows.append({"id": f"r{i}", "text": f"this {bad} thing number {i} is {bad}", "split": split,
                     "rewrite": f"this thing number {i} is bad", "source": "fixture"})
    rows.append({"id": "k1", "text": "the weather is nice today", "rewrite": "the weather is nice today",
                 "split": "train"})
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path
