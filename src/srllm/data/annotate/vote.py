"""Several annotators' labels combined into one CMD record.

Rules (per field, over the annotators that gave that field; one that failed or abstains does not vote):
- bias, toxicity, harm, sentiment: the label most annotators chose. A tie goes to the more severe label for the
  ordinal fields (bias, toxicity, harm: a tie is worth a human's look, and a reviewer lowers a label more easily
  than finding a missed one), and to the first annotator's label (in --annotator order) for sentiment.
- categories, biased_words: kept when at least half of the annotators that answered name them.
- rewrite, rationale: from the first annotator, in order, whose bias and toxicity equal the vote's and who gave
  one; else from the first who gave one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from srllm.data.annotate.labels import ORDINAL, SCALES
from srllm.schema import Record

__all__ = ["combine", "find_spans", "to_record"]


def _vote(field: str, labels: list[str]) -> str | None:
    if not labels:
        return None
    counts = Counter(labels)
    best = max(counts.values())
    tied = [v for v in dict.fromkeys(labels) if counts[v] == best]  # first-seen order
    if len(tied) == 1 or field not in ORDINAL:
        return tied[0]
    return max(tied, key=SCALES[field].index)


def _half(lists: list[list[str]]) -> list[str]:
    counts = Counter(v for values in lists for v in dict.fromkeys(values))
    first_seen = dict.fromkeys(v for values in lists for v in values)
    return [v for v in first_seen if counts[v] * 2 >= len(lists)]


def combine(labels: Sequence[dict]) -> dict | None:
    """The voted labels of the annotators that answered (their Annotation dicts, in --annotator order); None when
    none answered."""
    if not labels:
        return None
    out: dict = {f: _vote(f, [la[f] for la in labels if la.get(f) is not None]) for f in SCALES}
    out["categories"] = _half([la.get("categories") or [] for la in labels])
    out["biased_words"] = _half([la.get("biased_words") or [] for la in labels])
    agreeing = [la for la in labels if la.get("bias") == out["bias"] and la.get("toxicity") == out["toxicity"]]
    for name in ("rewrite", "rationale"):
        out[name] = next((la[name] for la in [*agreeing, *labels] if la.get(name)), None)
    return out


def find_spans(text: str, words: Sequence[str]) -> list[dict]:
    """Character offsets of each biased word in the text (the first whole-word match, case-insensitive, else the
    first match anywhere); words not found are left out."""
    spans = []
    for w in words:
        m = (re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", text, flags=re.IGNORECASE)
             or re.search(re.escape(w), text, flags=re.IGNORECASE))
        if m:
            spans.append({"start": m.start(), "end": m.end(), "text": text[m.start():m.end()]})
    return spans


def to_record(rid: str, text: str, voted: dict | None, *, source: str) -> Record:
    """The CMD record of a text (labels empty when no annotator answered)."""
    voted = voted or {}
    return Record(id=rid, text=text, **{f: voted.get(f) for f in SCALES},
                  categories=voted.get("categories") or [], biased_words=voted.get("biased_words") or [],
                  rewrite=voted.get("rewrite"), rationale=voted.get("rationale"), source=source)
