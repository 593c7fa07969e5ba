"""The one text normaliser: the forms in which srllm compares texts, from the loosest change to the strictest.

- "space": whitespace runs become one space, ends stripped (a rewrite that only re-spaces is unchanged);
- "case": that, lower-cased (the detector's training data is deduplicated in this form);
- "words": lower case, words only: punctuation and spacing ignored (`srllm data build` deduplicates and splits
  texts in this form, and a rewrite that only re-cases or re-punctuates its source gives the source back).
"""

from __future__ import annotations

import re

__all__ = ["normalize", "LEVELS"]

LEVELS = ("space", "case", "words")
_WORD = re.compile(r"\w+")


def normalize(text: str, level: str = "words") -> str:
    if level == "words":
        return " ".join(_WORD.findall(text.lower()))
    if level == "case":
        return " ".join(text.lower().split())
    if level == "space":
        return " ".join(text.split())
    raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
