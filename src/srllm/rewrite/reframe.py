"""Rule-based reframing of group generalisations (issue 13): a sentence that makes a claim about a group
("Women are too emotional to be good engineers.") is restated without the generalisation and with its topic kept:
about individuals ("Whether someone is too emotional to be a good engineer depends on the person, not on being a
woman."), keeping a real concern behind it ("Competition for jobs is a fair thing to worry about, but blaming
immigrants for it is unfair."), or naming the claim as a stereotype.

Sentence shapes: a claim with the group as subject (srllm.rewrite.groups.parse_claim), after lead-ins and tails that
only vouch for it are dropped ("It's a fact that ...", "..., everyone knows that"); "Typical X: Y"; "I've never met
an X who wasn't Y"; "Every X I have met was Y"; "Like all X, he turned out to be Y"; "X are seen as Y"; a group
narrowed by a clause ("X who Z are Y", "X with Z are Y": the clause stays in the group); and a "they" clause after
the one group a sentence names ("You can't trust X; they're all Y.", "The problem with X is that they ..."). A right
denied ("X don't deserve ..."), a denied identity ("X are not real men") or a prescription is named as unfair, never
restated as an open question about individuals.

The frames are those of the stereotype training pairs (`srllm.data.stereotypes.targets`). Their order is a hash of
the sentence with its group masked, so the same sentence about any group gets the same pattern (the counterfactual
principle). The Rewriter judges each candidate like an LLM rewrite (detector, similarity, quality checks, fluency)
and keeps the first that passes; a small model that returns stereotypes unchanged gets whole, benign sentences this
way, and a claim that no frame fits (violent or dehumanising ones) gets none.
"""

from __future__ import annotations

import re

from srllm.data.stereotypes.targets import claim_targets, singular_predicate
from srllm.rewrite.groups import LEAD, QUANT, groups_before, mask_group_phrases, parse_claim

