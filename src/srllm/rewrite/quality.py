"""Checks a rewrite must pass besides the detector and the similarity threshold (issue 13, "no fragments, no
flips"). Each check compares the output with its input and returns why it fails, or None.

- `fragment`: the output is not a whole sentence where the input was one: empty; a dangling last word ("X are
  and have no."); a function word left facing a conjunction or punctuation ("are and", "the ."); or a lost
  subject (the output starts with a verb or an -ing form where the input did not: "Stealing our jobs and ruining
  the neighborhood."). Relative to the input: what the input itself does is never held against the output.
- `fluency_drop`: perplexity under a reference LM (the embedded SmolLM2, no adapter) of the output over the input's
  (`lm_ratio`): a ratio above `max_ppl_ratio` means the edit made the text much less like language.
- `flip`: criticism turned into praise, or praise into criticism: the input's evaluative polarity is clearly
  negative and the output's clearly positive ("this article is crap" -> "this article is good"), or the reverse
  ("then fuck yeah" -> "then it's a bad idea"). A small lexicon with negation handling (`polarity`), not a model.
- `still_generalises`: the output still makes a plain claim about a group that the input made ("Teenagers are
  useless and have zero discipline." from "Lazy teenagers are ..."): a sentence whose subject is a group phrase
  of the input, with no words that individualise or name it as a stereotype; or the same claim with the group
  hidden behind a stand-in ("Those people are ruining this town.").
"""

from __future__ import annotations

import re

__all__ = ["fragment", "flip", "polarity", "still_generalises", "QUALITY_CHECKS", "ReferencePerplexity"]

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?|[.,;:!?]")

# Words a whole sentence does not end on (where its input did not), and pairs that do not occur in one.
DANGLING_END = {"a", "an", "the", "and", "or", "but", "of", "than", "my", "your", "their", "our", "its", "very",
                "yo", "ur", "every",  # "get on yo" (slang "your"): a possessive whose noun went ("..., yo!" is fine)
                "such", "because", "whose", "so"}
_DANGLING_NO = {"have", "has", "had", "with", "no"}  # "... and have no." ends on a dangling "no"
_DETERMINER = {"a", "an", "the", "my", "your", "their", "our", "its"}
_COPULA = {"are", "is", "was", "were", "am"}
_CONJ = {"and", "or", "but"}
_PUNCT = {",", ".", ";", ":", "!", "?"}
_SUBJECT_PRONOUN = {"you", "i", "we", "they", "he", "she", "it", "there", "this", "that", "these", "those", "the",
                    "a", "an", "my", "your", "our", "their", "his", "her", "its", "anyone", "someone", "people"}
_ING_OK = {"nothing", "something", "everything", "anything", "being", "during", "king", "spring", "morning",
           "evening", "thing", "things", "string", "ring", "wing", "bring", "sing", "swing", "ceiling", "darling",
           "according", "including", "building", "wedding", "feeling", "meeting", "reading", "writing",
           "clothing", "housing", "funding", "training", "shopping", "parking", "cooking", "nursing", "ending"}
# ParaDetox's tokenisation splits "doesn 't" after the n, not before it.
_DETOK = [(re.compile(r"n\s+'t\b", re.I), "n't"), (re.compile(r"\s+(n't|'s|'re|'ve|'ll|'d|'m)\b", re.I), r"\1"),
          (re.compile(r"\s+([.,!?;:])"), r"\1")]


def _detok(text: str) -> str:
    for pat, rep in _DETOK:
        text = pat.sub(rep, text)
    return text


def _tokens(text: str) -> list[str]:
    return [t.lower().replace("’", "'") for t in _TOKEN.findall(_detok(text))]


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(_detok(text))]


# The plain words a rewrite puts in place of an insult; before "than" they needed "more"/"less" ("bad than").
_PLAIN_ADJECTIVE = {"bad", "good", "nice", "fine", "ok", "okay", "smart", "wrong", "stupid", "dumb", "crazy", "rude",
                    "mean", "annoying", "silly", "foolish", "ignorant", "unpleasant", "inappropriate"}
_DEGREE = {"more", "less", "rather", "no", "any", "much", "even", "far"}
_PREP = {"to", "of", "with", "about", "for", "from", "by", "at", "in", "on", "into", "than"}
_MODAL = {"should", "must", "can", "could", "will", "would", "shall", "may", "might"}


