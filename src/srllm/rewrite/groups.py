"""Parse a stereotype statement into (lead-in, group phrase, predicate): "Honestly, all women are bad drivers."
-> ("Honestly, all", "women", "are bad drivers").

The subject may be a plural group phrase of the lexicon (srllm.data.group_lexicon, with its nationality list, and a
few common extras); an open group phrase ("people from Syria", "<group word or demonym> people", one plural noun
that names people by its suffix, "Ghanaians"), followed by a verb; or a generic singular subject ("Every Muslim
is ...", "The typical Texan ...", "A vegan will never ...", restated in the plural). Anything else gets no parse
(and only the frames that need none). The parse only decides how a text the detector flagged is restated; it is
never a reason to flag one."""

from __future__ import annotations

import re
from functools import lru_cache

from srllm.data.group_lexicon import GROUPS, TAXONOMY_ADDITIONS, kind_of_phrase, nationality_entries
from srllm.regex import word_alternation

EXTRA = {  # plural -> (singular, kind)
    "women": ("woman", "gender"), "men": ("man", "gender"), "trans people": ("trans person", "sexual_orientation"),
    "trans women": ("trans woman", "sexual_orientation"), "trans men": ("trans man", "sexual_orientation"),
    "trans folks": ("trans person", "sexual_orientation"), "transgender people": ("transgender person",
                                                                                 "sexual_orientation"),
    "transgenders": ("transgender person", "sexual_orientation"), "black men": ("Black man", "race"),
    "black women": ("Black woman", "race"), "black kids": ("Black kid", "race"), "white men": ("White man", "race"),
    "asian women": ("Asian woman", "race"), "asians": ("Asian person", "race"), "blacks": ("Black person", "race"),
    "mexicans": ("Mexican", "nationality"), "the poor": ("poor person", "socioeconomic"),
    "the rich": ("rich person", "socioeconomic"), "the elderly": ("elderly person", "age"),
    "old men": ("old man", "age"), "old women": ("old woman", "age"), "poor people": ("poor person", "socioeconomic"),
    "gay men": ("gay man", "sexual_orientation"), "gays": ("gay person", "sexual_orientation"),
    "muslim women": ("Muslim woman", "religion"), "jewish people": ("Jewish person", "religion"),
    "girls": ("girl", "gender"), "boys": ("boy", "gender"), "kids": ("kid", "age"),
    "feminists": ("feminist", "political"),
    "males": ("male", "gender"), "females": ("female", "gender"),
    "lesbians": ("lesbian", "sexual_orientation"), "immigrants": ("immigrant", "nationality"),
    "african americans": ("African American", "race"), "americans": ("American", "nationality"),
    "arabs": ("Arab", "race"), "indians": ("Indian", "nationality"), "jews": ("Jew", "religion"),
    "christians": ("Christian", "religion"), "catholics": ("Catholic", "religion"), "hindus": ("Hindu", "religion"),
}
LEAD = (r"(?:(?:honestly|seriously|frankly|let's be real|everyone knows|we all know|i think|of course|typical|"
        r"generally|typically|usually|in general)"
        r"[,:]?\s+(?:that\s+)?)?")
# "Most of the Ghanaians ...", "A lot of people in Ecuador ...": quantifiers that keep a claim general ("some of"
# does not).
QUANT = r"(?:(?:a lot of|lots of|(?:most|many|all) of(?: the)?|all|most|many|these|those|the)\s+)?"


@lru_cache(maxsize=1)
def group_table() -> dict[str, tuple[str, str]]:
    table = {}
    for kind, entries in GROUPS.items():
        for pl, _adj, sg in entries:
            table.setdefault(pl.lower(), (sg, kind))
    for pl, v in EXTRA.items():
        table.setdefault(pl, v)
    for kind, entries in GROUPS.items():  # "African American women", "Muslim men": a group within a group
        if kind in ("gender", "age", "body"):
            continue  # "female women", "old men" (EXTRA has it): no new group
        for _pl, adj, _sg in entries:
            if adj:
                for plural, singular in (("men", "man"), ("women", "woman")):
                    table.setdefault(f"{adj} {plural}".lower(), (f"{adj} {singular}", kind))
    for pl, adj, sg in nationality_entries():
        table.setdefault(pl.lower(), (sg, "nationality"))
        for plural, singular in (("men", "man"), ("women", "woman")):
            table.setdefault(f"{adj} {plural}".lower(), (f"{adj} {singular}", "nationality"))
    return table


