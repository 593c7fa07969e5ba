"""Does a text name a group of people? The detector's bias and stereotyping heads only count for texts that do
(the heads that `group_rule_heads` named when they were trained): a generalisation is a claim about a group, and a
text that names none ("Security might have something to say as you carry a big ladder", "People are bad sometimes")
is not bias whatever its embedding resembles. On development data 18 of 1264 stereotype statements name no group
it reads (docs/benchmarks.md, "Detector fairness and stereotypes: counter-speech frames and the group rule").

A group is named by any surface form of the group lexicon (srllm.data.group_lexicon.group_forms: plural,
adjective, singular, the corpus spellings, and the nationality forms), any word of the policy's `groups`, or a
descriptive phrase: "people from Syria", "the people of Eritrea", "those people", "their kind".
"""

from __future__ import annotations

import re
from functools import lru_cache

from srllm.regex import word_alternation

__all__ = ["names_group", "group_pattern"]

# Descriptive group references the lexicon cannot list: a collective noun tied to a place or a kind.
_DESCRIPTIVE = (r"(?:people|folks|men|women|kids|children|citizens|residents|natives|immigrants|families|workers)"
                r" (?:from|of|in) (?:the )?[a-z][\w'-]+",
                r"(?:those|these|such) (?:people|folks|types|kinds of people)",
                r"(?:their|that) kind")
# Spellings in the stereotype corpora that the lexicon does not list.
_EXTRA_WORDS = ("transexuals", "transpeople", "transvestites", "prostitutes", "brahmin", "brahmins")


@lru_cache(maxsize=8)
def group_pattern(extra_terms: frozenset[str] = frozenset()) -> re.Pattern:
    """One case-insensitive whole-word regex over the lexicon's forms, `extra_terms` and the descriptive phrases."""
    from srllm.data.group_lexicon import group_forms, nationality_entries

    forms = set(group_forms()[0]) | set(_EXTRA_WORDS) | {t.lower() for t in extra_terms if t}
    forms.update(f.lower() for entry in nationality_entries() for f in entry if f)
    alternatives = [word_alternation(forms), *_DESCRIPTIVE]
    return re.compile(rf"(?<![\w-])(?:{'|'.join(alternatives)})(?![\w-])", re.IGNORECASE)


def names_group(text: str, extra_terms: frozenset[str] = frozenset()) -> bool:
    """True when `text` names a group of people (module doc); `extra_terms` are a policy's group words."""
    return bool(group_pattern(frozenset(extra_terms)).search(text))