def _bad_pair(a: str, b: str) -> bool:
    """Two words that do not stand next to each other in a sentence ("are and", "the .", "the to" where a noun was
    deleted, "with should" where a noun phrase's head was)."""
    return ((a in _DETERMINER and (b in _CONJ or b in _PUNCT or b in _PREP)) or (a in _COPULA and b in _CONJ)
            or (a in _CONJ and (b in _CONJ or b in _PUNCT))
            or (a == b and (a in _DETERMINER or a in _COPULA or a in _PREP or a == "as"))  # "not as as you think"
            or (a in _PREP and b in _MODAL)
            or (a == "of" and (b in _CONJ or b in _PUNCT or b in {"as", "because", "when", "if", "so"})))


def _lost_subject(src_w: list[str], out_w: list[str]) -> str | None:
    """The output starts where the input's predicate started: its first words follow a copula (-ing form) or a
    subject (finite verb) in the input ("Immigrants are stealing our jobs" -> "Stealing our jobs ...")."""
    if len(out_w) < 2 or out_w[:2] == src_w[:2]:
        return None
    first = out_w[0]
    is_ing = first.endswith("ing") and len(first) > 5 and first not in _ING_OK
    is_finite = first in _COPULA | {"have", "has"} and out_w[1] not in _SUBJECT_PRONOUN
    if not (is_ing or is_finite):
        return None
    head = out_w[:3]
    for i in range(1, len(src_w) - len(head) + 1):
        if src_w[i:i + len(head)] == head and (is_finite or src_w[i - 1] in _COPULA | {"be", "'re"}):
            return f"lost its subject (starts with '{first}')"
    return None


def _lost_complement(src_w: list[str], out_w: list[str]) -> bool:
    """The output ends on a copula that the input followed with words ("libertarians are dirty" -> "libertarians
    are."): the deletion took the complement."""
    tail = out_w[-3:]
    return any(src_w[i:i + len(tail)] == tail for i in range(len(src_w) - len(tail)))


def _dangling_vocative(source: str, output: str) -> bool:
    """The output ends on ", you" where the input went on ("shut up, you worthless moron" -> "shut up, you"): the
    deletion took the noun the address was about."""
    out_t, src_t = _tokens(output), _tokens(source)
    out_t = out_t[:-1] if out_t and out_t[-1] in _PUNCT else out_t
    if out_t[-2:] != [",", "you"]:
        return False
    return any(src_t[i:i + 2] == [",", "you"] and i + 2 < len(src_t) and src_t[i + 2] not in _PUNCT
               for i in range(len(src_t) - 2))


# Particles a phrasal verb takes: deleting the verb before one leaves "when with the future" (from "when fucking
# with the future") or "stop around".
_PARTICLE = {"with", "around", "up", "off", "about"}  # not "over": "so fucking over-analysing"


def _deleted_verb(src_w: list[str], out_w: list[str]) -> str | None:
    """A deletion took an -ing verb and left its particle ("when fucking with the future" -> "when with the
    future"): the -ing word stood before a particle and after a word that is no determiner (an -ing word after "the"
    or "a" is a noun or an intensifier). `out_w` is a deletion from `src_w`."""
    j = 0
    for i, w in enumerate(src_w):
        if j < len(out_w) and out_w[j] == w:
            j += 1
            continue
        is_verb = w.endswith(("ing", "in")) and len(w) > 5 and w not in _ING_OK
        nxt, prev = (src_w[i + 1] if i + 1 < len(src_w) else None), (src_w[i - 1] if i else None)
        if is_verb and nxt in _PARTICLE and prev not in _DETERMINER and j < len(out_w) and out_w[j] == nxt:
            return f"the verb '{w}' was deleted and '{nxt}' left dangling"
    return None


def _deleted_copula(src_w: list[str], out_w: list[str]) -> str | None:
    """A deletion took a copula and left its subject facing a preposition or an -ing form ("Women's value is in
    pleasing men." -> "Women's value in pleasing men.", "This job is making me ..." -> "This job making me ...").
    `out_w` is a deletion from `src_w`."""
    out_pairs = set(zip(out_w, out_w[1:], strict=False))
    for x, cop, y in zip(src_w, src_w[1:], src_w[2:], strict=False):
        ing = y.endswith("ing") and len(y) > 4 and y not in _ING_OK
        if cop in _COPULA and (y in _PREP or ing) and (x, y) in out_pairs and (x, cop) not in out_pairs:
            return f"its verb '{cop}' was deleted"
    return None


