"""Token counts (`usage`) of srllm's own chat completions, counted with the served model's tokenizer.

- prompt_tokens: the conversation as the backend renders it (`backend.prompt_text`: the chat template with the
  generation prompt), encoded as the backend encodes it (no extra special tokens): the tokens the model reads.
- completion_tokens: the reply re-encoded, plus the end-of-turn token when the model stopped before max_tokens.
  The backends return text, not token ids; for ordinary text decoding then re-encoding gives back the ids the
  model generated (checked on SmolLM2-135M-Instruct: re-encoded replies had exactly the generated ids less the
  end token), so the count is the number of tokens generated. A reply of max_tokens tokens or more was cut:
  its finish_reason is "length" and no end token is counted.

The count uses its own copy of the tokenizer: the generation thread pads and truncates with the backend's, and a
fast tokenizer used by two threads at once can fail ("Already borrowed"). A backend without a tokenizer (an
OpenAI-compatible server behind `--base-url`, test doubles) gets no counter and its answers no `usage`.
"""

from __future__ import annotations

import copy

__all__ = ["TokenCounter", "usage_block"]


def usage_block(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


class TokenCounter:
    def __init__(self, tokenizer, render):
        self.tokenizer, self.render = tokenizer, render

    @classmethod
    def for_backend(cls, backend) -> TokenCounter | None:
        tokenizer, render = getattr(backend, "tokenizer", None), getattr(backend, "prompt_text", None)
        if tokenizer is None or render is None:
            return None
        return cls(copy.deepcopy(tokenizer), render)

    def _count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    def usage(self, conversation: list[dict], reply: str, max_tokens: int) -> tuple[dict, str]:
        """(the usage block, the finish_reason) of `reply` to `conversation` generated with `max_tokens`."""
        generated = self._count(reply)
        cut = generated >= max_tokens
        completion = generated if cut else generated + 1  # + the end-of-turn token that stopped it
        return usage_block(self._count(self.render(conversation)), completion), "length" if cut else "stop"