@lru_cache(maxsize=1)
def singular_table() -> dict[str, tuple[str, str, str]]:
    """singular (lower case) -> (singular as written, plural, kind), for claims about "every Muslim"."""
    table = {}
    for pl, (sg, kind) in group_table().items():
        table.setdefault(sg.lower(), (sg, pl, kind))
    return table


@lru_cache(maxsize=1)
def _start_re() -> re.Pattern:
    alts = sorted(group_table(), key=len, reverse=True)
    return re.compile(rf"^\s*({LEAD}{QUANT})({'|'.join(re.escape(a) for a in alts)})\s+(.+?)\s*[.!?]*\s*$", re.I)


def parse_claim(statement: str) -> dict | None:
    """{'lead', 'group' (as written), 'group_sg', 'kind', 'pred', 'surface'} or None. The subject is a plural group
    phrase of the lexicon ("Women are ..."), else an open group phrase ("Ghanaians", "people from Syria", "goth
    people"), else a singular generic subject ("Every Muslim is ...", "The typical Texan ...", "A vegan will never
    ..."), restated in the plural. `surface` is the group as it stands in `statement` (for masking)."""
    m = _start_re().match(statement)
    if m:
        lead, group, pred = m.group(1).strip(), m.group(2), m.group(3)
        sg, kind = group_table()[group.lower()]
    else:
        found = _open_group(statement) or _singular_group(statement)
        if found is None:
            return None
        lead, group, sg, kind, pred, surface = found
    # "The people of Ethiopia", "the Eritrean people": generic; "the women in this town": particular women.
    generic_the = kind in ("geography", "nationality") and (group.lower().endswith(" people") or " " in group and
                                                               group.split()[1].lower() in ("from", "in", "of"))
    if lead.lower() == "the" and group.lower() not in ("poor", "rich", "elderly") and not generic_the:
        lead = ""  # "The women in this town ..." is about particular women: keep it as part of the group
        return None
    words = pred.split()
    first = next((w for w in words if w.lower() not in _ADVERBS), words[0]).lower()
    if (first.endswith("s") and first not in ("does", "is", "was", "has")) or first.endswith("'s"):
        return None  # "Women sports are a joke": the group word is a modifier, not the subject
    if re.fullmatch(r"[a-z]*[aeiouy][a-z]*ing", first):  # a gerund ("being"), not "bring" or "string"
        return None  # "Women being abused is funny": the subject is a clause about the group
    if re.match(r"(?i)(who|that|which|with|in|from|of|and|&|or|'s)\b", pred):
        return None  # a relative clause or a compound subject: not a simple claim
    # Capitalise proper-noun groups as the lexicon writes them ("black people" -> "Black people").
    canon = next((pl for kind_entries in GROUPS.values() for pl, _a, _s in kind_entries if pl.lower() == group.lower()),
                 None) or _case(group, kind)
    sg = _case(sg, kind)
    return {"lead": lead, "group": canon, "group_sg": sg, "kind": kind, "pred": pred.rstrip(" .!?"),
            "surface": group if m else surface}


# Adverbs between a subject and its verb ("Women always keep ..."): skipped when looking for the verb.
_ADVERBS = {"always", "usually", "sometimes", "mostly", "often", "just", "all", "really", "never", "simply",
            "generally", "typically", "seriously", "constantly", "naturally", "basically", "literally", "obviously",
            "clearly", "honestly", "only", "still", "also", "even", "rarely", "seldom", "truly", "certainly"}