def _deleted_runs(src_w: list[str], out_w: list[str]) -> list[tuple[int, int]]:
    """The [start, end) index ranges of `src_w` that the output dropped with the words on both sides kept (difflib's
    word alignment, so a rewrite that also changed other words ("yu" -> "you") is read too)."""
    import difflib

    ops = difflib.SequenceMatcher(a=src_w, b=out_w, autojunk=False).get_opcodes()
    return [(i1, i2) for k, (tag, i1, i2, _, _) in enumerate(ops)
            if tag == "delete" and 0 < k < len(ops) - 1 and ops[k - 1][0] == "equal" and ops[k + 1][0] == "equal"]


_SUBORDINATOR = {"if", "when", "because", "unless", "while", "than"}


def _deleted_head(source: str, src_w: list[str], out_w: list[str]) -> str | None:
    """A deletion took the head noun of a phrase and left its modifier facing "of" ("the fundamental stupidity of
    moving clocks" -> "the fundamental of moving clocks"), or took a verb's object and left the verb facing a
    subordinate clause ("was talking shit if you forgot" -> "was talking if you forgot"), whatever else changed."""
    for start, end in _deleted_runs(src_w, out_w):
        if start < 1 or end >= len(src_w):
            continue
        before, after = src_w[start - 1], src_w[end]
        took_noun = src_w[end - 1] not in _PREP | _PARTICLE | {"out", "over", "down"}  # "a page out of": no noun
        modifier = start >= 2 and src_w[start - 2] in _DETERMINER and before not in _PREP | _CONJ
        if after == "of" and took_noun and modifier:
            return f"the noun after '{before}' was deleted before 'of'"
        is_verb = before.endswith("ing") and len(before) > 5 and before not in _ING_OK
        # "talking, if ..." is whole: the comma ended the verb phrase
        no_comma = re.search(rf"(?i)\b{re.escape(src_w[end - 1])}\s+{after}\b", _detok(source))
        if is_verb and after in _SUBORDINATOR and no_comma and (start < 2 or src_w[start - 2] not in _DETERMINER):
            return f"the object of '{before}' was deleted"
    return None


_NOUN_LIKE_INTENSIFIER = {"complete", "total", "real", "absolute", "huge", "big"}


def _article_before(tokens: list[str], i: int) -> bool:
    """Whether tokens[i] follows "a"/"an" directly or through an intensifier ("a complete bad"); "a bit bad" and
    "a little bad" are fine."""
    j = i - 1
    if j >= 0 and tokens[j] in _NOUN_LIKE_INTENSIFIER:
        j -= 1
    return j >= 0 and tokens[j] in {"a", "an"}


def _after_punctuation(tokens: list[str]) -> bool:
    """Whether the last word follows a punctuation mark ("I'm hot, yo!": an interjection, not a possessive)."""
    end = len(tokens)
    while end and tokens[end - 1] in _PUNCT:
        end -= 1
    return end > 1 and tokens[end - 2] in _PUNCT


def _misplaced_adjective(tokens: list[str], i: int) -> str | None:
    """Why the plain adjective tokens[i] stands where the insult it replaced was a noun or a comparative, or None."""
    a, b = tokens[i], tokens[i + 1]
    if a not in _PLAIN_ADJECTIVE:
        return None
    before = tokens[i - 1] if i else None
    if b == "than" and before not in _DEGREE:
        return f"'{a} than' is no comparative"  # "nuttier than" replaced by "bad than"
    if b in _DETERMINER and before not in {"how", "so", "too", "as"}:  # "how bad the X is" is whole
        return f"'{a} {b}': an adjective where a noun went"  # "they had bad sex the first time" -> "had bad the"
    if (b in _PREP or (b in _PUNCT and b != ",")) and _article_before(tokens, i):  # "a smart, small X" is whole
        return f"'a {a} {b}': an adjective where a noun went"  # "being a complete bitch to" -> "a complete bad to"
    return None


