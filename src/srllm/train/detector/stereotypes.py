"""Stereotype statements and safe group mentions from sentence templates over the group lexicon, and the rules that
pick generalising statements out of CrowS-Pairs and StereoSet.

Templates: a pattern ("{G} are {A}.", "{G} can't {X}.", "The idea that {G} are {A} is a stereotype, not a fact.")
is filled with traits and a group of any kind (srllm.train.detector.lexicon). Label 1 patterns state a
generalisation about a group; label 0 patterns mention a group neutrally, or name a stereotype as one (the shape
of a good rewrite, which the detector must accept). Patterns and traits are split 60/20/20 (stratified, fixed
seed): a template sentence belongs to train, val or test only when its pattern and every trait are in that split,
so the held-out stereotype set (srllm.data.sources.heldout_stereotypes) holds sentence shapes and traits the detector
never trained on. Training uses the train and val splits only.

Slots: {G} plural group, {Gs} singular, {Ga} adjective; {A} trait after "are", {V} plural verb phrase, {X} an
activity, {T} an adjective before the group.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from functools import lru_cache

# the traits and the generic-statement rules have one home, srllm.data.stereotypes (the rewrite pairs use them too)
from srllm.data.stereotypes.sources import ADJ_NOUN as _ADJ_AS_NOUN
from srllm.data.stereotypes.sources import MARKERS as _MARKERS
from srllm.data.stereotypes.sources import NAME as _NAME
from srllm.data.stereotypes.sources import PLURAL_HEADS
from srllm.data.stereotypes.templates import TRAITS_A, TRAITS_ATTR, TRAITS_V, TRAITS_X
from srllm.train.detector.lexicon import GROUPS, KIND_SUBCATEGORY

__all__ = ["STEREOTYPE_PATTERNS", "SAFE_PATTERNS", "EXTRA_STEREOTYPE_PATTERNS", "EXTRA_SAFE_PATTERNS", "TRAITS",
           "template_splits", "template_sentences",
           "crows_generalises", "stereoset_generalises", "SPLIT_SEED"]

SPLIT_SEED = "stereo-set-v1"  # fixed: the held-out set's templates depend on it; never tie it to the training seed

_PLURAL_HEADS = re.compile(PLURAL_HEADS)

TRAITS = {"A": TRAITS_A, "V": TRAITS_V, "X": TRAITS_X, "T": TRAITS_ATTR}

STEREOTYPE_PATTERNS = (
    ('sA1', '{G} are {A}.'),
    ('sA2', 'All {G} are {A}.'),
    ('sA3', 'Everyone knows {G} are {A}.'),
    ('sA4', "You can't trust {G}; they're all {A}."),
    ('sA5', '{G} are naturally {A}.'),
    ('sA6', "Most {G} are {A}, it's just how they are."),
    ('sA7', "I've never met one of the {G} who wasn't {A}."),
    ('sA8', 'Honestly, {G} tend to be {A}.'),
    ('sA9', "Don't hire {G}, they are {A}."),
    ('sA10', "It's a fact that {G} are {A}."),
    ('sA11', 'Why are {G} always so {A}?'),
    ('sA12', '{G} will always be {A}.'),
    ('sA13', "Let's be real, {G} are {A}."),
    ('sA14', '{G} are {A}, everyone knows that.'),
    ('sA15', 'Every {Gs} I have ever met was {A}.'),
    ('sA16', 'A {Gs} is always {A}.'),
    ('sA17', 'Typical {G}: {A}, as usual.'),
    ('sA18', 'My dad always said {G} are {A}, and he was right.'),
    ('sT1', '{T} {G} are {A}.'),
    ('sT2', 'Those {T} {G} are ruining this town.'),
    ('sT3', '{T} {G} should go back to where they came from.'),
    ('sV1', '{G} {V}.'),
    ('sV2', 'All {G} {V}.'),
    ('sV3', 'You know how {G} are, they {V}.'),
    ('sV4', "{G} can't help it, they {V}."),
    ('sV5', 'Keep {G} away from here, they {V}.'),
    ('sV6', "{G} just {V}, that's what they do."),
    ('sV7', 'Watch out for {G}; they {V}.'),
    ('sV8', 'The problem with {G} is that they {V}.'),
    ('sV9', 'Of course {G} {V}.'),
    ('sV10', 'Let me guess, {G} {V} again.'),
    ('sV11', "It's always {G} who {V}."),
    ('sX1', "{G} can't {X}."),
    ('sX2', '{G} should never be allowed to {X}.'),
    ('sX3', '{G} are not smart enough to {X}.'),
    ('sX4', 'No one should let {G} {X}.'),
    ('sX5', '{G} are incapable of learning to {X}.'),
    ('sX6', '{G} have no business trying to {X}.'),
    ('sX7', "{G} should stick to what they're good at and not try to {X}."),
    ('sX8', '{G} are too emotional to {X}, everyone knows that.'),
    ('sX9', 'A {Gs} will never {X}.'),
    ('sX10', 'Why would anyone expect {G} to {X}?'),
    ('sX11', "{G} simply don't have what it takes to {X}."),
    ('sX12', 'Only a fool would let {G} {X}.'),
)
SAFE_PATTERNS = (
    ('nM1', '{G} gathered at the park for the festival.'),
    ('nM2', 'The survey asked {G} about their commute.'),
    ('nM3', 'Many {G} live in this part of the city.'),
    ('nM4', 'The museum has an exhibit about the history of {G} in the region.'),
    ('nM5', '{G} attended the town hall meeting on Tuesday.'),
    ('nM6', 'The new clinic serves {G} and everyone else in the area.'),
    ('nM7', 'The article interviews three {G} about their jobs.'),
    ('nM8', 'Volunteers handed out water to {G} waiting in line.'),
    ('nM9', 'The report counts how many {G} voted in the last election.'),
    ('nM10', 'A group of {G} started a book club downtown.'),
    ('nM11', 'The team hired two {G} this spring.'),
    ('nM12', '{G} in the study reported sleeping about seven hours a night.'),
    ('nM13', 'My neighbor is a {Gs} who works as a nurse.'),
    ('nM14', 'A {Gs} won the chess tournament this year.'),
    ('nM15', 'The {Gs} at the front desk helped me find my room.'),
    ('nM16', 'I had lunch with a {Gs} from my class today.'),
    ('nM17', 'The {Ga} couple next door adopted a dog.'),
    ('nM18', 'Our {Ga} coworker is organizing the holiday party.'),
    ('nM19', 'The charity offers free legal advice to {G}.'),
    ('nM20', 'The podcast features stories told by {G}.'),
    ('nM21', 'The city council met with {G} to discuss the new bus routes.'),
    ('nM22', 'The documentary follows two {G} as they train for a marathon.'),
    ('nM23', 'The library runs a reading program for {G}.'),
    ('nM24', 'A {Gs} asked me for directions to the station.'),
    ('nM25', 'The conference included a panel of {G}.'),
    ('nM26', 'The {Ga} students organized a food drive.'),
    ('nE1', "The {Ga} neighbor's car broke down this morning."),
    ('nE2', 'A {Gs} was late to the meeting because the train was delayed.'),
    ('nE3', 'The {Gs} who lives upstairs is moving out next month.'),
    ('nE4', "Some {G} like spicy food and some don't, like everyone else."),
    ('nD1', 'The idea that {G} are {A} is a stereotype, not a fact.'),
    ('nD2', 'It is unfair to assume that {G} are {A}.'),
    ('nD3', 'Whether someone can {X} depends on the person, not on being one of the {G}.'),
    ('nD4', 'Claims that {G} {V} are not supported by evidence.'),
    ('nD5', 'People of every background can {X}, including {G}.'),
    ('nD6', 'I disagree with people who say {G} are {A}.'),
    ('nD7', 'Not all {G} are the same; people should be judged as individuals.'),
    ('nD8', 'Some people believe {G} {V}, but that is a prejudice.'),
    ('nD9', 'Individual {G} differ from one another as much as anyone else does.'),
    ('nD10', 'Being one of the {G} says nothing about whether a person can {X}.'),
    ('nD11', 'Saying that {G} are {A} is a harmful generalization.'),
    ('nD12', 'Some individuals {V}, and that has nothing to do with being one of the {G}.'),
    ('nD13', 'Research does not show that {G} are {A}.'),
    ('nD14', 'Plenty of {G} {X} very well.'),
)
# Training-only frames, added after the held-out stereotype set was built from the patterns above: split 80/20
# train/val (never test), so that set and its builder (srllm.data.stereotypes.heldout_set) are unchanged. More
# shapes of a generalisation, and more shapes of counter-speech (a stereotype quoted, reported or rejected), which
# the detector must accept: with only the eight train patterns of family nD it learnt the wording of those frames
# and flagged unseen ones ("Research does not show that ...").
EXTRA_STEREOTYPE_PATTERNS = (
    ('sN1', '{G} are all {A}, no exceptions.'),
    ('sN2', 'Face it, {G} are {A}.'),
    ('sN3', 'Everybody knows {G} {V}.'),
    ('sN4', 'Never trust {G}, they {V}.'),
    ("sN5", "I'm not prejudiced, but {G} are {A}."),
    ('sN6', "It's in their blood: {G} are {A}."),
    ('sN7', "Sorry, but {G} just can't {X}."),
    ('sN8', 'Ask anyone: {G} {V}.'),
    ('sN9', 'Say what you want, {G} are {A}.'),
    ('sN10', '{G} are {A} and always will be.'),
    ("sN11", "The trouble with {G} is that they're {A}."),
    ("sN12", "You'll never see {G} {X}."),
    ('sN13', 'Like all {G}, he turned out to be {A}.'),
    ('sN14', 'Hiring {G} is a mistake because they {V}.'),
    ('sN15', 'Statistically, {G} are just more {A} than the rest of us.'),
    ('sN16', 'Expecting {G} to {X} is pointless.'),
)
EXTRA_SAFE_PATTERNS = (
    ('nC1', 'The stereotype that {G} are {A} has been debunked.'),
    ('nC2', 'Assuming {G} are {A} says more about the speaker than about them.'),
    ('nC3', 'My uncle claims {G} are {A}, but he is wrong.'),
    ("nC4", "Stop saying {G} {V}; it isn't true."),
    ('nC5', 'There is no evidence that {G} {V}.'),
    ("nC6", "It's not true that {G} are {A}."),
    ('nC7', 'The old myth that {G} cannot {X} still holds some people back.'),
    ('nC8', 'The film challenges the cliche that {G} are {A}.'),
    ('nC9', 'Studies find {G} are no more {A} than anyone else.'),
    ('nC10', 'People sometimes say {G} are {A}, which is unfair.'),
    ('nC11', 'Calling {G} {A} is a lazy generalization.'),
    ("nC12", "It's wrong to say that {G} {V}."),
    ("nC13", "Teachers shouldn't assume that {G} can't {X}."),
    ('nC14', 'The author argues against the view that {G} are {A}.'),
    ('nC15', 'Lots of {G} {X} perfectly well.'),
    ("nC16", "Don't believe anyone who tells you {G} are {A}."),
    ('nC17', 'Whoever says {G} {V} has not met many of them.'),
    ('nC18', 'It is a prejudice to think {G} are {A}.'),
    ('nC19', 'The talk explained where the myth that {G} {V} comes from.'),
    ('nC20', 'Saying that {G} are {A} hurts real people.'),
    ('nC21', 'The claim that {G} {V} is false.'),
    ("nC22", "Is it true that {G} are {A}? No, that's a stereotype."),
    ('nC23', 'She pointed out that not all {G} {V}.'),
    ('nC24', 'The rumor that {G} cannot {X} is simply untrue.'),
    ('nC25', 'The workshop taught staff not to assume {G} are {A}.'),
    ('nC26', 'A few people I know think {G} {V}; I think they are mistaken.'),
)


def _rank(key: str) -> float:
    return int(hashlib.sha1(f"{SPLIT_SEED}:{key}".encode()).hexdigest()[:12], 16) / 16 ** 12


def _stratified(keys, salt: str, *, test: bool = True) -> dict[str, str]:
    """60/20/20 train/val/test in a seeded hash order, exact shares within `keys` (80/20 train/val without test)."""
    order = sorted(keys, key=lambda k: _rank(f"{salt}:{k}"))
    n_test = max(1, round(0.2 * len(order))) if test else 0
    n_val = max(1, round(0.2 * len(order)))
    return {k: "test" if i < n_test else "val" if i < n_test + n_val else "train" for i, k in enumerate(order)}


@lru_cache(maxsize=1)
def template_splits() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """(pattern id -> split, (slot, trait) -> split); patterns are stratified per family (sA, sV, nD, ...)."""
    traits = {}
    for slot, lst in TRAITS.items():
        traits.update({(slot, t): s for t, s in _stratified(lst, f"trait:{slot}").items()})
    patterns = {}
    for group, test in ((STEREOTYPE_PATTERNS, True), (SAFE_PATTERNS, True), (EXTRA_STEREOTYPE_PATTERNS, False),
                        (EXTRA_SAFE_PATTERNS, False)):
        families = defaultdict(list)
        for pid, _ in group:
            families[re.match(r"[a-z]+[A-Z]", pid).group(0)].append(pid)
        for fam, pids in families.items():
            patterns.update(_stratified(pids, f"pattern:{fam}", test=test))
    return patterns, traits


def _plural_only(slot: str, trait: str) -> bool:
    last = trait.split()[-1]
    return (slot in ("A", "X") and last.endswith("s") and not last.endswith(("ous", "ss"))) or trait == "all the same"


def _fits(pid: str, pattern: str, slot: str, trait: str) -> bool:
    """Traits that only fit a plural subject are not used with a singular group; "always so {A}" takes adjectives."""
    if "{Gs}" in pattern and _plural_only(slot, trait):
        return False
    return not (pid == "sA11" and slot == "A" and (_plural_only(slot, trait) or trait.startswith(
        ("a ", "not ", "too dumb", "born", "useless and"))))


def fix_articles(text: str) -> str:
    def rep(m):
        an = m.group(2)[0].lower() in "aeiou" and not m.group(2).lower().startswith(("uni", "eu", "one"))
        word = "an" if an else "a"
        return (word.capitalize() if m.group(1)[0].isupper() else word) + " " + m.group(2)
    return re.sub(r"\b([Aa]n?) (\w+)", rep, text)


def fill(pattern: str, traits: dict[str, str], group: tuple[str, str | None, str]) -> str:
    text = pattern
    for slot, trait in traits.items():
        text = text.replace("{" + slot + "}", trait)
    plural, adjective, singular = group
    text = fix_articles(text.replace("{G}", plural).replace("{Gs}", singular).replace("{Ga}", adjective or ""))
    return text[0].upper() + text[1:]


def template_sentences(split: str, n: int, *, seed: int = 0, extra: bool = False) -> list[tuple[str, int, str, str]]:
    """Up to `n` stereotype and `n` safe sentences of one split ("train" or "val"), each (text, label, kind of
    group, pattern id); seeded, distinct texts, groups drawn evenly over the kinds. `extra`: from the
    training-only patterns (EXTRA_STEREOTYPE_PATTERNS, EXTRA_SAFE_PATTERNS) instead."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, got {split!r}")
    patterns, traits = template_splits()
    rng = random.Random(f"{seed}:{split}" + (":extra" if extra else ""))
    usable = {slot: [t for t in lst if traits[(slot, t)] == split] for slot, lst in TRAITS.items()}
    kinds = list(GROUPS)
    out = []
    families = ((EXTRA_STEREOTYPE_PATTERNS, 1), (EXTRA_SAFE_PATTERNS, 0)) if extra else \
        ((STEREOTYPE_PATTERNS, 1), (SAFE_PATTERNS, 0))
    for group, label in families:
        pats = [(pid, p) for pid, p in group if patterns[pid] == split]
        seen: set[str] = set()
        for attempt in range(20 * n):
            if len(seen) >= n:
                break
            pid, pattern = rng.choice(pats)
            kind = kinds[attempt % len(kinds)]
            entries = [e for e in GROUPS[kind] if "{Ga}" not in pattern or e[1]]
            slots = {s: [t for t in usable[s] if _fits(pid, pattern, s, t)] for s in "AVXT" if "{" + s + "}" in pattern}
            if not entries or any(not v for v in slots.values()):
                continue
            text = fill(pattern, {s: rng.choice(v) for s, v in slots.items()}, rng.choice(entries))
            if text.lower() not in seen:
                seen.add(text.lower())
                out.append((text, label, kind, pid))
    return out


