"""Benign targets for stereotype statements: the same topic, the generalisation dropped.

A statement is parsed into a claim "<group> <predicate>" (plural predicate: "are lazy", "steal our jobs",
"can't do math"). A target is one of several frames:
- individualise: the claim becomes a statement about individuals ("Whether someone is lazy depends on the person,
  not on being an immigrant."; "Immigrants are individuals: whether one of them ... depends on the person.");
- name it: the claim is named as a stereotype ("The idea that immigrants are lazy is a stereotype, not a fact.",
  "It's unfair to assume that ...");
- ability: "Whether someone can do math depends on the person, not on being a woman.";
- concern kept: for complaints with a real concern behind them ("steal our jobs"), the concern is kept and the
  blame on the group dropped ("Jobs are a fair thing to worry about, but blaming immigrants for it is unfair.").

Counterfactual principle: the frame is chosen by a hash of the statement with its group masked (and the slot
kind), never by the group, so the same statement about any group gets the same rewrite pattern.
"""

from __future__ import annotations

import hashlib
import re

from srllm.data.counterfactual import third_singular
from srllm.data.group_lexicon import group_forms

# What a claim about a kind of group is really about ("... not on their <dimension>").
DIMENSION = {"gender": "gender", "sexual_orientation": "identity", "race": "race", "religion": "religion",
             "age": "age", "nationality": "background", "disability": "disability", "health": "health",
             "body": "appearance", "socioeconomic": "background", "geography": "origin",
             "political": "politics", "other": "lifestyle", "race/nationality": "background"}

_VOWEL = re.compile(r"^(?:[aeio]|u(?!ni|s[aeiou]|r[aeiou])|hon|heir)", re.I)

# Concerns behind complaint-type predicates: kept, without the blame on the group.
CONCERNS = [
    (r"\b(?:steal\w*|tak\w+|took)\b.*\bjobs?\b", "Competition for jobs is a fair thing to worry about"),
    (r"\bneighbou?rhoods?\b|\btown\b", "Changes in the neighborhood can be worrying"),
    (r"\bcrimes?\b|\bthugs?\b|\bviolent\b", "Crime is a real concern"),
    (r"\bwelfare\b|\bthe system\b|\bbenefits\b|\bfreeloaders\b|\bdrain on the economy\b|\bmooch",
     "How public money is spent is a fair question"),
    (r"\bdrive\b|\bdrivers?\b|\blicen[cs]es?\b", "Dangerous driving is a real problem"),
    (r"\bdiseases?\b", "Public health is a real concern"),
    # not someone else's money ("only interested in a man's money" is no claim about being careless with money)
    (r"(?<!'s )\bmoney\b|\bdebts?\b|\btippers?\b", "Being careful with money matters"),
    (r"\bdecisions\b|\bresponsib", "Good judgement matters"),
]


def h(*parts: str) -> float:
    return int(hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:12], 16) / 16 ** 12


def article(phrase: str) -> str:
    return ("an " if _VOWEL.match(phrase) else "a ") + phrase


def cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def lower_first(s: str, keep: set[str] = frozenset()) -> str:
    """Lower-case the first letter unless the first word is a proper noun ("Muslims", "Black people")."""
    w = s.split(" ", 1)[0]
    if w in keep or (w[:1].isupper() and w[1:2].islower() and w.lower() not in _COMMON_START):
        return s
    return s[:1].lower() + s[1:]


_COMMON_START = {"women", "men", "girls", "boys", "old", "young", "poor", "rich", "all", "most", "the", "those",
                 "people", "trans", "gay", "fat", "teenagers", "immigrants", "foreigners", "refugees", "disabled",
                 "blind", "deaf", "lazy", "some", "every", "many", "these", "ladies", "mothers", "fathers", "wives",
                 "husbands", "elderly", "seniors", "retirees", "millennials", "boomers", "migrants", "atheists",
                 "liberals", "conservatives", "leftists", "socialists", "libertarians", "progressives", "feminists",
                 "environmentalists", "vegans", "gamers", "hipsters", "bikers", "southerners", "northerners",
                 "lesbians", "homeless", "unemployed", "obese", "overweight", "short", "skinny", "bald", "tall",
                 "redheads", "diabetics", "pensioners", "evangelicals", "transgender", "queer", "bisexual",
                 "nonbinary", "asexual", "autistic", "mentally", "wheelchair", "welfare", "working-class",
                 "blue-collar", "ex-convicts", "millionaires", "low-income", "city", "rural", "country", "single",
                 "stay-at-home", "only", "divorced", "middle-aged", "housewives", "asylum"}

