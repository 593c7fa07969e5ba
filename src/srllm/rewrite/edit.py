"""The last-resort fallback: a minimal edit that deletes the flagged spans and tidies spacing/punctuation."""

from __future__ import annotations

import re

from srllm.schema import Span

__all__ = ["remove_spans"]

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
    edited = "".join(out)
    edited = re.sub(r"[ \t]{2,}", " ", edited)
    edited = re.sub(r"\s+([,.!?;:])", r"\1", edited)
    edited = re.sub(r"([,;:])\s*([,.!?;:])", r"\2", edited)
    edited = re.sub(r"^\s*[,.;:]\s*", "", edited)
    edited = edited.strip()
    if edited and text[:1].isupper() and edited[:1].islower():
        edited = edited[0].upper() + edited[1:]
    return edited
