"""Readability (Flesch reading ease via textstat) and a light knowledge-retention heuristic: the numbers and
named-entity-like capitalised words of a text, and whether a rewrite keeps them all."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["flesch_reading_ease", "syllable_counter", "facts", "knowledge_retained"]

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,:/]\d+)*(?:%|st|nd|rd|th)?")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_SENTENCE_END = re.compile(r"[.!?]\s*$|^\s*$")


@functools.lru_cache(maxsize=1)
def syllable_counter() -> str:
    """'cmudict' when NLTK's CMU dictionary is installed, else 'pyphen'.

    textstat counts English syllables with NLTK's cmudict and downloads it on first use; offline that download
    fails, so textstat's own fallback (pyphen hyphenation, already used for words missing from cmudict) is used for
    every word instead."""
    import nltk

    try:
        nltk.data.find("corpora/cmudict")
        return "cmudict"
    except LookupError:
        from textstat.backend.counts import _count_syllables

        _count_syllables.get_cmudict = lambda lang: None  # every word takes textstat's pyphen path
        return "pyphen (offline: no NLTK cmudict)"


def flesch_reading_ease(texts: Sequence[str]) -> np.ndarray:
    """textstat's Flesch reading ease per text (higher = easier; NaN for an empty text)."""
    import textstat

    syllable_counter()
    return np.array([float(textstat.flesch_reading_ease(t)) if t.strip() else np.nan for t in texts])


def facts(text: str) -> set[str]:
    """Lower-cased numbers and capitalised words that are not sentence-initial and not 'I' (a crude stand-in for
    named entities)."""
    found = {m.group().lower() for m in _NUMBER.finditer(text)}
    for m in _WORD.finditer(text):
        word = m.group()
        if not word[0].isupper() or word in ("I", "I'm", "I've", "I'd", "I'll"):
            continue
        if _SENTENCE_END.search(text[: m.start()]):
            continue  # the first word of a sentence is capitalised anyway
        found.add(re.sub(r"['’]s?$", "", word.lower()))  # "Canada's" -> "canada"
    return found


def knowledge_retained(original: str, rewrite: str) -> float:
    """1.0 if every fact of the original appears in the rewrite (case-insensitive, whole words), 0.0 if one is
    missing, NaN if the original has none."""
    wanted = facts(original)
    if not wanted:
        return float("nan")
    low = rewrite.lower()
    return float(all(re.search(rf"(?<!\w){re.escape(f)}", low) for f in wanted))
