"""A tiny random causal LM and a byte-level tokenizer built locally in milliseconds (no downloads), for tests."""

from __future__ import annotations

import functools

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Women are good at math and men are good at math.",
    "He was brave too! It would have been good if he went.",
    "Thank you for asking, I cannot help with that request.",
    "Paris is the capital of France and has 2 million people.",
]


@functools.lru_cache(maxsize=1)
def tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    from srllm.rewrite.prompts import SYSTEM_PROMPT, USER_TEMPLATE

    # The rewrite prompt is in the corpus so it compresses to a few tokens (fast tests).
    tok.train_from_iterator(CORPUS + [SYSTEM_PROMPT, USER_TEMPLATE] * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    return fast


def make_tiny_lm(seed: int = 0):
    """(model, tokenizer): a 2-layer random Llama with the tiny tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=tok.eos_token_id)
    model = LlamaForCausalLM(cfg).eval()
    return model, tok