# --- singular agreement for predicates ("are lazy" -> "is lazy", "steal our jobs" -> "steals our jobs") ---------
_AUX = {"are": "is", "aren't": "isn't", "were": "was", "weren't": "wasn't", "have": "has", "haven't": "hasn't",
        "do": "does", "don't": "doesn't", "dont": "doesn't", "cant": "can't"}
_MODALS = {"can", "can't", "cannot", "could", "couldn't", "should", "shouldn't", "will", "won't", "would",
           "wouldn't", "must", "mustn't", "may", "might", "shall", "ought"}
_ADVERBS = {"always", "never", "only", "just", "all", "usually", "often", "really", "generally", "naturally",
            "simply", "mostly", "constantly", "also", "still", "rarely", "seldom", "tend"}
# Objects that one person has one of ("should lose their licenses" -> "should lose their license").
_OBJ_PLURAL = [(r"\bthemselves\b", "themselves"), (r"\blike maniacs\b", "like a maniac"),
               (r"\blike rabbits\b", "like rabbits"), (r"\btheir (licen[cs]e|job|car|house|home)s\b", r"their \1"),
               (r"\btheir lives\b", "their life")]
_NOT_VERB = re.compile(r"^(?:a|an|the|too|so|very|not|more|less|better|worse|\w+ly)$", re.I)
_CONJ_STOP = {"the", "a", "an", "their", "our", "your", "my", "his", "her", "its", "then", "now", "that", "this",
              "these", "those", "it", "they", "we", "you", "he", "she", "i", "there", "everything", "everyone",
              "nothing", "never", "always", "also", "still", "even", "just", "only", "so", "too", "very"}
_VERB_LY = {"apply", "reply", "rely", "fly", "supply", "bully"}


def third_person(verb: str) -> str:
    """The verb for a singular subject: the counterfactual generator's rule, plus "be" (a predicate can start with
    one: "be lazy")."""
    return "is" if verb.lower() == "be" else third_singular(verb)


_NEG = [(r"^(can't|cant|cannot|can not)\b", "can"), (r"^(don't|dont|do not)\s+", ""),
        (r"^(aren't|arent|are not)\b", "are"), (r"^(won't|wont|will not)\b", "will"), (r"^(have no)\b", "have")]
# Words in -ics that are not plural nouns for people ("are into politics"); "fanatics", "alcoholics" are.
_SINGULAR_ICS = {"politics", "economics", "ethics", "physics", "mathematics", "athletics", "genetics", "logistics",
                 "statistics", "electronics", "graphics", "basics", "tactics", "linguistics", "gymnastics"}


def positive_predicate(pred: str) -> str | None:
    """The predicate without its negation, for "whether someone ..." frames ("can't do math" -> "can do math");
    None when it has a negation this cannot undo."""
    p = re.sub(r"^(so|really|truly|just|all)\s+", "", pred.strip(), flags=re.I)
    p = re.sub(r"^(are|is)\s+(so|really|truly|always|all)\s+", r"\1 ", p, flags=re.I)
    p = re.sub(r"^(always|all|usually|generally)\s+", "", p, flags=re.I)
    for pat, rep in _NEG:
        if re.match(pat, p, re.I):
            p = re.sub(pat, rep, p, count=1, flags=re.I).strip()
            if pat.startswith("^(have no"):
                p = re.sub(r"^have\s+", "have any ", p)
            break
    if re.search(r"\b(not|no|never|n't|nothing|nobody|none)\b", p, re.I) and not re.match(r"(?i)are nothing but", p):
        return None
    return p


_IRREG = {"thieves": "thief", "wives": "wife", "women": "woman", "men": "man", "children": "child",
          "people": "person", "parasites": "parasite", "lives": "life"}


_NO_ARTICLE_BEFORE = _ADVERBS | {"such", "so", "even", "truly"}  # "is a still just man" is no sentence
_PREPOSITIONS = {"in", "at", "of", "with", "without", "for", "to", "about", "on", "by", "from", "than", "against",
                 "like", "over", "under", "toward", "towards", "among"}


