"""The last-resort fallback: a minimal edit that deletes the flagged spans and tidies spacing/punctuation."""

from __future__ import annotations

import re

from srllm.detect.spans import remove_range
from srllm.schema import Span

__all__ = ["remove_spans", "drop_group_modifiers"]

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
    return _initial_case_of(text, edited.strip())


def _initial_case_of(text: str, edited: str) -> str:
    """`edited` starting upper-case when `text` did (its first word may have been deleted)."""
    if edited and text[:1].isupper() and edited[:1].islower():
        edited = edited[0].upper() + edited[1:]
    return edited


# Words after which a group word is a predicate or a name, not a modifier ("came out as gay", "is black").
_PREDICATE_BEFORE = {"is", "are", "was", "were", "be", "been", "being", "am", "as", "'re", "'s", "not", "so", "very"}
# Head nouns a group adjective may modify although they name a group themselves: "black men" -> "men".
_GENDER_HEADS = {"man", "men", "woman", "women", "boy", "boys", "girl", "girls", "guy", "guys", "lady", "ladies",
                 "kid", "kids", "child", "children"}
# Only a noun for a person may lose its identity adjective: for anything else the adjective is the information
# ("a large muslim population", "Japanese food"). Person nouns: these, and agent nouns (-er, -or, -ist, -ant, -ent:
# runner, doctor, scientist, tenant, student).
_PERSON_NOUNS = {"person", "family", "families", "neighbor", "neighbors", "neighbour", "neighbours", "friend",
                 "friends", "colleague", "colleagues", "classmate", "classmates", "couple", "couples", "teen", "teens",
                 "guy", "guys", "mom", "moms", "dad", "dads", "nanny", "nannies", "lady", "ladies", "kid", "kids",
                 "child", "children", "boy", "boys", "girl", "girls", "man", "men", "woman", "women", "boss",
                 "bosses", "employee", "employees", "nurse", "nurses", "chef", "chefs", "cook", "cooks", "maid",
                 "maids", "cop", "cops", "coworker", "coworkers", "athlete", "athletes", "candidate", "candidates",
                 "patient", "patients", "guest", "guests", "tourist", "tourists", "stranger", "strangers"}
_AGENT_SUFFIXES = ("er", "ers", "or", "ors", "ist", "ists", "ant", "ants", "ent", "ents")
# A capitalised next word or one that ends like a place makes the adjective part of a name ("saudi arabia", "South
# African Airways"), which stays.
_PLACE_ENDINGS = ("ia", "land", "stan", "africa", "america", "korea", "guinea", "york", "city", "town")
_WORD_AT = re.compile(r"[A-Za-z][A-Za-z'-]*")


def drop_group_modifiers(text: str, group_words: set[str] | frozenset[str]) -> list[str]:
    """Candidates of `text` without the identity adjectives that only describe a person or thing it tells of ("the
    group of black men attacked him" -> "the group of men attacked him"): each modifier dropped alone, then all of
    them. A modifier is an identity adjective (srllm.data.group_lexicon.identity_adjectives: race, religion,
    nationality, sexual orientation) followed by a noun for a person ("the Muslim family", "a Black engineer"; not
    "a large muslim population", not the generic "people": "black people" -> "people" would turn a claim about a
    group into one about everyone) that is not another group word of `group_words` (except gender heads: "African
    Americans" stays); one after a copula or "as" is a predicate and stays ("came out as gay")."""
    from srllm.data.group_lexicon import identity_adjectives

    modifiers = identity_adjectives()
    words = list(_WORD_AT.finditer(text))
    spans = []
    for k, m in enumerate(words[:-1]):
        word, nxt = m.group(0).lower(), words[k + 1].group(0).lower()
        prev = words[k - 1].group(0).lower() if k else ""
        gap = text[m.end():words[k + 1].start()]
        place = words[k + 1].group(0)[:1].isupper() or nxt.endswith(_PLACE_ENDINGS)  # "Saudi Arabia"
        person = nxt in _PERSON_NOUNS or (nxt.endswith(_AGENT_SUFFIXES) and len(nxt) > 4)
        if (word in modifiers and gap == " " and not place and person
                and (nxt not in group_words or nxt in _GENDER_HEADS) and prev not in _PREDICATE_BEFORE):
            spans.append((m.start(), words[k + 1].start()))
    if not spans:
        return []

    def without(cut: list[tuple[int, int]]) -> str:
        edited = text
        for start, end in reversed(cut):  # right to left: the earlier offsets stay valid
            edited = remove_range(edited, start, end)
        # "an Asian engineer" -> "an engineer" keeps its article, "an Indian man" -> "a man" mends it
        return re.sub(r"\b([Aa])n (?=[^aeiouAEIOU\W])", r"\1 ", _initial_case_of(text, edited))

    candidates = [without([s]) for s in spans]
    if len(spans) > 1:
        candidates.append(without(spans))
    return list(dict.fromkeys(candidates))