# Words that can stand before "people" without naming a group ("some people", "most people", "stupid people").
_NOT_GROUP = {"some", "most", "many", "few", "all", "these", "those", "the", "other", "such", "certain", "several",
              "more", "both", "no", "any", "every", "real", "normal", "regular", "ordinary", "good", "bad",
              "stupid", "dumb", "lazy", "ugly", "smart", "nice", "mean", "crazy", "weird", "evil", "older",
              "younger", "our", "your", "their", "my", "his", "her", "its", "we", "you", "they", "sick", "annoying",
              "rude", "selfish", "ignorant", "disgusting", "worthless", "useless", "what", "which",
              "that", "this", "how", "why", "when", "where", "who", "whose", "today's", "modern", "famous", "poor",
              "rich", "young", "old", "elderly", "and", "or", "but", "not", "so", "too", "very", "just", "only"}
_PERSON_HEADS = {"people": "person", "folks": "person", "folk": "person", "men": "man", "women": "woman",
                 "guys": "guy", "girls": "girl", "boys": "boy", "kids": "kid", "children": "child",
                 "parents": "parent", "students": "student", "workers": "worker", "drivers": "driver",
                 "families": "family", "neighbors": "neighbor", "neighbours": "neighbour", "teens": "teen",
                 "mothers": "mother", "fathers": "father"}
# Plural nouns that name people by their suffix ("Ghanaians", "Buddhists", "Israelites", "schoolgirls").
_PEOPLE_PLURAL = re.compile(r"(?i)^[a-z][a-z-]*(?:ians|ans|ists|ites|girls|boys|women|men|wives|mothers|fathers)$")
_NOT_PEOPLE_PLURAL = {"plans", "fans", "cans", "vans", "bans", "loans", "scans", "lists", "artists", "beans",
                      "clans", "means", "oceans", "organs", "jeans", "programs", "titans", "tourists", "dentists",
                      "scientists", "mechanics", "specialists", "journalists", "pharmacists", "humans",
                      "musicians", "physicians", "politicians", "technicians", "electricians", "librarians",
                      "veterinarians", "historians", "guardians", "pedestrians", "civilians", "comedians", "women",
                      "men", "exists", "insists", "persists", "resists", "consists", "assists", "twists", "wrists",
                      "sites", "bites", "kites", "rites", "invites", "suites", "spites", "whites", "blacks"}
_PLACE = r"(?:the\s+)?[A-Za-z][\w'-]+(?:\s+(?-i:[A-Z])[\w'-]+)?"


def _case(phrase: str, kind: str) -> str:
    """A group phrase cased for the middle of a sentence: names of nations, places, religions as written
    ("Eritreans", "people from Syria", "Amish people"), lexicon names as the lexicon writes them ("japanese people"
    -> "Japanese people"), other words in lower case ("Schoolgirls" -> "schoolgirls")."""
    if kind == "geography" and any(w[:1].isupper() for w in phrase.split()[1:]):
        return phrase  # "people from Syria"
    if kind in ("nationality", "religion", "race") and phrase[:1].isupper():
        return phrase  # "Eritreans", "Amish people": names, capitalised where the writer did
    return _canonical_case(phrase.lower())


def _canonical_case(phrase: str) -> str:
    """A nationality or lexicon adjective capitalised as written in the lexicon ("japanese people" -> "Japanese
    people"); other words as they are."""
    proper = _proper_words()
    out = []
    for w in phrase.split():
        low = w.lower()
        if low in proper:
            w = proper[low]
        elif low.endswith("s") and low[:-1] in proper:
            w = proper[low[:-1]] + "s"
        out.append(w)
    return " ".join(out)


@lru_cache(maxsize=1)
def _proper_words() -> dict[str, str]:
    words = {}
    for sg, _kind in group_table().values():
        for w in sg.split():
            if w[:1].isupper():
                words.setdefault(w.lower(), w)
    for entries in GROUPS.values():
        for forms in entries:
            for f in forms:
                for w in (f or "").split():
                    if w[:1].isupper():
                        words.setdefault(w.lower(), w)
    return words


