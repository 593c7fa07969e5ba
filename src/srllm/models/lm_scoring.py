"""Scoring text with a causal LM: summed log-probabilities (StereoSet, CrowS-Pairs) and perplexity (the FL
metric's reference LM). Works with any transformers causal LM, with or without a PEFT adapter."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["sequence_logprobs", "perplexity", "PerplexityScorer", "fl_scorer", "orthographic_form",
           "REFERENCE_LM_NAME"]

REFERENCE_LM_NAME = "SmolLM2-135M-Instruct (embedded, no adapter)"
_DOC_START_TOKENS = ("<|endoftext|>", "</s>", "<s>")


def perplexity(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """exp(-mean token log-probability) per text; inf for a text with no scored token (an empty output is not
    fluent text)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ppl = np.exp(-np.asarray(sums, dtype=float) / np.maximum(counts, 1))
    ppl[np.asarray(counts) == 0] = np.inf
    return ppl


def prefix_token_id(tokenizer) -> int | None:
    """A document-start token to condition on, so the first word of the text is scored too.

    SmolLM2's bos is `<|im_start|>` (a chat-turn marker), so a document separator is preferred when the vocabulary
    has one."""
    vocab = tokenizer.get_vocab()
    for tok in _DOC_START_TOKENS:
        if tok in vocab:
            return vocab[tok]
    for tid in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return tid
    return None


def sequence_logprobs(model, tokenizer, texts: Sequence[str], *, batch_size: int = 16,
                      max_length: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(sum of token log-probabilities, number of scored tokens) per text, each text conditioned on a
    document-start token. Texts are truncated to `max_length` tokens."""
    import torch

    prefix = prefix_token_id(tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (prefix or 0)
    sums = np.zeros(len(texts), dtype=float)
    counts = np.zeros(len(texts), dtype=int)
    order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
    for start in range(0, len(texts), batch_size):
        idx = order[start:start + batch_size]
        seqs = []
        for i in idx:
            ids = tokenizer(texts[i], add_special_tokens=False)["input_ids"][:max_length]
            seqs.append(([prefix] if prefix is not None else []) + list(ids))
        width = max(len(s) for s in seqs)
        input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, s in enumerate(seqs):
            input_ids[row, :len(s)] = torch.tensor(s, dtype=torch.long)
            mask[row, :len(s)] = 1
        with torch.inference_mode():
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        target = input_ids[:, 1:]
        tok_lp = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1) * mask[:, 1:]
        sums[idx] = tok_lp.sum(dim=1).numpy()
        counts[idx] = mask[:, 1:].sum(dim=1).numpy()
    return sums, counts


@functools.lru_cache(maxsize=1)
def _detokenizer():
    from sacremoses import MosesDetokenizer

    return MosesDetokenizer(lang="en")


def orthographic_form(text: str) -> str:
    """`text` as it would be written: tokenised spacing undone ("don 't know , ok ?" -> "don't know, ok?"), a lone
    "i" capitalised and the first letter upper-cased. ParaDetox is lower-cased and tokenised by its authors; the
    FL judge scores the language, not that preprocessing, and judges every system's output the same way."""
    out = _detokenizer().detokenize(text.split())
    out = re.sub(r"\bi\b", "I", out)
    return out[:1].upper() + out[1:]


class PerplexityScorer:
    """Callable texts -> perplexity per text, under a reference causal LM (the embedded SmolLM2 by default).

    orthographic=True scores `orthographic_form(text)` instead of the raw text (how the FL judge is declared)."""

    def __init__(self, *, model=None, tokenizer=None, model_name: str | None = None, adapter: str | None = None,
                 batch_size: int = 16, name: str | None = None, orthographic: bool = False):
        if model is None:
            from srllm.models import load_causal_lm

            model, tokenizer = load_causal_lm(model_name, adapter=adapter)
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.orthographic = orthographic
        default = REFERENCE_LM_NAME if model_name is None and adapter is None else f"{model_name}+{adapter}"
        self.name = (name or default) + (", text in orthographic form" if orthographic else "")

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros(0)
        if self.orthographic:
            texts = [orthographic_form(t) if t.strip() else t for t in texts]
        return perplexity(*sequence_logprobs(self.model, self.tokenizer, texts, batch_size=self.batch_size))


def fl_scorer(**kwargs) -> PerplexityScorer:
    """The FL judge's scorer as declared with metrics.FL_PPL_THRESHOLD: perplexity of the orthographic form under
    the reference LM (kwargs go to PerplexityScorer, e.g. batch_size)."""
    return PerplexityScorer(orthographic=True, **kwargs)
