"""The last-resort fallback: a minimal edit that deletes the flagged spans and tidies spacing/punctuation."""

from __future__ import annotations

import re

from srllm.schema import Span

__all__ = ["remove_spans"]

_CONJ_START = re.compile(r"^\s*,?\s*(?:and|or|but)\b\s*|^\s*,\s*", re.IGNORECASE)
_COPULA_END = re.compile(r"\b(?:are|is|was|were|be|'re|'s)(?:\s+(?:a|an|the|so|very|such an?|really|just))?\s*$",
                         re.IGNORECASE)
_LINK_END = re.compile(r"(?:\b(?:are|is|was|were|be|a|an|the|so|very|too|really|and|or|of|with|'re|'s)|^|[,(])\s*$",
                       re.IGNORECASE)
_VERB_START = re.compile(r"^(?:have|has|had|do|does|don't|doesn't|can|can't|should|will|won't|never|always|"
                         r"[a-z]+s)\b", re.IGNORECASE)
_CLAUSE_START = re.compile(r"^(?:i|you|he|she|it|we|they|this|that|there|the|a|an|my|your|his|her|our|their)\b",
                           re.IGNORECASE)
_SEPARATOR = re.compile(r"[\s,;/&]*(?:and|or)?[\s,;/&]*", re.IGNORECASE)


def remove_spans(text: str, spans: list[Span]) -> str:
    """`text` with the given spans deleted, doubled spaces and orphaned punctuation tidied."""
    # Merge spans separated only by a list separator ("stupid, lazy", "dumb and ugly") so no orphan is left.
    merged: list[list[int]] = []
    for s in sorted(spans, key=lambda s: s.start):
        if merged and s.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s.end)
        elif merged and _SEPARATOR.fullmatch(text[merged[-1][1]:s.start]):
            merged[-1][1] = s.end
        else:
            merged.append([s.start, s.end])
    out, pos = [], 0
    for start, end in merged:
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    # A deleted conjunct takes its conjunction with it: "are stupid and lazy" - "stupid" -> "are lazy" (not "are and
    # lazy"); "is useless and has no clue" - "useless" -> "has no clue" (the copula goes too).
    for i in range(len(out) - 1):
        left, right = out[i], out[i + 1]
        m = _CONJ_START.match(right)
        if not m:
            continue
        if _COPULA_END.search(left) and _VERB_START.match(right[m.end():]):
            out[i] = _COPULA_END.sub("", left)
            out[i + 1] = right[m.end():]
        elif (_LINK_END.search(left) or not left.strip()) and not _CLAUSE_START.match(right[m.end():]):
            out[i + 1] = right[m.end():]
    edited = "".join(out)
    edited = re.sub(r"[ \t]{2,}", " ", edited)
    edited = re.sub(r"\s+([,.!?;:])", r"\1", edited)
    edited = re.sub(r"([,;:])\s*([,.!?;:])", r"\2", edited)
    edited = re.sub(r"^\s*[,.;:]\s*", "", edited)
    edited = edited.strip()
    if edited and text[:1].isupper() and edited[:1].islower():
        edited = edited[0].upper() + edited[1:]
    return edited