@lru_cache(maxsize=1)
def _group_word_kinds() -> dict[str, str]:
    """Single group words of the lexicon and the taxonomy additions -> kind ("expats" -> "nationality")."""
    kinds = {w: k for w, k in kind_of_phrase().items() if " " not in w}
    for cat, words in TAXONOMY_ADDITIONS.items():
        for w in words:
            kinds.setdefault(w.lower(), cat.split(".", 1)[1])
    return kinds


def _singular_of(plural: str) -> str:
    low = plural.lower()
    for pl, sg in (("women", "woman"), ("men", "man"), ("wives", "wife"), ("people", "person")):
        if low.endswith(pl):
            return plural[: len(plural) - len(pl)] + sg
    if low.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if low.endswith("s") else plural


@lru_cache(maxsize=1)
def _open_re() -> re.Pattern:
    heads = "|".join(_PERSON_HEADS)
    return re.compile(
        rf"(?i)^\s*({LEAD}{QUANT})("
        rf"(?:people|folks|those|anyone|children|kids|women|men)\s+(?:from|in|of)\s+{_PLACE}"  # people from Syria
        rf"|people\s+with\s+[a-z][\w'-]+"  # people with autism
        rf"|[a-z][\w'-]*\s+(?:{heads})"  # goth people, Ghanaian men
        rf"|[a-z][a-z-]+s"  # Ghanaians, expats
        rf")\s+(.+?)\s*[.!?]*\s*$")


def _open_group(statement: str) -> tuple[str, str, str, str, str, str] | None:
    """(lead, group, singular, kind, predicate, group as written) for a subject that names a group outside the
    lexicon: "people from <place>", "<group word> people" (a word of the lexicon or the taxonomy, or a demonym-like
    word: "Eritrean people"), or one plural word that names people ("Ghanaians", "expats"). Its predicate must
    start with a verb form this can recognise, so a name or a noun phrase is not taken for a claim."""
    m = _open_re().match(statement)
    if not m:
        return None
    lead, group, pred = m.group(1).strip(), m.group(2), m.group(3)
    if not _starts_with_verb(pred):
        return None
    words = group.split()
    low = [w.lower() for w in words]
    if low[0] == "people" and low[1] == "with":  # "people with autism"
        if low[2] in _NOT_GROUP:
            return None
        kind = _group_word_kinds().get(low[2], "health")
        return lead, f"people with {words[2]}", f"person with {words[2]}", kind, pred, group
    if low[0] in ("people", "folks", "those", "anyone", "children", "kids", "women", "men") and len(words) > 2:
        if low[2] in _NOT_GROUP:
            return None  # "people in your union": no place
        place = " ".join(words[2:])
        place = place[:1].upper() + place[1:] if place.islower() else place
        head = "people" if low[0] in ("folks", "those", "anyone") else low[0]
        one = {"people": "person", "children": "child", "kids": "kid", "women": "woman", "men": "man"}[head]
        return lead, f"{head} {low[1]} {place}", f"{one} {low[1]} {place}", "geography", pred, group
    if len(words) == 2:
        kind = _group_word_kinds().get(low[0])
        if kind is None and _DEMONYM_LIKE.fullmatch(low[0]) and low[0] not in _NOT_GROUP:
            kind = "nationality"
        if kind is None or low[1] not in _PERSON_HEADS:
            return None
        return lead, group, f"{words[0]} {_PERSON_HEADS[low[1]]}", kind, pred, group
    word = low[0]
    kind = _group_word_kinds().get(word)
    if kind is None:
        if not _PEOPLE_PLURAL.match(word) or word in _NOT_PEOPLE_PLURAL:
            return None
        kind = "nationality" if word.endswith("ans") and words[0][:1].isupper() else ""
    if not word.endswith("s") and word not in ("women", "men"):
        return None
    return lead, group, _singular_of(group), kind, pred, group