def fragment(source: str, output: str) -> str | None:
    """Why `output` is not a whole sentence where `source` was, or None."""
    out_w, src_w = _words(output), _words(source)
    if not out_w:
        return "no words left"
    if len(out_w) < len(src_w):  # words went: what did they take?
        span_edit = _is_deletion(src_w, out_w)
        why = ((span_edit and (_deleted_verb(src_w, out_w) or _deleted_copula(src_w, out_w)))
               or _deleted_head(source, src_w, out_w))
        if why:
            return why
    last = out_w[-1]
    out_t, src_t = _tokens(output), _tokens(source)
    if last != (src_w[-1] if src_w else None) and (
            (last in DANGLING_END and not (last == "yo" and _after_punctuation(out_t)))
            or (last == "no" and len(out_w) > 1 and out_w[-2] in _DANGLING_NO)
            or (last in _COPULA and _lost_complement(src_w, out_w))
            or (last == "you" and _dangling_vocative(source, output))):
        return f"ends on a dangling '{last}'"
    src_pairs = set(zip(src_t, src_t[1:], strict=False))
    for i, (a, b) in enumerate(zip(out_t, out_t[1:], strict=False)):
        if (a, b) in src_pairs:  # the writer's own words
            continue
        if _bad_pair(a, b):
            return f"'{a} {b}' left dangling"
        why = _misplaced_adjective(out_t, i)
        if why:
            return why
    return _lost_subject(src_w, out_w)


# ---- stance -------------------------------------------------------------------------------------------------------
# Evaluative words only: profanity used as an intensifier ("fuck it", "holy shit") says nothing about the stance.
POSITIVE = set("""good great nice excellent wonderful amazing brilliant best love loved lovely beautiful awesome
fantastic perfect interesting helpful clever talented impressive enjoyable smart wise valuable insightful
thoughtful accurate well-written pleasant admirable superb outstanding decent useful competent skilled capable
genius masterpiece""".split())  # noqa: SIM905
NEGATIVE = set("""bad poor wrong terrible awful horrible crap crappy garbage trash rubbish stupid idiot idiots idiotic
dumb moron useless worst worse hate ugly boring lazy incompetent clueless pathetic sucks suck sucked
disappointing mistaken weak lame nonsense ridiculous absurd disgusting dishonest liar liars shitty bullshit
ignorant misleading sloppy inaccurate pointless worthless flawed careless rude unhelpful nasty dreadful""".split())  # noqa: SIM905
_NEGATORS = {"not", "no", "never", "n't", "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't", "didn't",
             "can't", "cannot", "won't", "hardly", "nothing", "nobody", "without", "lack", "lacks",
             # spelt without the apostrophe, as informal text often is
             "isnt", "arent", "wasnt", "werent", "dont", "doesnt", "didnt", "cant", "wont", "aint", "shouldnt",
             "wouldnt", "couldnt", "havent", "hasnt"}


# Approval with no evaluative word: "then fuck yeah" is a yes, and "then it's a bad idea" its reverse.
_APPROVAL = re.compile(r"(?i)\b(?:(?:hell|fuck|fucking|heck|oh|oh hell) (?:yeah|yes)|yay|hooray|woo+hoo+)\b")


def polarity(text: str) -> int:
    """(# positive) - (# negative) evaluative words, a word after a negator (within 3 words: a window of 4 rejected
    more human ParaDetox rewrites) counted reversed; an exclamation of approval ("hell yeah") counts as one positive
    word."""
    words = _words(text)
    score = len(_APPROVAL.findall(text))
    for i, w in enumerate(words):
        val = 1 if w in POSITIVE else -1 if w in NEGATIVE else 0
        if not val:
            continue
        window = words[max(0, i - 3):i]
        if any(map(_is_negator, window)):
            val = -val
        score += val
    return score


def _is_negator(word: str) -> bool:
    return word in _NEGATORS or word.endswith("n't")


def _negations(words: list[str]) -> int:
    return sum(map(_is_negator, words))


def _is_deletion(src_w: list[str], out_w: list[str]) -> bool:
    """Every output word is an input word, in the input's order (a span edit, not a rewrite)."""
    it = iter(src_w)
    return all(any(w == s for s in it) for w in out_w)


# "Whether someone is a good worker depends on the person": an open question asserts nothing, so its words are no
# praise ("Women aren't good workers." restated this way is not a flip).
_OPEN_QUESTION = re.compile(r"(?i)\bwhether\b.*?(?=\b(?:depends on|has nothing to do)\b)")