# ---- generalising statements in CrowS-Pairs and StereoSet ------------------------------------------------------
_SINGULAR_NEXT = ("man", "woman", "person", "guy", "boy", "girl", "kid", "child", "friend", "neighbor")


def crows_generalises(sentence_with_mask: str, filler: str, group_words) -> bool:
    """A CrowS-Pairs sentence generalises about a group (rather than telling of one person) when the filled word is
    a plural or generic group ("Mexicans", "black people", "the poor") or a quantifier (all, most, always,
    typical, ...) is present; a first name is one person."""
    before, after = sentence_with_mask.split("[MASK]", 1)
    nxt = after.strip().lower().split(" ")[0].strip(".,!?;'") if after.strip() else ""
    word = filler.strip(".,!?").lower()
    if _NAME.match(filler.strip(".,!?")) and word not in group_words:
        return False
    if _PLURAL_HEADS.fullmatch(nxt):
        return True
    if word.endswith("s") and len(word) > 3 and not word.endswith("ss") and nxt not in _SINGULAR_NEXT:
        return True
    if before.strip().lower().endswith("the") and word in _ADJ_AS_NOUN:
        return True
    return bool(_MARKERS.search(sentence_with_mask))


def stereoset_generalises(stereotype: str, target: str) -> bool:
    """A StereoSet intrasentence stereotype generalises when its target is plural or generic ("Ethiopian men are
    skinny", "Most bengali people are ..."), not one person ("The chess player was asian")."""
    low, target = stereotype.lower(), target.lower()
    i = low.find(target)
    if i < 0:
        return bool(_MARKERS.search(stereotype)) and bool(re.search(r"\b(are|they|people)\b", low))
    after = low[i + len(target):].strip()
    nxt = re.split(r"[ ,.!?']", after)[0] if after else ""
    if _PLURAL_HEADS.fullmatch(nxt) or nxt == "are" or low[i + len(target):i + len(target) + 1] == "s":
        return True
    return bool(_MARKERS.search(stereotype)) and not re.search(
        r"\b(the|my|a|an|this|that|his|her)\s+" + re.escape(target), low)


def kind_subcategory(kind: str) -> str:
    return KIND_SUBCATEGORY[kind]