_DEMONYM_LIKE = re.compile(r"[a-z]+(?:an|ese|ish|i)")
_VERB_START = {"are", "were", "is", "was", "have", "has", "had", "do", "does", "did", "don't", "dont", "doesn't",
               "didn't", "aren't", "arent", "weren't", "can", "can't", "cant", "cannot", "could", "couldn't", "will",
               "won't", "wont", "would", "wouldn't", "should", "shouldn't", "must", "may", "might", "need", "tend",
               "like", "love", "hate", "want", "think", "know", "get", "make", "take", "go", "say", "steal", "eat",
               "smell", "cheat", "lie", "live", "look", "act", "complain", "talk", "drive", "work", "ruin", "bring",
               "belong", "deserve", "care", "believe", "breed", "spend", "waste", "refuse", "ought"}


def _starts_with_verb(pred: str) -> bool:
    words = [w.lower().strip(",") for w in pred.split()]
    first = next((w for w in words if w not in _ADVERBS), "")
    return first in _VERB_START or bool(re.fullmatch(r"[a-z]{3,}ed", first))


_SINGULAR_QUANT = (r"(?:every|each|any|the typical|a typical|your typical|the average|your average|"
                   r"typically,?\s+(?:every|an?|the)|an?)")
# A claim about "a vegan" is generic only with these ("A vegan will never ...", not "A vegan stole my bike").
_GENERIC_PRED = re.compile(r"(?i)^(?:will|won't|can't|cannot|can never|could never|would never|never|always|is always|"
                           r"is never|should|shouldn't|must|is (?:just )?(?:too|so|naturally|born|incapable|unable))\b")
_SG_VERB = {"is": "are", "isn't": "aren't", "was": "were", "wasn't": "weren't", "has": "have", "hasn't": "haven't",
            "does": "do", "doesn't": "don't"}


def plural_predicate(pred_sg: str) -> str | None:
    """The predicate of a singular subject made plural ("is lazy" -> "are lazy", "never learns" -> "never learn")."""
    words = pred_sg.split()
    i = 0
    while i < len(words) - 1 and words[i].lower() in _ADVERBS:
        i += 1
    w = words[i].lower()
    if w in _SG_VERB:
        words[i] = _SG_VERB[w]
    elif w in ("will", "won't", "can", "can't", "cannot", "could", "couldn't", "would", "wouldn't", "should",
               "shouldn't", "must", "may", "might"):
        pass
    elif re.fullmatch(r"[a-z]+(?:ies|ches|shes|sses|xes|oes)", w):
        words[i] = words[i][:-3] + "y" if w.endswith("ies") else words[i][:-2]
    elif re.fullmatch(r"[a-z]+[^s]s", w):
        words[i] = words[i][:-1]
    else:
        return None
    return " ".join(words)


def _singular_group(statement: str) -> tuple[str, str, str, str, str, str] | None:
    """(lead, plural group, singular, kind, plural predicate, group as written) for "Every Muslim is ...", "The
    typical Texan ...", "A vegan will never ..." (a generic singular subject)."""
    m = re.match(rf"(?i)^\s*({LEAD})({_SINGULAR_QUANT})\s+(.+?)\s*[.!?]*\s*$", statement)
    if not m:
        return None
    lead, quant, rest = m.group(1).strip(), m.group(2).lower(), m.group(3)
    table = singular_table()
    words = rest.split()
    for n in (4, 3, 2, 1):  # the longest singular group phrase at the start
        if len(words) <= n:
            continue
        phrase = " ".join(words[:n]).lower()
        hit = table.get(phrase)
        head = words[1].lower() if n == 2 else ""
        if hit is None and head in ("person", "man", "woman", "guy", "girl", "boy", "kid") \
                and words[0].lower() not in _NOT_GROUP:  # "every goth kid"
            plural = "people" if head in ("person", "guy", "kid") else _plural_of(head)
            hit = (" ".join(words[:2]), f"{words[0]} {plural}", _group_word_kinds().get(words[0].lower(), ""))
        demonym = _DEMONYM_LIKE.fullmatch(words[0].lower())
        if hit is None and n == 1 and quant not in ("a", "an") and (demonym or re.fullmatch(r"(?i)[a-z]+(?:ist|ite)",
                                                                                             words[0])):
            # "The typical norweigan": a demonym-like word the lexicon lacks (misspelt, or a rare nationality)
            sg = words[0][:1].upper() + words[0][1:] if demonym else words[0]
            hit = (sg, sg if sg.lower().endswith(("ese", "ish")) else sg + "s",
                   "nationality" if sg[:1].isupper() else "")
        if hit is None:
            continue
        sg, pl, kind = hit
        pl, sg = _canonical_case(pl), _canonical_case(sg)
        pred_sg = " ".join(words[n:])
        if quant in ("a", "an") and not _GENERIC_PRED.match(pred_sg):
            return None
        pred = plural_predicate(pred_sg)
        if pred is None:
            return None
        return lead, pl, sg, kind, pred, " ".join(words[:n])
    return None


