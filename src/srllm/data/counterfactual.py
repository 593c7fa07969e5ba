"""Rule-based counterfactual variants of neutral sentences (`srllm counterfactual`): the same sentence about a man, a
woman, an Asian person, a Muslim, ... as in the SR_LLM authors' `counterfactual-inhouse.csv`, for fairness checks
(a detector or rewriter should treat every variant alike).

A variant is made by the first rule that applies (`Variant.rule` names it):

1. `swap`: the sentence already names a group of the same dimension ("he", "women", "a Christian"); its words are
   swapped for the target's (he -> she, his -> her, him -> her, men -> women, a Christian -> a Muslim).
2. `pronoun`: the sentence starts with "They"/"He"/"She". Gender targets make it "He"/"She" (with "their" -> "his",
   "them" -> "him" and the verb made singular: "They are proud ... and actively engage" -> "She is proud ... and
   actively engages"); other targets put the group in its place ("They" -> "Muslims", "He" -> "A Muslim man").
3. `person`: the first noun for people ("person", "people", "someone", "students", "the new hire"): generic nouns
   are replaced by the group's noun ("the person" -> "the woman", "people" -> "Hindus", "someone" -> "an Asian
   person"), others get the group's adjective before their compound ("the team members" -> "the Black team
   members", "a student" -> "an Asian student", gender: "female"/"male"; "children" -> "girls").
4. `collective`: a noun for a group of people ("the team", "the audience", "the city council") gets the group's
   adjective ("The Hindu team will meet"); not when it modifies another noun ("the community center").
5. `fallback`: "According to a woman, <the sentence>".

Every rule fixes the article before what it changed ("a" -> "an" before a vowel sound) and the capital letter at
the start of the sentence. The groups come from `srllm.data.group_lexicon` plus gender pronouns; a policy file
adds groups under `counterfactual_groups:` (see `load_groups`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from srllm.atomic import atomic_file
from srllm.data.annotate.config import DEFAULT_BASE_URL, check_counts
from srllm.data.group_lexicon import GROUPS
from srllm.errors import SrllmConfigError, did_you_mean
from srllm.schema import Record

__all__ = ["Group", "Variant", "DEFAULT_COLUMNS", "lexicon", "load_groups", "select_groups", "make_variant",
           "mention_words", "counterfactual_rows", "write_counterfactual_csv", "counterfactual_records", "a_or_an",
           "CounterfactualConfig", "run_counterfactual"]


@dataclass(frozen=True)
class Group:
    """One demographic group a variant is about. `phrase` is how the variant column names it ("a woman");
    `pronoun` is "he" or "she" for gendered groups (None: "they" stays)."""

    dimension: str
    singular: str
    plural: str
    adjective: str | None = None
    pronoun: str | None = None

    @property
    def phrase(self) -> str:
        return f"{a_or_an(self.singular)} {self.singular}"

    @property
    def column(self) -> str:
        """The CSV column, as in counterfactual-inhouse.csv: 'gender_a_woman', 'race_an_Asian_person'."""
        return f"{self.dimension}_{self.phrase.replace(' ', '_')}"


_GENDER = [Group("gender", "man", "men", "male", "he"), Group("gender", "woman", "women", "female", "she")]
# The columns of counterfactual-inhouse.csv, in its order.
DEFAULT_COLUMNS = ("gender_a_man", "gender_a_woman", "race_an_Asian_person", "race_a_Black_person",
                   "race_a_Hispanic_person", "race_a_White_person", "religion_a_Christian", "religion_a_Muslim",
                   "religion_a_Hindu", "religion_a_Buddhist")


def lexicon(extra: Iterable[Group] = ()) -> dict[str, Group]:
    """Every known group by column name: man/woman with pronouns, the entries of group_lexicon.GROUPS (gender's
    other entries are kin words, used for swapping only), then `extra` (a policy's groups; same column wins)."""
    out = {g.column: g for g in _GENDER}
    for dim, entries in GROUPS.items():
        if dim == "gender":
            continue
        for plural, adjective, singular in entries:
            g = Group(dim, singular, plural, adjective)
            out.setdefault(g.column, g)
    for g in extra:
        out[g.column] = g
    return out


_GROUP_FIELDS = {"dimension", "singular", "plural", "adjective", "pronoun"}


def load_groups(policy: str | Path | None) -> list[Group]:
    """The groups a policy file adds under `counterfactual_groups:`, e.g.

        counterfactual_groups:
          - {dimension: age, singular: old person, plural: old people, adjective: old}
          - {dimension: religion, singular: Sikh, plural: Sikhs, adjective: Sikh}
    """
    if policy is None:
        return []
    try:
        data = yaml.safe_load(Path(policy).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SrllmConfigError(f"{policy}: cannot read the policy file: {e}") from e
    raw = data.get("counterfactual_groups") or [] if isinstance(data, dict) else []
    if not isinstance(raw, list):
        raise SrllmConfigError(f"{policy}: counterfactual_groups must be a list of groups")
    groups = []
    for i, item in enumerate(raw):
        where = f"{policy}: counterfactual_groups[{i}]"
        if not isinstance(item, dict):
            raise SrllmConfigError(f"{where}: expected a mapping with dimension, singular, plural, adjective")
        unknown = set(item) - _GROUP_FIELDS
        if unknown:
            raise SrllmConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(_GROUP_FIELDS)}")
        missing = [k for k in ("dimension", "singular", "plural") if not str(item.get(k) or "").strip()]
        if missing:
            raise SrllmConfigError(f"{where}: missing {', '.join(missing)}")
        pronoun = item.get("pronoun")
        if pronoun not in (None, "he", "she"):
            raise SrllmConfigError(f"{where}: pronoun must be he or she (or left out), got {pronoun!r}")
        groups.append(Group(str(item["dimension"]).strip(), str(item["singular"]).strip(),
                            str(item["plural"]).strip(), (str(item["adjective"]).strip() or None)
                            if item.get("adjective") else None, pronoun))
    return groups


def select_groups(spec: Sequence[str] | None, known: dict[str, Group]) -> list[Group]:
    """Groups by column name ('religion_a_Sikh') or whole dimension ('age'); none given: DEFAULT_COLUMNS."""
    if not spec:
        return [known[c] for c in DEFAULT_COLUMNS]
    out: dict[str, Group] = {}
    dims = {g.dimension for g in known.values()}
    for s in spec:
        s = s.strip()
        if s in known:
            out[s] = known[s]
        elif s in dims:
            out.update((c, g) for c, g in known.items() if g.dimension == s)
        else:
            raise SrllmConfigError(f"unknown group '{s}': give a column like gender_a_woman or a dimension "
                                   f"({', '.join(sorted(dims))}). {did_you_mean(s, [*known, *dims])}".rstrip())
    return list(out.values())


# --- grammar helpers --------------------------------------------------------------------------------------------

_AN_EXCEPT = re.compile(r"^(uni|use|usu|uti|eu|one|once|ur)", re.I)
_AN_SILENT_H = re.compile(r"^(hour|honest|honou?r|heir)", re.I)


def a_or_an(word: str) -> str:
    """'an' before a vowel sound (an Asian, an hour), else 'a' (a European, a university, a Hindu)."""
    w = word.strip()
    if not w:
        return "a"
    if _AN_SILENT_H.match(w):
        return "an"
    if w[0].lower() in "aeiou" and not _AN_EXCEPT.match(w):
        return "an"
    return "a"


_IRREGULAR_3SG = {"are": "is", "were": "was", "have": "has", "do": "does", "'re": "'s", "'ve": "'s", "go": "goes"}
_NOT_VERB = {"the", "a", "an", "their", "his", "her", "our", "my", "your", "its", "this", "that", "these", "those",
             "to", "of", "in", "on", "at", "for", "with", "by", "from", "not", "also", "all", "both", "each", "very",
             "so", "too", "more", "most", "many", "much", "will", "would", "can", "could", "shall", "should", "may",
             "might", "must", "had", "did", "was", "is", "has", "does", "and", "or", "but"}
_MODALS = {"will", "would", "can", "could", "shall", "should", "may", "might", "must"}


def third_singular(verb: str) -> str:
    """The third-person singular present of a base-form verb: engage -> engages, try -> tries, watch -> watches."""
    low = verb.lower()
    if low in _IRREGULAR_3SG:
        out = _IRREGULAR_3SG[low]
    elif re.search(r"[^aeiou]y$", low):
        out = low[:-1] + "ies"
    elif re.search(r"(s|sh|ch|x|z|o)$", low):
        out = low + "es"
    else:
        out = low + "s"
    return out.capitalize() if verb[:1].isupper() else out


def _is_adverb(word: str) -> bool:
    return word.lower().endswith("ly") or word.lower() in {"also", "often", "always", "never", "still", "usually",
                                                           "sometimes", "now", "all", "both", "together"}


def _present_plural_verb(word: str) -> bool:
    """A present-tense plural verb by shape (no tagger): not a function word, not past/-ing/-s forms."""
    low = word.lower()
    if low in _IRREGULAR_3SG:
        return True
    return (low.isalpha() and low not in _NOT_VERB and not low.endswith(("ed", "ing", "s", "ly"))
            and low[:1].islower())


# --- tokens -----------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"(\w+(?:['’]\w+)*|[^\w\s])(\s*)")


class _Toks:
    """A sentence as [word, trailing space] pairs; edits keep the spacing and punctuation of the original."""

    def __init__(self, text: str):
        self.lead = text[:len(text) - len(text.lstrip())]
        self.t = [[m.group(1), m.group(2)] for m in _TOKEN.finditer(text.lstrip())]

    def __str__(self) -> str:
        return self.lead + "".join(w + s for w, s in self.t)

    def words(self) -> list[str]:
        return [w for w, _ in self.t]

    def first_word(self) -> int | None:
        for i, (w, _) in enumerate(self.t):
            if w[0].isalnum():
                return i
        return None

    def set(self, i: int, word: str) -> None:
        self.t[i][0] = word

    def insert(self, i: int, words: str) -> None:
        """Insert space-separated words before token i."""
        for w in reversed(words.split()):
            self.t.insert(i, [w, " "])

    def is_word(self, i: int) -> bool:
        return 0 <= i < len(self.t) and self.t[i][0][0].isalnum()


def _match_case(new: str, old: str) -> str:
    """`new` with a capital first letter when `old` had one (group names keep their own capitals)."""
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _sentence_start(toks: _Toks, first: int | None, old_first: int | None = None) -> None:
    """Capitalise the first word; the word that used to be first (token `old_first`) gets a small letter when it
    is a common word (not a name)."""
    if first is None:
        return
    w = toks.t[first][0]
    toks.set(first, w[:1].upper() + w[1:])
    if old_first is not None and old_first != first and toks.is_word(old_first):
        n = toks.t[old_first][0]
        if _common_word(n):
            toks.set(old_first, n.lower())


def _replace(toks: _Toks, i: int, phrase: str) -> int:
    """Replace token i by the words of `phrase` (its trailing space kept); the number of words."""
    words = phrase.split()
    toks.t[i:i + 1] = [[x, " "] for x in words[:-1]] + [[words[-1], toks.t[i][1]]]
    return len(words)


def _fix_article(toks: _Toks, i: int) -> None:
    """Make token i-1 agree with token i when it is an article."""
    if i <= 0 or not toks.is_word(i):
        return
    art = toks.t[i - 1][0]
    if art.lower() in ("a", "an"):
        toks.set(i - 1, _match_case(a_or_an(toks.t[i][0]), art))


# --- word lists -------------------------------------------------------------------------------------------------

_DETS = {"the", "a", "an", "this", "that", "these", "those", "each", "every", "one", "any", "our", "your", "their",
         "its", "his", "her", "my", "some", "many", "several", "all", "two", "three", "most", "no"}
# Generic nouns for people: replaced by the group's own noun.
_GENERIC_SG = {"person", "individual", "adult", "human"}
_GENERIC_PL = {"people", "persons", "individuals", "adults", "humans", "folks"}
_INDEFINITE = {"someone": "a", "somebody": "a", "anyone": "any", "anybody": "any", "everyone": "every",
               "everybody": "every"}
# Nouns for people in a role: the group's adjective goes before them.
_ROLE = ("student teacher doctor patient customer employee manager speaker volunteer resident participant member "
         "attendee worker nurse engineer artist author writer neighbor neighbour citizen visitor guest athlete "
         "player candidate applicant colleague friend tourist traveler traveller passenger shopper client leader "
         "expert scientist researcher professor hire chef musician performer entrepreneur owner farmer officer "
         "driver lawyer designer developer scholar coworker co-worker graduate parent child kid sibling spouse "
         "couple family families audience fan reader viewer listener user winner pupil learner "
         "instructor coach mentor director executive staffer recruit intern trainee homeowner tenant baker "
         "programmer architect journalist reporter photographer actor actress singer dancer painter poet novelist "
         "physician surgeon dentist pharmacist therapist caregiver firefighter police policeman policewoman "
         "soldier veteran pilot mechanic electrician plumber carpenter cashier waiter waitress bartender "
         "librarian clerk secretary assistant accountant banker analyst consultant contractor seller buyer vendor "
         "organizer organiser representative delegate panelist panellist presenter lecturer educator "
         "activist advocate donor supporter newcomer beginner")
_ROLE_SG = set(_ROLE.split()) - {"families", "police"}
# Also adjectives or verbs ("be patient", "she parents"): people only after a determiner.
_NEEDS_DET = {"patient", "patients", "parent", "parents", "graduate", "graduates", "advocate", "advocates",
              "delegate", "delegates", "representative", "veteran", "executive", "recruit", "recruits",
              "intern", "interns", "fan", "fans", "couple", "reader", "readers", "user", "users"}
_ROLE_PL = {w + "s" for w in _ROLE_SG if not w.endswith(("y", "ch", "s"))} | {
    "families", "children", "police", "people", "wives", "actresses", "waitresses", "coaches",
    "secretaries", "couples", "policemen", "policewomen", "attorneys"} - {"familys", "childs"}
# Gender targets replace these instead of adding "female"/"male".
_GENDERED_FORM = {"child": ("girl", "boy"), "children": ("girls", "boys"), "kid": ("girl", "boy"),
                  "kids": ("girls", "boys"), "parent": ("mother", "father"), "parents": ("mothers", "fathers"),
                  "sibling": ("sister", "brother"), "siblings": ("sisters", "brothers"),
                  "spouse": ("wife", "husband"), "spouses": ("wives", "husbands"),
                  "actor": ("actress", "actor"), "police officer": ("policewoman", "policeman")}
# Nouns that may stand before a role noun in a compound ("team members", "marketing manager").
_COLLECTIVE = {"team", "class", "group", "committee", "council", "staff", "audience", "crowd", "community",
               "club", "choir", "band", "crew", "panel", "board", "department", "jury", "delegation", "squad",
               "faculty", "workforce", "congregation", "cast"}
_COMPOUND = _COLLECTIVE | {"school", "store", "company", "project", "marketing", "sales", "hospital", "soccer",
                           "football", "basketball", "art", "music", "science", "research", "health", "office",
                           "church", "museum", "city", "book", "support", "service", "customer", "software",
                           "restaurant", "bank", "library", "law", "news", "tech", "student", "community",
                           "government", "university", "college", "police", "fire", "nursing", "care",
                           "finance", "hr", "it", "design", "product", "program", "festival", "event", "club"}
# Nouns a collective noun often modifies ("the community center"): then it is not the head.
_HEADS = {"center", "centre", "centers", "spirit", "building", "buildings", "meeting", "meetings", "event", "events",
          "hall", "garden", "gardens", "project", "projects", "service", "services", "room", "effort", "efforts",
          "outreach", "program", "programs", "work", "goals", "bonding", "activity", "activities", "trip",
          "dynamics", "morale", "lunch", "dinner", "outing", "sports", "sport", "space", "spaces",
          "engagement", "involvement", "development", "leaders", "leadership", "discussion", "discussions"}
# Capitalised words that stay capitalised after the start of a sentence: group names ("Christian", "Asian").
_PROPER = {f for entries in GROUPS.values() for e in entries for f in e if f and f[:1].isupper()}


def _common_word(word: str) -> bool:
    """A capitalised sentence-initial word that takes a small letter when something is put before it: anything
    but "I", acronyms and group names. (A person's name at the start of a sentence would wrongly be lower-cased;
    the neutral sentences this is for rarely start with one.)"""
    if word == "A":
        return True
    return (word != "I" and len(word) > 1 and word[:1].isupper() and word[1:].islower()
            and word not in _PROPER and word.split()[0] not in _PROPER)


_MALE_TO_FEMALE = {"he": "she", "him": "her", "his": "her", "himself": "herself", "man": "woman", "men": "women",
                   "boy": "girl", "boys": "girls", "father": "mother", "fathers": "mothers", "husband": "wife",
                   "husbands": "wives", "brother": "sister", "brothers": "sisters", "son": "daughter",
                   "sons": "daughters", "uncle": "aunt", "uncles": "aunts", "nephew": "niece", "nephews": "nieces",
                   "gentleman": "lady", "gentlemen": "ladies", "male": "female", "males": "females",
                   "mr": "ms", "king": "queen", "kings": "queens", "grandfather": "grandmother",
                   "grandfathers": "grandmothers", "boyfriend": "girlfriend", "boyfriends": "girlfriends",
                   "businessman": "businesswoman", "businessmen": "businesswomen", "policeman": "policewoman",
                   "policemen": "policewomen", "dad": "mom", "dads": "moms", "guy": "woman", "guys": "women"}
_FEMALE_TO_MALE = {v: k for k, v in _MALE_TO_FEMALE.items() if k not in ("guy", "guys")}
_FEMALE_TO_MALE.update({"her": "her*", "hers": "his", "lady": "gentleman", "ladies": "gentlemen",
                        "wife": "husband", "wives": "husbands", "mother": "father", "mothers": "fathers",
                        "girl": "boy", "girls": "boys", "woman": "man", "women": "men", "mom": "dad",
                        "mum": "dad", "moms": "dads"})
_THEY_TO = {"she": {"their": "her", "theirs": "hers", "them": "her", "themselves": "herself", "they": "she"},
            "he": {"their": "his", "theirs": "his", "them": "him", "themselves": "himself", "they": "he"}}
# After "her": these mean it is the object ("him"), not the possessive ("his").
_AFTER_OBJECT = {"to", "for", "with", "and", "or", "but", "that", "as", "in", "on", "at", "by", "from", "about",
                 "up", "down", "out", "off", "back", "again", "too", "so", "when", "while", "because", "if"}


def mention_words(group: Group) -> set[str]:
    """Lower-case words and phrases that name `group` in a sentence: its singular, plural and adjective, and for a
    gendered group its pronouns and kin words (she, her, mother, girls, ...)."""
    out = {f.lower() for f in (group.singular, group.plural, group.adjective) if f}
    if group.pronoun == "she":
        out |= set(_MALE_TO_FEMALE.values()) | {"hers", "mum"}
    elif group.pronoun == "he":
        out |= set(_MALE_TO_FEMALE)
    return out


# --- the rules ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    text: str
    rule: str  # swap, pronoun, person, collective, fallback


def _same_dimension_forms(group: Group, known: Iterable[Group]) -> dict[str, str]:
    """Words of other groups of the group's dimension -> the target's word of the same kind. Capitalised forms
    ("White", "Christian") are kept as written, so they match only with their capital ("white paper" is no group);
    the others are lower-cased."""
    out: dict[str, str] = {}
    for g in known:
        if g.dimension != group.dimension or g == group:
            continue
        for form, new in ((g.plural, group.plural), (g.singular, group.singular),
                          (g.adjective, group.adjective or group.singular)):
            if form and " " not in form and form.lower() != new.lower():
                out.setdefault(form if form[:1].isupper() else form.lower(), new)
    return out


def _swap(toks: _Toks, group: Group, known: Iterable[Group]) -> bool:
    words = [w.lower() for w in toks.words()]
    if group.pronoun:
        table = _MALE_TO_FEMALE if group.pronoun == "she" else _FEMALE_TO_MALE
    else:
        table = _same_dimension_forms(group, known)
    changed = False
    for i, w in enumerate(words):
        if group.pronoun:
            new = table.get(w)
        else:
            word = toks.t[i][0]
            new = table.get(word) if word[:1].isupper() and word in table else table.get(w)
            if new is not None and toks.is_word(i + 1) and toks.t[i + 1][0][:1].isupper():
                continue  # part of a name: "the White House", "Black Friday"
            if new is not None and w in table and w != word and word[:1].isupper() and i != toks.first_word():
                continue  # a capitalised word whose group form is lower-case: a name ("Fat Joe")
        if new is None:
            continue
        if new == "her*":  # female "her" -> "his" (possessive) or "him" (object)
            nxt = words[i + 1] if i + 1 < len(words) else ""
            new = "his" if toks.is_word(i + 1) and nxt not in _AFTER_OBJECT else "him"
        if w == "his" and group.pronoun == "she" and not toks.is_word(i + 1):
            new = "hers"
        toks.set(i, _match_case(new, toks.t[i][0]))
        _fix_article(toks, i)
        changed = True
    if not changed and group.pronoun:
        # Already about the target gender ("He volunteered" for a man): the sentence is its own variant.
        own = set(_FEMALE_TO_MALE if group.pronoun == "she" else _MALE_TO_FEMALE) - {"her*"}
        return any(w in own for w in words)
    return changed


def _make_singular_verbs(toks: _Toks, subject_end: int) -> None:
    """The verb after a subject that became singular, and verbs joined to it by 'and' (…and actively engage)."""
    i = subject_end + 1
    while toks.is_word(i) and _is_adverb(toks.t[i][0]):
        i += 1
    if not toks.is_word(i) or toks.t[i][0].lower() in _MODALS or not _present_plural_verb(toks.t[i][0]):
        return
    toks.set(i, third_singular(toks.t[i][0]))
    for j in range(i + 1, len(toks.t) - 1):
        if toks.t[j][0].lower() != "and":
            continue
        k = j + 1
        adverb = False
        while toks.is_word(k) and _is_adverb(toks.t[k][0]):
            k, adverb = k + 1, True
        if adverb and toks.is_word(k) and _present_plural_verb(toks.t[k][0]):
            toks.set(k, third_singular(toks.t[k][0]))


def _pronoun(toks: _Toks, group: Group) -> bool:
    first = toks.first_word()
    if first is None:
        return False
    w = toks.t[first][0].lower()
    if w not in ("they", "he", "she"):
        return False
    if group.pronoun:
        if w != "they":
            return False  # he/she are handled by _swap
        table = _THEY_TO[group.pronoun]
        for i, (word, _) in enumerate(toks.t):
            new = table.get(word.lower())
            if new and (word.lower() != "they" or i == first):
                toks.set(i, _match_case(new, word))
        _make_singular_verbs(toks, first)
        return True
    if w == "they":
        _replace(toks, first, group.plural)
    elif group.adjective:
        _replace(toks, first, f"{a_or_an(group.adjective)} {group.adjective} {'man' if w == 'he' else 'woman'}")
    else:
        return False
    _sentence_start(toks, first)
    return True


def _compound_start(toks: _Toks, i: int) -> int:
    """Where the noun compound ending at token i starts ("the [soccer team] members")."""
    while i > 0 and toks.t[i - 1][0].lower() in _COMPOUND and toks.t[i - 1][0][:1].islower():
        i -= 1
    return i


def _insert_adjective(toks: _Toks, i: int, group: Group) -> None:
    """The group's adjective before the noun compound ending at token i, with the article and capitals fixed."""
    first = toks.first_word()
    start = _compound_start(toks, i)
    toks.insert(start, group.adjective or group.singular)
    _fix_article(toks, start)
    if start == first:
        _sentence_start(toks, first, first + 1)


def _collective(toks: _Toks, group: Group) -> bool:
    """A noun for a group of people ("the team", "the audience") gets the group's adjective."""
    for i, w in enumerate(toks.words()):
        if w.lower() in _COLLECTIVE and w[:1].islower():
            if i + 1 < len(toks.t) and toks.t[i + 1][0].lower() in _COMPOUND | _ROLE_SG | _ROLE_PL | _HEADS:
                continue  # a modifier ("team spirit"): not the head noun
            _insert_adjective(toks, i, group)
            return True
    return False


def _person(toks: _Toks, group: Group) -> bool:
    words = [w.lower() for w in toks.words()]
    first = toks.first_word()
    female = group.pronoun == "she"
    for i, w in enumerate(words):
        prev = words[i - 1] if i > 0 else ""
        if w in _INDEFINITE:  # someone -> a woman, everyone -> every Muslim
            det = _INDEFINITE[w]
            _replace(toks, i, f"{a_or_an(group.singular) if det == 'a' else det} {group.singular}")
        elif (w in _GENERIC_SG and (w != "individual" or prev in _DETS)) or w in _GENERIC_PL:
            _replace(toks, i, group.plural if w in _GENERIC_PL else group.singular)
            _fix_article(toks, i)
        elif w in _ROLE_SG or w in _ROLE_PL:
            if w in ("member", "members") and prev not in _COMPOUND and prev not in _DETS:
                continue
            if group.pronoun and w in _GENDERED_FORM:
                toks.set(i, _match_case(_GENDERED_FORM[w][0 if female else 1], toks.t[i][0]))
                _fix_article(toks, i)
                return True
            if w in _NEEDS_DET and prev not in _DETS:
                continue
            _insert_adjective(toks, i, group)
            return True
        else:
            continue
        if i == first:
            _sentence_start(toks, first)
        return True
    return False


def _fallback(text: str, group: Group) -> str:
    body = text.strip()
    lead = ""
    m = re.match(r"^([^\w]*)(\w+)", body)
    if m:
        lead, word = m.group(1), m.group(2)
        rest = body[m.end():]
        if _common_word(word):
            word = word.lower()
        body = word + rest
    return f"{lead}According to {group.phrase}, {body}"


def make_variant(sentence: str, group: Group, *, known: Iterable[Group] | None = None) -> Variant:
    """The sentence about `group` (the first rule that applies; module docstring)."""
    known = list(known if known is not None else lexicon().values())
    for rule, fn in (("swap", lambda t: _swap(t, group, known)), ("pronoun", lambda t: _pronoun(t, group)),
                     ("person", lambda t: _person(t, group)), ("collective", lambda t: _collective(t, group))):
        toks = _Toks(sentence)
        if fn(toks):
            return Variant(str(toks), rule)
    return Variant(_fallback(sentence, group), "fallback")


def counterfactual_rows(sentences: Iterable[str], groups: Sequence[Group], *,
                        known: Iterable[Group] | None = None) -> list[dict[str, str]]:
    """One row per sentence: 'Original' and one column per group (counterfactual-inhouse.csv's layout)."""
    known = list(known if known is not None else lexicon(groups).values())
    return [{"Original": s, **{g.column: make_variant(s, g, known=known).text for g in groups}} for s in sentences]


def write_counterfactual_csv(path: str | Path, rows: list[dict[str, str]], groups: Sequence[Group]) -> None:
    with atomic_file(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["Original", *(g.column for g in groups)])
        w.writeheader()
        w.writerows(rows)


def counterfactual_records(rows: list[dict[str, str]], groups: Sequence[Group], *,
                           methods: list[dict[str, str]] | None = None) -> list[Record]:
    """CMD records: each original and each variant, labelled neutral (bias and toxicity none), source
    'counterfactual/<column>'. The same text from two rows is one record. `methods` (one dict per row, column ->
    llm or rule; the LLM mode) adds '(method: ...)' to each variant's rationale."""
    out: dict[str, Record] = {}
    for k, row in enumerate(rows):
        for col in ("Original", *(g.column for g in groups)):
            text = row[col].strip()
            if not text:
                continue
            rationale = None if col == "Original" else f"counterfactual of: {row['Original'].strip()}"
            if rationale and methods is not None:
                rationale += f" (method: {methods[k][col]})"
            rec = Record(text=text, bias="none", toxicity="none", source=f"counterfactual/{col}",
                         rationale=rationale)
            out.setdefault(rec.id, rec)
    return list(out.values())


@dataclass
class CounterfactualConfig:
    """`srllm counterfactual` options."""

    out: Path = field(default=Path("runs/counterfactual.csv"), metadata={
        "help": "Output CSV in counterfactual-inhouse.csv's layout: Original + one column per group (atomic)."})
    cmd_out: Path | None = field(default=None, metadata={
        "help": "Also write the originals and variants as CMD records (JSONL), labelled neutral."})
    groups: list[str] | None = field(default=None, metadata={
        "help": "Groups: columns like gender_a_woman or whole dimensions like religion (default: the 10 columns "
                "of counterfactual-inhouse.csv). `--groups list` prints every known group."})
    policy: Path | None = field(default=None, metadata={
        "help": "Policy YAML; its counterfactual_groups: list adds groups (dimension, singular, plural, "
                "adjective, pronoun)."})
    text_field: str | None = field(default=None, metadata={
        "help": "Column or key of the sentences (default: Original for CSV/TSV, text for JSONL)."})
    limit: int | None = field(default=None, metadata={"help": "Use only the first N sentences."})
    # -- the LLM mode (srllm.data.counterfactual_llm) --------------------------------------------------------------
    llm: bool = field(default=False, metadata={
        "help": "Ask an LLM (any OpenAI-compatible endpoint: --base-url, --model, --api-key) for each variant, with "
                "minimal edits; an empty answer, one with too many edits (--max-extra-edits) or one that does not "
                "name the group is replaced by the rule-based variant. Which method made each variant goes to "
                "<out stem>.raw.jsonl (also the resume file: re-run to resume)."})
    base_url: str = field(default=DEFAULT_BASE_URL, metadata={
        "help": "OpenAI-compatible endpoint of --llm (default: a local `srllm serve`)."})
    model: str = field(default="default", metadata={"help": "Model name sent to the endpoint (--llm)."})
    api_key: str | None = field(default=None, metadata={"help": "API key of the endpoint (--llm)."})
    max_extra_edits: int = field(default=3, metadata={
        "help": "--llm: most word edits (insert, delete, substitute) an answer may make beyond the number of words "
                "of the group's phrase ('an Asian person': 3); more and the rule-based variant is used."})
    concurrency: int = field(default=8, metadata={"help": "--llm: requests in flight."})
    max_tokens: int = field(default=96, metadata={"help": "--llm: most tokens of one answer."})
    temperature: float = field(default=0.0, metadata={"help": "--llm: sampling temperature (0: greedy)."})
    max_wait: float = field(default=300.0, metadata={
        "help": "--llm: seconds to keep retrying an endpoint that is down or answers 429/5xx before the job stops "
                "(re-run to resume)."})
    timeout: float = field(default=120.0, metadata={"help": "--llm: seconds one request may take."})
    restart: bool = field(default=False, metadata={"help": "--llm: ignore earlier results instead of resuming."})

    def __post_init__(self):
        check_counts(self, at_least_one=("concurrency", "max_tokens"), not_negative=("max_extra_edits", "max_wait"))

    @property
    def raw_path(self) -> Path:
        return self.out.with_name(self.out.stem + ".raw.jsonl")


@dataclass
class CounterfactualRun:
    rows: list[dict[str, str]]
    groups: list[Group]
    rules: dict[str, dict[str, int]]  # column -> rule (rule-only mode) or method (--llm) -> count
    records: int = 0
    resumed: int = 0  # --llm: sentences done by an earlier run
    tokens: int = 0  # --llm: prompt + completion tokens the endpoint reported


def _count(table: dict[str, dict[str, int]], column: str, key: str) -> None:
    table[column][key] = table[column].get(key, 0) + 1


def run_counterfactual(input_path: str | Path, cfg: CounterfactualConfig, *, on_sentence=None) -> CounterfactualRun:
    """Read the sentences, make the variants (by rule, or with --llm by an LLM with the rule as fallback), write the
    CSV (and the CMD JSONL). on_sentence(raw line) is called as each sentence finishes (--llm)."""
    from srllm.data.readers import detect_format, read_inputs
    from srllm.data.writers import write_jsonl_atomic

    kind = detect_format(input_path)
    text_field = cfg.text_field or ("Original" if kind in ("csv", "tsv") else "text")
    inputs = list(read_inputs(input_path, text_field=text_field))
    if cfg.limit is not None:
        inputs = inputs[:cfg.limit]
    known = lexicon(load_groups(cfg.policy))
    groups = select_groups(cfg.groups, known)
    counts: dict[str, dict[str, int]] = {g.column: {} for g in groups}
    rows, methods, resumed, tokens = [], None, 0, 0
    if cfg.llm:
        raw, resumed = _llm_lines(inputs, groups, known, cfg, on_sentence)
        methods = []
        for line in raw:
            rows.append({"Original": line["Original"], **{c: v["text"] for c, v in line["variants"].items()}})
            methods.append({c: v["method"] for c, v in line["variants"].items()})
            for c, v in line["variants"].items():
                _count(counts, c, "llm" if v["method"] == "llm" else f"rule ({v['reason'].split(' (')[0]})")
                tokens += v.get("tokens", 0)
    else:
        for r in inputs:
            row = {"Original": r.text}
            for g in groups:
                v = make_variant(r.text, g, known=known.values())
                row[g.column] = v.text
                _count(counts, g.column, v.rule)
            rows.append(row)
    write_counterfactual_csv(cfg.out, rows, groups)
    run = CounterfactualRun(rows, groups, counts, resumed=resumed, tokens=tokens)
    if cfg.cmd_out is not None:
        recs = counterfactual_records(rows, groups, methods=methods)
        write_jsonl_atomic(cfg.cmd_out, recs)
        run.records = len(recs)
    return run


def _llm_lines(inputs, groups, known, cfg: CounterfactualConfig, on_sentence) -> tuple[list[dict], int]:
    from srllm.data.annotate.client import ChatClient
    from srllm.data.counterfactual_llm import LLMVariants, run_llm_rows

    client = ChatClient(base_url=cfg.base_url, model=cfg.model, api_key=cfg.api_key, timeout=cfg.timeout,
                        max_wait=cfg.max_wait, json_mode="none")
    try:
        maker = LLMVariants(client, known=known.values(), max_extra_edits=cfg.max_extra_edits,
                            max_tokens=cfg.max_tokens, temperature=cfg.temperature)
        return run_llm_rows(inputs, groups, maker, cfg.raw_path, concurrency=cfg.concurrency, restart=cfg.restart,
                            on_sentence=on_sentence)
    finally:
        client.close()
