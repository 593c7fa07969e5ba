"""Parse a stereotype statement into (lead-in, group phrase, predicate): "Honestly, all women are bad drivers."
-> ("Honestly, all", "women", "are bad drivers"). Only statements whose subject is a group phrase of the lexicon
(or a few common extras) parse; the rest get no parse (and only the frames that need none)."""

from __future__ import annotations

import re
from functools import lru_cache

from srllm.data.group_lexicon import GROUPS

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
    "lesbians": ("lesbian", "sexual_orientation"), "immigrants": ("immigrant", "nationality"),
    "african americans": ("African American", "race"), "americans": ("American", "nationality"),
    "arabs": ("Arab", "race"), "indians": ("Indian", "nationality"), "jews": ("Jew", "religion"),
    "christians": ("Christian", "religion"), "catholics": ("Catholic", "religion"), "hindus": ("Hindu", "religion"),
}
LEAD = (r"(?:(?:honestly|seriously|frankly|let's be real|everyone knows|we all know|i think|of course|typical)"
        r"[,:]?\s+(?:that\s+)?)?")
QUANT = r"(?:(?:all|most|many|these|those|the)\s+)?"


@lru_cache(maxsize=1)
def group_table() -> dict[str, tuple[str, str]]:
    table = {}
    for kind, entries in GROUPS.items():
        for pl, _adj, sg in entries:
            table.setdefault(pl.lower(), (sg, kind))
    for pl, v in EXTRA.items():
        table.setdefault(pl, v)
    return table


@lru_cache(maxsize=1)
def _start_re() -> re.Pattern:
    alts = sorted(group_table(), key=len, reverse=True)
    return re.compile(rf"^\s*({LEAD}{QUANT})({'|'.join(re.escape(a) for a in alts)})\s+(.+?)\s*[.!?]*\s*$", re.I)


def parse_claim(statement: str) -> dict | None:
    """{'lead', 'group' (as written), 'group_sg', 'kind', 'pred'} or None."""
    m = _start_re().match(statement)
    if not m:
        return None
    lead, group, pred = m.group(1).strip(), m.group(2), m.group(3)
    sg, kind = group_table()[group.lower()]
    if lead.lower() == "the" and group.lower() not in ("poor", "rich", "elderly"):
        lead = ""  # "The women in this town ..." is about particular women: keep it as part of the group
        return None
    first = pred.split()[0].lower()
    if (first.endswith("s") and first not in ("does", "is", "was", "has")) or first.endswith("'s"):
        return None  # "Women sports are a joke": the group word is a modifier, not the subject
    if re.match(r"(?i)(who|that|which|with|in|from|of|and|&|or|'s)\b", pred):
        return None  # a relative clause or a compound subject: not a simple claim
    # Capitalise proper-noun groups as the lexicon writes them ("black people" -> "Black people").
    canon = next((pl for kind_entries in GROUPS.values() for pl, _a, _s in kind_entries if pl.lower() == group.lower()),
                 group.lower())
    return {"lead": lead, "group": canon, "group_sg": sg, "kind": kind, "pred": pred.rstrip(" .!?")}


@lru_cache(maxsize=1)
def _anywhere_re() -> re.Pattern:
    alts = sorted(group_table(), key=len, reverse=True)
    return re.compile(rf"(?<![\w-])({'|'.join(re.escape(a) for a in alts)})(?![\w-])", re.I)


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
