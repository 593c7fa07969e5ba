"""SFT examples from JSONL: CMD records (text + rewrite), chat rows (`messages`) or prompt/completion rows, as
TRL conversational prompt/completion pairs. CMD rows use the inference prompt (`training_messages`)."""

from __future__ import annotations

import random

from srllm.data.mix import mix_rows
from srllm.data.sources import read_jsonl
from srllm.errors import SrllmDataError
from srllm.rewrite.prompts import training_messages

__all__ = ["to_example", "load_examples"]


def to_example(row: dict, *, file: str = "?") -> dict | None:
    """{'prompt': [messages], 'completion': [assistant message]}, or None for a CMD row without a rewrite."""
    line = row.get("_line")
    if "messages" in row:
        msgs = row["messages"]
        if not isinstance(msgs, list) or not msgs or not isinstance(msgs[-1], dict) \
                or msgs[-1].get("role") != "assistant":
            raise SrllmDataError("`messages` must be a list of {role, content} ending with the assistant's reply",
                                 file=file, line=line, field="messages")
        return {"prompt": msgs[:-1], "completion": msgs[-1:]}
    if "prompt" in row and "completion" in row:
        prompt = row["prompt"]
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        completion = row["completion"]
        if isinstance(completion, str):
            completion = [{"role": "assistant", "content": completion}]
        return {"prompt": prompt, "completion": completion}
    if "text" in row:
        if not row.get("rewrite"):
            return None
        msgs = training_messages(row["text"], row["rewrite"])
        return {"prompt": msgs[:-1], "completion": msgs[-1:]}
    raise SrllmDataError(f"cannot tell the row format from its fields ({', '.join(k for k in row if k[0] != '_')});"
                         " expected text + rewrite (CMD), messages (chat), or prompt + completion",
                         file=file, line=line)


def load_examples(path: str | None, *, mix: str | None = None, split: str = "train", max_samples: int | None = None,
                  seed: int = 0, allow_empty: bool = False, mix_total: int | None = None) -> list[dict]:
    """The examples of one split (rows without a `split` count as train), optionally a seeded sample."""

    def in_split(row: dict) -> bool:
        return row.get("split", "train") == split

    if mix:
        rows, _parts = mix_rows(mix, seed=seed, row_filter=in_split, total=mix_total)
    else:
        rows = [r for r in read_jsonl(path, line_key="_line") if in_split(r)]
    examples = []
    for row in rows:
        ex = to_example(row, file=row.get("_mix_source", str(path)))
        if ex is not None:
            examples.append(ex)
    if max_samples is not None and len(examples) > max_samples:
        examples = random.Random(seed).sample(examples, max_samples)
    if not examples and not allow_empty:
        raise SrllmDataError(f"no training examples in split '{split}'", file=str(path or mix))
    return examples
