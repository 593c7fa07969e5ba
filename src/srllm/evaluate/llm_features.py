"""Features of a (prompt, response) pair read by a causal LM: the mean over tokens of one layer's hidden states of
the chat-formatted exchange. The response judge (`srllm.evaluate.response_judge`) can add them to its MiniLM pair
features: on pyrit's human harm labels the embedded SmolLM2's middle layers separated safe from harmful answers
better than MiniLM did (docs/benchmarks.md, "Response judge features").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from srllm.errors import SrllmConfigError, SrllmModelError

__all__ = ["LLMPairEncoder"]

# Each side is cut to this many characters before tokenising: the judge reads the start of a long answer, as
# max_length would anyway, without tokenising pages of text first.
MAX_CHARS = 1500


class LLMPairEncoder:
    """`encode_pairs(prompts, responses)` -> (n, hidden) float32: layer `layer`'s hidden states averaged over the
    tokens of the chat-formatted (user: prompt, assistant: response), truncated to `max_length` tokens. `model`:
    None (the embedded SmolLM2-135M-Instruct), a hub id or a local folder; loaded on first use. Features of texts
    seen before come from memory (`save_cache` / `load_cache` keep them on disk between runs)."""

    def __init__(self, model: str | None = None, *, layer: int = 15, max_length: int = 384, batch_size: int = 8):
        if layer < 0 or max_length < 8 or batch_size < 1:
            raise SrllmConfigError("layer must be >= 0, max_length >= 8 and batch_size >= 1")
        self.model_spec, self.layer, self.max_length, self.batch_size = model, layer, max_length, batch_size
        self._model = self._tokenizer = None
        self.cache: dict[str, np.ndarray] = {}

    def _load(self):
        if self._model is None:
            from srllm.models.loading import load_causal_lm

            model, tokenizer = load_causal_lm(self.model_spec)
            layers = model.config.num_hidden_layers
            if self.layer > layers:
                raise SrllmModelError(f"layer {self.layer} asked of a model with {layers} layers")
            tokenizer.padding_side = "right"  # the mean is over the mask, so any side works; right is simplest
            self._model, self._tokenizer = model, tokenizer
        return self._model, self._tokenizer

    def _key(self, prompt: str, response: str) -> str:
        text = f"{self.model_spec}|{self.layer}|{self.max_length}|{prompt[:MAX_CHARS]}\x00{response[:MAX_CHARS]}"
        return hashlib.sha1(text.encode()).hexdigest()

    def encode_pairs(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        if len(prompts) != len(responses):
            raise SrllmModelError(f"one prompt per response needed: {len(prompts)} vs {len(responses)}")
        keys = [self._key(p, r) for p, r in zip(prompts, responses, strict=True)]
        todo = {k: (p, r) for k, p, r in zip(keys, prompts, responses, strict=True) if k not in self.cache}
        if todo:
            self._read(todo)
        if not keys:
            return np.zeros((0, int(self._load()[0].config.hidden_size)), np.float32)
        return np.stack([self.cache[k] for k in keys]).astype(np.float32)

    def _read(self, todo: dict[str, tuple[str, str]]) -> None:
        import torch

        model, tok = self._load()
        chats = sorted(((k, tok.apply_chat_template([{"role": "user", "content": p[:MAX_CHARS]},
                                                     {"role": "assistant", "content": r[:MAX_CHARS]}],
                                                    tokenize=False)) for k, (p, r) in todo.items()),
                       key=lambda kt: len(kt[1]))  # similar lengths in a batch: less padding
        with torch.inference_mode():
            for start in range(0, len(chats), self.batch_size):
                part = chats[start:start + self.batch_size]
                batch = tok([t for _, t in part], return_tensors="pt", padding=True, truncation=True,
                            max_length=self.max_length)
                hidden = model(**batch, output_hidden_states=True).hidden_states[self.layer]
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = ((hidden * mask).sum(1) / mask.sum(1)).float().numpy()
                self.cache.update({k: m for (k, _), m in zip(part, mean, strict=True)})

    def save_cache(self, path: str | Path) -> None:
        from srllm.atomic import atomic_file

        keys = list(self.cache)
        with atomic_file(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, keys=np.array(keys), features=np.stack([self.cache[k] for k in keys]) if keys
                     else np.zeros((0, 0), np.float32))

    def load_cache(self, path: str | Path) -> None:
        if Path(path).is_file():
            z = np.load(path, allow_pickle=False)
            self.cache.update(zip(z["keys"].tolist(), z["features"], strict=True))