def singular_noun_predicate(pred: str) -> str | None:
    """'are bad drivers' -> 'is a bad driver' (short noun-phrase predicates only), else None."""
    m = re.fullmatch(r"(?i)(are|aren't|are not)\s+((?:[a-z-]+\s+){0,2})([a-z-]+)", pred.strip())
    if not m:
        return None
    aux, mods, noun = m.group(1).lower(), m.group(2), m.group(3)
    if mods.strip().lower() in ("all", "all the", "nothing but", "just", "only"):
        return None
    if set(mods.lower().split()) & _NO_ARTICLE_BEFORE:
        return None  # "are still just men", "are such greedy people": no article fits before the adverb
    if set(mods.lower().split()) & _PREPOSITIONS:
        return None  # "are capable in finances": an adjective phrase, not a noun phrase
    low = noun.lower()
    if low in _IRREG:
        sg = _IRREG[low]
    elif re.search(r"[^aeiou]ies$", low):
        sg = noun[:-3] + "y"
    elif re.search(r"(ss|sh|ch|x)es$", low):
        sg = noun[:-2]
    elif low.endswith("s") and not low.endswith(("ss", "us", "is")):
        sg = noun[:-1]
    else:
        return None
    verb = {"are": "is", "aren't": "isn't", "are not": "is not"}[aux]
    return f"{verb} {article((mods + sg).strip())}"


def singular_predicate(pred: str) -> str | None:
    """The predicate with a singular subject, or None when it cannot be done safely."""
    words = pred.split()
    if not words:
        return None
    i = 0
    while i < len(words) - 1 and words[i].lower() in _ADVERBS and words[i].lower() != "tend":
        i += 1
    w = words[i].lower().strip(",")
    if w in ("are", "aren't", "were", "weren't"):
        rest = [x.lower().strip(",.") for x in words[i + 1:i + 4]]
        # A noun after an adjective's preposition is no predicate noun ("are complete without children"); a predicate
        # that starts with its preposition keeps its noun ("are in bad marriages", "are like appliances": no singular).
        stop = next((k for k, x in enumerate(rest) if x in _PREPOSITIONS), len(rest))
        if stop > 0:
            rest = rest[:stop]
        progressive = bool(rest) and rest[0].endswith("ing") and len(rest[0]) > 4
        plural_noun = [(re.search(r"[^su]s$", x) and not re.search(r"(ous|less|ness|always|is|was|has|this|its)$", x)
                        and x not in _SINGULAR_ICS) or x in ("men", "women", "children", "people")
                       for x in rest]
        if (not progressive and any(plural_noun)) or "all the same" in pred.lower():
            return None  # a plural noun predicate ("are bad drivers"): no safe singular
    if w in _AUX:
        words[i] = _AUX[w]
    elif w in _MODALS:
        pass
    elif w == "tend":
        words[i] = "tends"
    elif (_NOT_VERB.match(w) and w not in _VERB_LY) or not re.fullmatch(r"[a-z]+", w):
        return None
    else:
        words[i] = third_person(words[i])
    plain_verb = words[i].lower() not in _AUX.values() and w not in _MODALS and w != "tend"
    for j in range(i + 1, len(words) - 1):
        # a coordinated predicate agrees too: "are useless and have no discipline" -> "is useless and has ..."
        if words[j].lower() in ("and", "or", "but"):
            nxt = words[j + 1].lower().strip(",")
            if nxt in _AUX:
                words[j + 1] = _AUX[nxt]
            elif plain_verb and re.fullmatch(r"[a-z]+", nxt) and not _NOT_VERB.match(nxt) and nxt not in _MODALS \
                    and nxt not in _CONJ_STOP and not nxt.endswith(("ing", "ed", "s")):
                words[j + 1] = third_person(words[j + 1])
    out = " ".join(words)
    for pat, rep in _OBJ_PLURAL:
        out = re.sub(pat, rep, out)
    return out


# --- frames ------------------------------------------------------------------------------------------------------
def frames(claim: str, group: str, group_sg: str, kind: str, pred: str, pred_sg: str | None, slot: str,
           ability: str | None = None, concern_text: str | None = None) -> list[tuple[str, str]]:
    """Candidate (frame id, target) pairs for a claim "<group> <pred>"."""
    dim = DIMENSION.get(kind)  # None for a group the lexicon does not know ("goth kids"): no "their <dim>" frame
    a_sg = article(group_sg)
    c = lower_first(claim)
    out = []
    if pred_sg:
        out += [("individuals", f"{cap(group)} are individuals: whether one of them {pred_sg} depends on the person."),
                ("person", f"Whether someone {pred_sg} depends on the person, not on being {a_sg}.")]
        if dim:
            out.append(("dimension", f"Whether a person {pred_sg} has nothing to do with their {dim}."))
    if ability:
        out += [("ability", f"Whether someone can {ability} depends on the person, not on being {a_sg}."),
                ("ability_any", f"{cap(group)} can {ability} as well as anyone else."),
                ("ability_learn", f"Anyone can learn to {ability}, {group} included.")]
    concern = concern_of(concern_text or pred)
    if concern:
        out += [("concern", f"{concern}, but blaming {group} for it is unfair."),
                ("concern2", f"{concern}, and it has nothing to do with being {a_sg}.")]
    if not out:  # nothing individualises this claim: name it as a stereotype, or speak of individuals
        out = [("unfair", f"It's unfair to assume that {c}."),
               ("idea", f"The idea that {c} is a stereotype, not a fact."),
               ("individual", f"People are individuals; being {a_sg} says nothing about who someone is.")]
    return out


