"""Span attribution by leave-one-word-out: which words carry what the detector flags.

The rule (declared here, used by `Detector.spans`):
1. Words are regex tokens (`WORD_RE`: letters/digits/underscore, joined by an apostrophe, hyphen or `*`, so
   "don't", "well-known" and "f*ck" are one word). Only the first `max_words` words are scored (default 64: the
   encoder reads at most 128 word pieces, so later words rarely matter, and the cost stays one batch of <= 65).
2. Each word is removed in turn; the original and all variants are scored in ONE batch.
3. A word's drop is the largest fall in logit, over the categories the text is flagged for, when it is removed.
4. A word is selected when its drop is >= `min_drop` (logits) and >= `relative` x the largest drop in the text.
5. Selected words that are consecutive are merged into one span; a span's score is the fall in P(unsafe) when
   the whole span is removed (scored in a second batch), and its category is the one whose logit fell most.
Texts that are not flagged have no spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["WORD_RE", "SpanRule", "word_tokens", "remove_range", "leave_one_out", "select_words", "merge_adjacent"]

WORD_RE = re.compile(r"\w+(?:['’*\-]\w+)*")


@dataclass(frozen=True)
class SpanRule:
    max_words: int = 64
    min_drop: float = 0.5
    relative: float = 0.5

    def __post_init__(self):
        if self.max_words < 1:
            raise ValueError(f"max_words must be >= 1, got {self.max_words}")
        if not 0.0 <= self.relative <= 1.0:
            raise ValueError(f"relative must be in [0, 1], got {self.relative}")


def word_tokens(text: str, max_words: int | None = None) -> list[tuple[int, int]]:
    """(start, end) character offsets of the words of `text`, at most `max_words` of them."""
    out = []
    for m in WORD_RE.finditer(text):
        if max_words is not None and len(out) >= max_words:
            break
        out.append((m.start(), m.end()))
    return out


def remove_range(text: str, start: int, end: int) -> str:
    """`text` without text[start:end], leaving one space where two would meet."""
    left, right = text[:start], text[end:]
    if left.endswith((" ", "\t")) and (right.startswith((" ", "\t")) or not right):
        left = left[:-1]
    return left + right


def leave_one_out(text: str, tokens: list[tuple[int, int]]) -> list[str]:
    return [remove_range(text, s, e) for s, e in tokens]


def select_words(drops: np.ndarray, rule: SpanRule) -> list[int]:
    """Indices of words whose drop passes the rule (absolute floor and share of the largest drop)."""
    drops = np.asarray(drops, dtype=float)
    if drops.size == 0:
        return []
    top = float(drops.max())
    if top < rule.min_drop:
        return []
    floor = max(rule.min_drop, rule.relative * top)
    return [i for i, d in enumerate(drops) if d >= floor]


def merge_adjacent(indices: list[int]) -> list[list[int]]:
    """Group sorted word indices into runs of consecutive words."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs
