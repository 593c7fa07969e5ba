from __future__ import annotations

import os
from pathlib import Path

import pytest

from srllm.data import shared_data_dir

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; tests that need it skip with a reason on a user's clone where it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is not beside this checkout (CI has it; a user's clone does not)")
    return path


def build_tiny_tokenizer():
    """A word-level tokenizer over a small vocabulary, with a ChatML template like SmolLM2's."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ("the a an you are is was and or of to in it this that he she they we idiot stupid wrong right "
             "text rewrite keep meaning bias toxicity free be its with from for on at team meets noon fine good "
             "bad people plan day system user assistant : , . ! ? \n").split(" ")
    specials = ["<unk>", "<|im_start|>", "<|im_end|>", "<pad>"]
    vocab = {w: i for i, w in enumerate(specials + sorted(set(words)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                   pad_token="<pad>", bos_token="<|im_start|>")
    fast.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    return fast


@pytest.fixture(scope="session")
def tiny_lm():
    """(model, tokenizer): a randomly initialised 2-layer Llama built from a config, seconds to make."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.bos_token_id)
    return LlamaForCausalLM(config).eval(), tokenizer


@pytest.fixture(scope="module")
def encoder_path(tmp_path_factory):
    """A tiny random sentence-transformer (tests/_tiny_encoder.py)."""
    from tests._tiny_encoder import make_tiny_encoder

    return str(make_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder")))


@pytest.fixture(scope="module")
def heads(encoder_path):
    """Detector heads (toxicity, bias, bias.gender) trained on the tiny encoder's embeddings of a handful of texts."""
    import numpy as np

    from srllm.detect import Head, HeadSet
    from srllm.detect.encoding import encode_texts
    from srllm.models import load_sentence_encoder
    from srllm.train.detector.fit import fit_logreg
    from tests._tiny_encoder import BIASED, GENDER, SAFE, TOXIC

    enc = load_sentence_encoder(encoder_path)
    texts = TOXIC + BIASED + SAFE
    x = encode_texts(enc, texts, max_seq_length=128)
    tox = np.array([t in TOXIC for t in texts], dtype=float)
    bias = np.array([t in BIASED for t in texts], dtype=float)
    xb = encode_texts(enc, BIASED, max_seq_length=128)
    gender = np.array([t in GENDER for t in BIASED], dtype=float)
    return HeadSet(heads=[
        Head("toxicity", fit_logreg(x, tox, c=1e4, seed=0), threshold=0.5),
        Head("bias", fit_logreg(x, bias, c=1e4, seed=0), threshold=0.5),
        Head("bias.gender", fit_logreg(xb, gender, c=1e4, seed=0), threshold=0.5, parent="bias"),
    ], encoder="tiny", max_seq_length=128)