# Claims no frame restates well (violence, dehumanisation, sex): left to a stronger model or blocked. "Abuse the
# system" (benefit fraud) is not abuse of people: it is restated like any other trait.
HATEFUL = re.compile(r"\b(rape|raped|kill|killed|murder|beaten|beat|slaves?|objects?|property|animals?|inferior|exist|"
                     r"value|die|(?<!n't )(?<!not )deserve to|deserve to (?:live|be alive)|vaginas?|whores?|"
                     r"sluts?|breed|fetish\w*|vermin|subhuman|body parts|"
                     r"harass\w*|coerc\w*|forced|"
                     r"cockroaches|rats|gassed|exterminat\w*|deport\w*|hang|shot|shoot|"
                     r"hit|punch\w*|abus\w*\b(?!\s+(?:the\s+|our\s+)?(?:system|welfare|benefits?|privileges?))|"
                     r"dead|sexually|raping|tools?|toys?|possessions?|pets?|harm\w*|hurt\w*|"
                     r"tortur\w*|slapped|enslav\w*|asking for it|damaged goods|used goods|hoes?|(?:are|is) ruined|"
                     r"suffocat\w*|strangl\w*|stab(?:bed|bing|s)?|lynch\w*|burn(?:ed|t)? (?:alive|to death)|drowned|"
                     r"executed|hanged|blowjobs?|handjobs?|(?:are|is) for sex|"
                     r"(?:aren't|are not|not) (?:even |real |really )?(?:people|humans?|persons))\b", re.I)
# Sex is a topic a stereotype may be about ("Women are too uptight about sex."); with children or crime it is an
# accusation of abuse that no frame restates ("Men have sex with their own children.").
_SEXUAL_HARM = re.compile(r"(?i)\bsex(?:ual(?:ly)?)?\b.*\b(?:child\w*|kids?|minors?|crimes?|criminal|assault\w*|"
                          r"predators?|incest)\b|\b(?:child\w*|kids?|minors?|crimes?|assault\w*)\b.*\bsex(?:ual(?:ly)?)?\b")
_COLLECTIVE = re.compile(r"(?i)^(?:are|were)\s+(?:all\s+)?(?:the same\b|alike\b|the only\b|(?:such\s+)?(?:a|an)\b.*"
                         r"\b(?:people|race|society|nation|culture|group|bunch|lot|tribe|breed|community|country)\b)")
_CIRCUMSTANCE = re.compile(r"(?i)\b(?:poor|poorer|starving|starve|malnourished|hungry|homeless|impoverished|"
                           r"unemployed|jobless|broke|in poverty|refugees?|sick|ill|diseased)\b")
# A denied identity ("are not real men", "are still just men") or a rank ("are lower than men"): "whether one of them
# is a real man depends on the person" would leave it open; only the frames that name the claim as unfair are left.
_IDENTITY_DENIAL = re.compile(r"(?i)(?:\bnot|n't|\bnever)\s+(?:even\s+|really\s+|actually\s+)?"
                              r"(?:(?:real|true|actual|proper)\s+\w+|(?:a\s+)?part of)|"
                              r"\bjust\s+(?:men|women|boys|girls|a man|a woman)\b|"
                              # a rank among people ("are lower than men", "are the weaker sex"), not a trait
                              r"\b(?:are|is|were) (?:lower|less) than (?:men|women|others|everyone|humans?)\b|"
                              r"\bbeneath\b|\bthe weaker sex\b|\bsecond[- ]class\b")
_BE_PLURAL = re.compile(r"(?i)\b(be|become|make)\s+((?:[a-z-]+\s+)?)([a-z-]+?)(ies|ses|s)\b")