__all__ = ["reframe_candidates", "claim_sentences", "plain_claims"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Tails that only assert the claim harder ("..., everyone knows that."): dropped before parsing.
_TAILS = [
    re.compile(r"(?i),?\s*(?:and\s+)?(?:everyone|everybody|we all|you all|all of us)\s+knows?(?:\s+(?:that|it))?"
               r"\s*[.!?]*\s*$"),
    re.compile(r"(?i),?\s*(?:and\s+)?(?:that'?s|this is) (?:just )?(?:what|how) they (?:do|are)\s*[.!?]*\s*$"),
    re.compile(r"(?i),?\s*and (?:he|she|they|i) (?:was|were|am|is|are) (?:right|correct)\s*[.!?]*\s*$"),
    re.compile(r"(?i),?\s*(?:period|end of story|it'?s a fact|that'?s a fact|lol|lmao|tbh|just saying|"
               r"no offen[cs]e|sorry not sorry)\s*[.!?]*\s*$"),
    # words that also end an ordinary sentence ("should not be taken seriously") only after a comma
    re.compile(r"(?i),\s*(?:fact|honestly|seriously|obviously)\s*[.!?]*\s*$"),
]
# Lead-ins that only vouch for the claim ("It's a fact that X are Y.", "My dad always said X are Y."): dropped.
_LEADS = re.compile(
    r"(?i)^\s*(?:it'?s a fact that|it is a fact that|the truth is,? (?:that )?|face it,?|let'?s face it,?|trust me,?|"
    r"(?:my|our) (?:dad|mom|father|mother|grandpa|grandma|grandfather|grandmother|uncle|aunt|boss|friends?) "
    r"(?:always |once |)(?:said|says|told me)(?: that)?|i(?:'ve| have)? always (?:said|thought|known|believed)"
    r"(?: that)?|(?:everyone|everybody|people|they) say(?:s)?(?: that)?|i(?:'m| am) sure(?: that)?|"
    r"it'?s in (?:their|the) (?:blood|nature|genes|dna)\s*[:,\u2014-])\s+")
# Sentence shapes that state a plain claim in other words: restated as "<group> <predicate>." before parsing.
_RESTATE = [
    (re.compile(r"(?i)^\s*typical\s+(.+?)\s*:\s*(.+?)(?:,?\s*as (?:usual|always))?\s*[.!]*\s*$"), r"\1 are \2."),
    (re.compile(r"(?i)^\s*i(?:'ve| have) never (?:met|seen|known) (?:one of the|an?|any)\s+(.+?)\s+who "
                r"(?:wasn't|isn't|weren't|aren't|was not|is not)\s+(.+?)\s*[.!]*\s*$"), r"\1 are \2."),
    (re.compile(r"(?i)^\s*(.+?)\s+can'?t help it,?\s+(?:they|they're|they are)\s+(.+?)\s*[.!]*\s*$"), r"\1 \2."),
    # "Like all Nigerians, he turned out to be too sensitive." -> "Nigerians are too sensitive."
    (re.compile(r"(?i)^\s*like (?:all|most|so many|many|other|every other)\s+(.+?),\s+(?:he|she|they|this one)\s+"
                r"(?:turned out to be|proved to be|was|is|seemed|seems)\s+(.+?)\s*[.!]*\s*$"), r"\1 are \2."),
    # "Every Muslim I have ever met was cheap." -> "Every Muslim is cheap."
    (re.compile(r"(?i)^\s*(every|each|any)\s+(.+?)\s+(?:i|we)(?:'ve| have)?\s+(?:ever\s+)?(?:met|known|seen|"
                r"worked with|dealt with)\s+(?:was|is|has been)\s+(.+?)\s*[.!]*\s*$"), r"\1 \2 is \3."),
]
# A phrase before the claim that gives a cause or a setting ("Because of the floods, the people in Ethiopia ..."):
# dropped, the claim is what follows.
_LEAD_PHRASE = re.compile(r"(?i)^\s*(?:because of|due to|given|despite|after|in|with)\b[^,]{1,60},\s*")
# A predicate that only reports how a group is seen ("are thought of as being quiet"): the claim is the trait.
_SEEN_AS = re.compile(r"(?i)\b(are|is)\s+(?:often\s+|usually\s+|always\s+)?(?:thought of as|seen as|considered|"
                      r"known to be|known for being|viewed as|regarded as|perceived as)\s+(?:being\s+)?")
# A clause about "they" after a group is named ("You can't trust X; they're all Y.", "The problem with X is that
# they Z.", "I don't like X because they Z."): the claim is "X <the clause's predicate>".
_THEY_CLAUSE = re.compile(r"(?i)(?:[,;:\u2014-]|\bis that|\bbecause|\bsince|\bcause|\bas)\s+(?:and\s+)?(?:all\s+)?"
                          r"they(?:('re|\s+are|'ve|\s+have|\s+were))?\s+(.+?)\s*[.!]*\s*$")
# A group with a relative clause or a "with" phrase ("Women who sleep around can't ...", "Women with kids are ..."):
# the claim is about that narrower group, restated with the phrase kept.
_MODIFIED_GROUP = re.compile(r"(?i)^(.+?)\s+((?:who|that|with|without)\s+[^,;:]{2,60}?)\s+((?:are|were|should|"
                             r"shouldn't|can't|cannot|can|will|won't|don't|do|deserve|need|must|never|always|all|"
                             r"only|have|get|make)\b.*)$")
_REASON = re.compile(r"(?i)(?:,\s*|\s)(?:because|since|cause|'cause)\s+(.+)$")
_THEY_AUX = {"'re": "are", "are": "are", "'ve": "have", "have": "have", "were": "were"}
# Insults in front of the group ("Lazy teenagers are ..."): the claim is about the group; the insult goes.
_INSULTS = ("lazy|stupid|pathetic|filthy|dirty|dumb|ignorant|greedy|useless|worthless|disgusting|annoying|entitled|"
            "spoiled|spoilt|ungrateful|damn|damned|bloody|fucking|stinking|smelly|ugly|fat|crazy|dangerous|loud|"
            "rude|arrogant|selfish|clueless|whiny|miserable|bitter|brainless|backward|dishonest|corrupt|evil|sick|nasty|vile|"
            "creepy|weird|lying|cheating|violent|criminal|useless|hateful|smug|loud-mouthed|good-for-nothing")
_LEADING_INSULTS = re.compile(rf"(?i)^(\s*{LEAD}{QUANT})((?:(?:{_INSULTS}),?\s+)+)(?=\w)")


def _strip_tails(sentence: str) -> str:
    for tail in _TAILS:
        stripped = tail.sub("", sentence)
        if stripped != sentence and stripped.strip():
            sentence = stripped.rstrip(" ,") + "."
    return sentence


def _unwrap(sentence: str) -> str:
    """`sentence` without what only vouches for its claim (lead-ins, tails) and with restating shapes made plain
    ("Typical X: Y" -> "X are Y.")."""
    clean = _LEADS.sub("", _strip_tails(sentence), count=1)
    clean = _LEAD_PHRASE.sub("", clean, count=1)
    for shape, claim in _RESTATE:
        clean = shape.sub(claim, clean, count=1)
    return _SEEN_AS.sub(r"\1 ", clean[:1].upper() + clean[1:], count=1)


def _parse(sentence: str) -> dict | None:
    if sentence.rstrip().endswith("?"):
        return None  # a question ("Poor people complain, don't they?") asserts nothing to restate
    clean = _unwrap(sentence)
    claim = parse_claim(clean)
    if claim is None:
        without_insults = _LEADING_INSULTS.sub(r"\1", clean)
        if without_insults != clean:
            claim = parse_claim(without_insults)
    if claim is None:
        claim = _modified_group_claim(clean)
    if claim is None:
        claim = _they_claim(clean)
    if claim is None:  # "It's hard to tell because Chinese people are so shifty.": the claim is the reason given
        m = _REASON.search(clean)
        if m:
            claim = parse_claim(m.group(1)[:1].upper() + m.group(1)[1:])
            if claim is not None and not re.match(r"(?i)(?:are|were)\b", claim["pred"]):
                claim = None  # only a trait given as the reason ("are so shifty"), not an event ("came up with it")
    return claim


def _modified_group_claim(sentence: str) -> dict | None:
    """The claim about a group narrowed by a relative clause or a "with" phrase ("Women who like basic things are
    bad."), with the phrase kept in the group ("women who like basic things"; singular "woman who likes basic
    things"), or None."""
    m = _MODIFIED_GROUP.match(sentence)
    after_verb = m.group(3).partition(" ")[2] if m else ""
    if not m or len(m.group(2).split()) > 7 or re.search(r"(?i)(?:^|\s)(?:are|were)\s", after_verb):
        return None  # a later "are" means the clause ran on ("girls who don't let them have friends are ...")
    claim = parse_claim(f"{m.group(1)} {m.group(3)}")
    if claim is None or not m.group(1).lower().endswith(claim["surface"].lower()):
        return None
    word, rest = m.group(2).split(None, 1)
    rest_sg = rest if word.lower() in ("with", "without") else singular_predicate(rest)
    if not rest_sg:
        return None
    claim["group"] = f"{claim['group']} {word.lower()} {rest}"
    claim["group_sg"] = f"{claim['group_sg']} {word.lower()} {rest_sg}"
    claim["surface"] = f"{claim['surface']} {m.group(2)}"
    return claim


def _they_claim(sentence: str) -> dict | None:
    """The claim of a "they" clause about the one group named before it, or None (two groups: "they" could be
    either)."""
    m = _THEY_CLAUSE.search(sentence)
    if not m:
        return None
    named = groups_before(sentence, m.start())
    story = len(m.group(2).split()) > 10 or re.search(r"(?i)\b(?:when|while|and then)\b", m.group(2))
    if len({g.lower() for g in named}) != 1 or story:
        return None  # no group, two groups, or a story about what some of them did: left to the other stages
    group = named[-1]
    aux = _THEY_AUX.get((m.group(1) or "").strip().lower(), "")
    claim = parse_claim(f"{group} {aux} {m.group(2)}.".replace("  ", " "))
    if claim is not None:
        claim["surface"] = group
    return claim


def claim_sentences(text: str) -> list[tuple[int, dict]]:
    """(sentence index, parsed claim) for each sentence of `text` that generalises about a group."""
    out = []
    for i, sentence in enumerate(_SENTENCE_END.split(text.strip())):
        claim = _parse(sentence)
        if claim is not None:
            out.append((i, claim))
    return out


def plain_claims(text: str) -> list[str]:
    """The group claims of `text` stated plainly, for the sentences where that differs from what is written: a
    claim wrapped in words that only vouch for it ("It's a fact that X are Y.", "My dad always said X are Y, and he
    was right.") or put in another shape ("I've never met one of the X who wasn't Y.", "Typical X: Y.") becomes "X
    are Y." (the detector scores these too: its heads learnt claims more than the wrappers around them). Only
    those: a "they" clause is not unwrapped ("The documentary follows two teenagers as they train for a marathon."
    would become the generic "Teenagers train for a marathon."), and a plain sentence ("Women are bad drivers.",
    "These X are Y.") gives nothing."""
    out = []
    for sentence in _SENTENCE_END.split(text.strip()):
        if sentence.rstrip().endswith("?"):
            continue
        unwrapped = _unwrap(sentence)
        if unwrapped.strip(" .!") != sentence.strip(" .!") and parse_claim(unwrapped) is not None:
            out.append(unwrapped)
    return out


def reframe_candidates(text: str, max_candidates: int = 6) -> list[str]:
    """Benign restatements of `text`, best frame first: each sentence that generalises about a group is replaced
    by a frame (candidate j uses each sentence's j-th frame); the other sentences are kept as written. [] when no
    sentence parses as a group claim or no frame fits one of them."""
    sentences = _SENTENCE_END.split(text.strip())
    claims = claim_sentences(text)
    if not claims:
        return []
    frames_per_sentence = {}
    for i, claim in claims:
        # The frame is chosen by the sentence with its group masked (the counterfactual principle), including a
        # group the lexicon lacks ("Ghanaians") or names in the singular ("every Ghanaian").
        key = mask_group_phrases(re.sub(re.escape(claim["surface"]), "someone", sentences[i], flags=re.I))
        targets = claim_targets(claim, key, max_candidates)
        if not targets:
            return []  # a claim no frame restates well: leave the whole text to the other stages
        frames_per_sentence[i] = [target for _frame, target in targets]
    n = max(len(t) for t in frames_per_sentence.values())
    candidates = []
    for j in range(n):
        parts = [frames_per_sentence[i][min(j, len(frames_per_sentence[i]) - 1)] if i in frames_per_sentence
                 else s for i, s in enumerate(sentences)]
        candidate = " ".join(parts)
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates
