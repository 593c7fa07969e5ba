"""The detector's use of the group lexicon (srllm.data.group_lexicon.GROUPS, shared with the rewriter: for each
kind of group, (plural noun phrase, attributive adjective or None, singular noun phrase)). Used to build
stereotype templates and safe group mentions over every kind of group (srllm.train.detector.stereotypes), to
swap the group of a stereotype statement or of an everyday sentence (counterfactual augmentation,
srllm.train.detector.cda), and to mask groups when looking for near-duplicates of held-out texts
(srllm.train.detector.training).

The taxonomy's `groups` (single words the span edit never deletes) are a different list; words named here that
the taxonomy lacked were added there (src/srllm/taxonomy/default.yaml).
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

from srllm.data.group_lexicon import GROUPS, group_forms

__all__ = ["GROUPS", "KIND_SUBCATEGORY", "group_forms", "swap_group", "mask_groups"]

KIND_SUBCATEGORY = {"gender": "bias.gender", "sexual_orientation": "bias.sexual_orientation", "race": "bias.race",
                    "religion": "bias.religion", "age": "bias.age", "nationality": "bias.nationality",
                    "disability": "bias.disability", "health": "bias.health", "body": "bias.body",
                    "socioeconomic": "bias.socioeconomic", "geography": "bias.geography",
                    "political": "bias.political", "other": "bias.other"}


_ARTICLE = re.compile(r"\b([Aa])n? (\w)")
_LOWER_FIRST = ("old", "elderly", "young", "poor", "rich", "fat", "disabled", "blind", "deaf")


def swap_group(text: str, rng: random.Random) -> tuple[str, str] | None:
    """`text` with its first group phrase replaced by the same form (plural / adjective / singular) of a group of
    another kind, and that kind; None when the text names no lexicon group. "Women are too emotional to lead." ->
    ("Retirees are too emotional to lead.", "age"). A stereotype about any group is a stereotype: the label of a
    swapped positive is kept and its sub-category follows the new group."""
    forms, pattern = group_forms()
    hit = pattern.search(text)
    if hit is None:
        return None
    kind, form = forms[hit.group(1).lower()]
    choices = [(k, e[form]) for k in GROUPS if k != kind for e in GROUPS[k] if e[form]]
    new_kind, new = rng.choice(choices)
    if hit.group(1)[0].isupper() and new[0].islower():
        new = new[0].upper() + new[1:]
    elif hit.start() > 0 and new[0].isupper() and new.split()[0].lower() in _LOWER_FIRST:
        new = new[0].lower() + new[1:]
    out = text[:hit.start()] + new + text[hit.end():]
    out = _ARTICLE.sub(lambda m: m.group(1) + ("n" if m.group(2).lower() in "aeiou" else "") + " " + m.group(2), out)
    return out, new_kind


@lru_cache(maxsize=4)
def _mask_pattern(extra: frozenset[str]) -> re.Pattern:
    forms, _ = group_forms()
    words = sorted(set(forms) | {w.lower() for w in extra}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w-])", re.IGNORECASE)


def mask_groups(text: str, extra_words=frozenset()) -> str:
    """Every lexicon phrase (and each of `extra_words`, e.g. the taxonomy's group words) -> "someone": the form in
    which two texts that differ only in the group they name are near-duplicates."""
    return _mask_pattern(frozenset(extra_words)).sub("someone", text)