def _singular_objects(pred_sg: str) -> str:
    """'is too emotional to be good engineers' -> 'is too emotional to be a good engineer' (the subject is one
    person now)."""
    def rep(m):
        stem, ending = m.group(3), m.group(4).lower()
        noun = m.group(3) + m.group(4)
        if re.search(r"(ous|less|ness|ss|us|is|ics|ways|news|pants)$", noun, re.I) or len(noun) < 4:
            return m.group(0)
        sg = stem + ("y" if ending == "ies" else "s" if ending == "ses" and stem.endswith("s") else
                     "se" if ending == "ses" else "")
        mods = m.group(2)
        if mods.strip().lower() in ("the", "their", "our", "good at", "more", "less"):
            return m.group(0)
        return f"{m.group(1)} {article((mods + sg).strip())}"
    return _BE_PLURAL.sub(rep, pred_sg)


def claim_targets(parse: dict, key: str, k: int) -> list[tuple[str, str]]:
    """k (frame, target) pairs for a parsed claim (`srllm.rewrite.groups.parse_claim`), chosen by `key` (the
    statement with its groups masked, so every group gets the same frame), or [] when no frame fits."""
    group, group_sg, kind, pred = parse["group"], parse["group_sg"], parse["kind"], parse["pred"]
    claim = f"{group} {pred}"
    if HATEFUL.search(claim) or _SEXUAL_HARM.search(claim):  # the group may carry a clause ("women who get raped")
        return []
    ability = None
    m = re.match(r"(?i)(?:can't|cannot|can not|are (?:unable|incapable of) (?:to )?|have no business (?:trying to )?)"
                 r"\s*(.+)", pred)
    if m and not re.match(r"(?i)be\b|help\b", m.group(1)) and not re.search(r"[,;:]", m.group(1)):
        ability = m.group(1)
    pos = positive_predicate(pred)
    pred_sg = (singular_predicate(pos) or singular_noun_predicate(pos)) if pos else None
    if _COLLECTIVE.match(pred) or _CIRCUMSTANCE.search(pred) or _IDENTITY_DENIAL.search(pred):
        # "are a dirty people": a claim about the whole group, no individual restates it; "are poor", "are always
        # starving": a hardship, which "depends on the person" would blame on the person
        pred_sg = None
    if pred_sg:
        pred_sg = _singular_objects(pred_sg)
    # A prescription ("should go back to where they came from") is never restated as an open question about
    # individuals ("whether one of them should go back ..."): it is named as unfair.
    # So is a right denied ("don't deserve equal pay"): "whether one of them deserves equal pay" would leave the
    # right in question.
    if re.match(r"(?i)(?:just |all |really )?(?:(?:don't|do not|dont|never|shouldn't|should not) )?(should|shouldn't|"
                r"must|mustn't|need|deserve|belong|have no place|have no right|ought|get to|be allowed|"
                r"are (?:not )?allowed|aren't allowed)", pred) and not ability:
        # "Men should dominate women.": the prescription wrongs the other group, so "men deserve the same respect"
        # would name the wrong one; only the frames that name no group are left.
        other_group = group_forms()[1].search(pred) is not None
        return choose([*([] if other_group else [
                          ("prescriptive", f"It's unfair to say that {lower_first(claim)}; {group} deserve the same "
                                           "respect and choices as anyone else.")]),
                       ("view", f"The view that {lower_first(claim)} is unfair; people should be treated as "
                                "individuals."),
                       ("individual", f"People are individuals; being {article(group_sg)} says nothing about "
                                      "who someone is.")],
                      key + "|presc", k)
    cands = frames(claim, group, group_sg, kind, pred, pred_sg, "", ability=ability, concern_text=pred)
    return choose(cands, key, k)


def concern_of(text: str) -> str | None:
    for pat, concern in CONCERNS:
        if re.search(pat, text, re.I):
            return concern
    return None


def choose(cands: list[tuple[str, str]], key: str, k: int = 1) -> list[tuple[str, str]]:
    """k frames chosen by a hash of the group-masked statement (the counterfactual principle). Ability and concern
    frames, when present, are preferred: they keep the speaker's topic best."""
    special = [c for c in cands if c[0].startswith(("ability", "concern"))]
    pool = special + special + cands  # special frames twice as likely
    order = sorted(range(len(pool)), key=lambda i: h(key, str(i)))
    seen, out = set(), []
    for i in order:
        fid, txt = pool[i]
        if fid not in seen:
            seen.add(fid)
            out.append(pool[i])
        if len(out) == k:
            break
    return out