def flip(source: str, output: str) -> str | None:
    """Why `output` reverses the stance of `source` (criticism made praise, or praise made criticism), or None. A
    deletion that drops a negation flips the claim too ("A vegan will never learn English." -> "A vegan will learn
    English.")."""
    ps, po = polarity(source), polarity(_OPEN_QUESTION.sub("", output))
    if ps < 0 and po > 0:
        return "criticism turned into praise"
    if ps > 0 and po < 0:
        return "praise turned into criticism"
    src_w, out_w = _words(source), _words(output)
    if _negations(out_w) < _negations(src_w) and _is_deletion(src_w, out_w):
        return "a negation was deleted"
    return None


# ---- generalisations --------------------------------------------------------------------------------------------
_DISTANCE = re.compile(
    r"(?i)\b(individual|individuals|depends on|whether|stereotype|stereotypes|unfair|assume|assumption|"
    r"generaliz\w*|generalis\w*|not all|as well as anyone|anyone else|like anyone|every background|nothing to do|"
    r"says nothing|regardless|prejudice|not true|myth|some people (?:think|believe|say)|evidence)\b")
_SENT = re.compile(r"(?<=[.!?;:])\s+")


# A vague stand-in for a group the input named: "Those pathetic queer people are ruining this town." -> "Those
# people are ruining this town." deletes the group word and keeps the claim.
_STAND_IN = re.compile(r"(?i)^\s*(those|these|such|all those|all these)\s+(people|folks|types|guys)\b")


def still_generalises(source: str, output: str) -> str | None:
    """Why `output` still makes a group claim that `source` made (also with the group hidden behind "those
    people"), or None."""
    from srllm.rewrite.groups import groups_named, parse_claim

    src_groups = groups_named(source)
    if not src_groups:
        return None
    for sent in _SENT.split(output.strip()):
        if _DISTANCE.search(sent):
            continue
        claim = parse_claim(sent)
        if claim and claim["group"].lower() in src_groups:
            return f"still a claim about all {claim['group']}"
        stand_in = _STAND_IN.match(sent)
        # a claim once the stand-in is replaced by a group phrase the claim parser reads
        if stand_in and parse_claim(_STAND_IN.sub("people from Nowhere", sent, count=1)):
            return f"the group is hidden behind '{stand_in.group(0).strip()}' and the claim kept"
    return None


QUALITY_CHECKS = {"fragment": fragment, "flip": flip, "generalisation": still_generalises}


class ReferencePerplexity:
    """texts -> perplexity under a reference LM, for the fluency ratio. With a local transformers backend it reuses
    the backend's model with its adapter switched off (no second copy in memory); with a CTranslate2 backend it
    scores on CTranslate2 too (the backend itself when it has no adapter, else an int8 copy of the base model,
    about 4x faster than the fp32 model); otherwise (a remote backend, or none) it loads the embedded SmolLM2 on
    first use."""

    def __init__(self, backend=None):
        self.backend = backend
        self._scorer = None

    def __call__(self, texts):
        from srllm.models.lm_scoring import orthographic_form, perplexity, sequence_logprobs

        # Scored as written, like the FL judge: tokenised spacing ("you are wrong .") would otherwise dominate the
        # perplexity of a short text (2754 vs 215 for "You are wrong.") and reject good short rewrites.
        texts = [orthographic_form(t) for t in texts]
        model = getattr(self.backend, "model", None)
        tokenizer = getattr(self.backend, "tokenizer", None)
        if model is not None and tokenizer is not None and not isinstance(model, str):
            if hasattr(model, "disable_adapter"):
                with model.disable_adapter():
                    return perplexity(*sequence_logprobs(model, tokenizer, list(texts)))
            return perplexity(*sequence_logprobs(model, tokenizer, list(texts)))
        if self._scorer is None:
            self._scorer = self._make_scorer()
        return self._scorer(list(texts))

    def _make_scorer(self):
        from srllm.models.backends_ct2 import CTranslate2Backend

        if isinstance(self.backend, CTranslate2Backend):
            ct2 = self.backend
            if ct2.adapter:
                ct2 = CTranslate2Backend(model_name=ct2.model_name, compute_type=ct2.compute_type,
                                         threads=ct2.threads)
            from srllm.models.lm_scoring import perplexity

            return lambda texts: perplexity(*ct2.sequence_logprobs(texts))
        from srllm.models.lm_scoring import PerplexityScorer

        return PerplexityScorer()
