"""A tiny random sentence-transformer (2-layer BERT, hidden 32, a small WordPiece vocabulary) built locally from a
config in about a second, for the detector's tests. No downloads."""

from __future__ import annotations

import string
from pathlib import Path

WORDS = ("you are a an the is was and or of to in it this that he she they we i idiot stupid moron dumb friend "
         "kind team will meet at designated time women men people good bad great day plan fine lazy always never "
         "all cook cooks engineers rich poor muslims christians old young nice weather today hello thanks").split()

# Texts of that vocabulary the detector tests train and check heads on (tests/conftest.py, `heads`).
TOXIC = ["you are an idiot", "you are a stupid moron", "idiot people", "he is a dumb idiot", "stupid team",
         "they are all idiot people", "you idiot", "what a moron"]
BIASED = ["women are bad engineers", "men are always lazy", "old people are never good", "poor people are lazy",
          "muslims are bad", "women always cook"]
GENDER = {"women are bad engineers", "men are always lazy", "women always cook"}
SAFE = ["the team will meet at the designated time", "hello friend", "nice weather today", "thanks for the plan",
        "we will meet at noon", "it was a good day", "women engineers meet today", "old people and young people",
        "muslims and christians meet", "you are kind"]


def make_tiny_encoder(folder: Path, seed: int = 0) -> Path:
    """Save a sentence-transformers model under `folder` and return its path."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    hf = folder / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    pieces = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(WORDS)) + pieces
             + ["##" + c for c in string.ascii_lowercase + string.digits])
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(dict.fromkeys(vocab))}, do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256)
    BertModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    transformer = models.Transformer(str(hf), max_seq_length=128)
    pooling = models.Pooling(32, "mean")
    st = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")
    out = folder / "st"
    st.save(str(out))
    return out