def _plural_of(noun: str) -> str:
    return {"man": "men", "woman": "women", "girl": "girls", "boy": "boys"}.get(noun.lower(), noun + "s")


@lru_cache(maxsize=1)
def _anywhere_re() -> re.Pattern:
    return re.compile(rf"(?<![\w-])({word_alternation(group_table())})(?![\w-])", re.I)


def groups_before(text: str, end: int) -> list[str]:
    """The plural group phrases of the lexicon that end before character `end` of `text`, as written, in order."""
    return [m.group(1) for m in _anywhere_re().finditer(text[:end])]


def mask_group_phrases(text: str) -> str:
    """`text` with every group phrase of the table replaced by "someone" (a key that is the same for every group)."""
    return _anywhere_re().sub("someone", text)


def groups_named(text: str) -> set[str]:
    """Plural group phrases of the lexicon that occur in `text` (lower case)."""
    return {m.group(1).lower() for m in _anywhere_re().finditer(text)}


@lru_cache(maxsize=1)
def lexicon_words() -> frozenset[str]:
    """Single lower-case words naming groups, from the group lexicon (plural, adjective and singular forms, and
    the taxonomy additions), for the span edit's never-delete list. Generic words ('people', 'person', 'folks')
    are left out: they name no group on their own."""
    from srllm.data.group_lexicon import TAXONOMY_ADDITIONS

    words = set()
    for entries in GROUPS.values():
        for forms in entries:
            for f in forms:
                if f:
                    words.update(w.lower() for w in f.split())
    for ws in TAXONOMY_ADDITIONS.values():
        words.update(w.lower() for w in ws if " " not in w)
    generic = {"people", "person", "folks", "with", "from", "the", "of", "on", "a", "in", "users", "user",
               "patients", "patient", "kids", "kid", "city", "country", "only", "single", "children", "child",
               "family", "families", "workers", "worker", "recipients", "recipient", "drivers", "driver", "short",
               "tall", "thin", "brown", "temple", "church", "elite", "elites", "cancer", "mentally", "ill", "fat",
               # evaluative or pejorative words: an insult is deletable even where it names a group
               "ugly", "skinny", "bald", "petite", "plus-size", "obese", "overweight", "depressed", "redneck",
               "rednecks", "hillbilly", "hillbillies", "illegals", "gypsy", "gypsies", "peasant", "peasants",
               "beggar", "beggars", "handicapped", "transsexual", "transsexuals", "transgendered", "addict",
               "addicts", "schizophrenic", "schizophrenics", "convict", "convicts", "felon", "felons",
               # pieces of multi-word names, not group words alone
               "down", "new", "gen", "z", "inner", "pacific", "seeker", "seekers", "supporter", "supporters",
               "witness", "witnesses", "benefits", "syndrome", "tattoos", "yorker", "yorkers"}
    return frozenset(words - generic)
