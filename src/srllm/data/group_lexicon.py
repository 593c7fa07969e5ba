"""The group lexicon used for templates, counterfactual augmentation (CDA) and identity masking: per kind of group
(the taxonomy's bias sub-categories), entries (plural noun phrase, attributive adjective or None, singular noun
phrase). Also `TAXONOMY_ADDITIONS`: single words to add to the taxonomy's `groups` (what the span edit must
never delete), and `group_regex()` for masking and kind detection."""

from __future__ import annotations

import re
from functools import lru_cache

from srllm.regex import word_alternation

# kind -> [(plural, adjective or None, singular)]
GROUPS: dict[str, list[tuple[str, str | None, str]]] = {
    "gender": [("women", "female", "woman"), ("men", "male", "man"), ("girls", None, "girl"),
               ("mothers", None, "mother"), ("wives", None, "wife"), ("husbands", None, "husband"),
               ("ladies", None, "lady"), ("boys", None, "boy"), ("housewives", None, "housewife"),
               ("fathers", None, "father")],
    "sexual_orientation": [("gay men", "gay", "gay man"), ("lesbians", "lesbian", "lesbian"),
                           ("bisexual people", "bisexual", "bisexual person"),
                           ("trans people", "trans", "trans person"),
                           ("transgender women", "transgender", "transgender woman"),
                           ("queer people", "queer", "queer person"),
                           ("nonbinary people", "nonbinary", "nonbinary person"),
                           ("gay people", "gay", "gay person"), ("asexual people", "asexual", "asexual person")],
    "race": [("Black people", "Black", "Black person"), ("White people", "White", "White person"),
             ("Asian people", "Asian", "Asian person"), ("Hispanic people", "Hispanic", "Hispanic person"),
             ("Latinos", "Latino", "Latino"), ("Arabs", "Arab", "Arab"),
             ("Native Americans", "Native American", "Native American"),
             ("African Americans", "African American", "African American"),
             ("Indigenous people", "Indigenous", "Indigenous person"), ("Roma people", "Roma", "Roma person"),
             ("Pacific Islanders", "Pacific Islander", "Pacific Islander")],
    "religion": [("Muslims", "Muslim", "Muslim"), ("Christians", "Christian", "Christian"), ("Jews", "Jewish", "Jew"),
                 ("Hindus", "Hindu", "Hindu"), ("Buddhists", "Buddhist", "Buddhist"), ("Sikhs", "Sikh", "Sikh"),
                 ("atheists", "atheist", "atheist"), ("Catholics", "Catholic", "Catholic"),
                 ("Mormons", "Mormon", "Mormon"), ("evangelicals", "evangelical", "evangelical"),
                 ("Jehovah's Witnesses", None, "Jehovah's Witness")],
    "age": [("old people", "old", "old person"), ("elderly people", "elderly", "elderly person"),
            ("old drivers", None, "old driver"), ("seniors", None, "senior"), ("retirees", "retired", "retiree"),
            ("teenagers", "teenage", "teenager"), ("millennials", "millennial", "millennial"),
            ("boomers", None, "boomer"), ("young people", "young", "young person"),
            ("Gen Z kids", None, "Gen Z kid"), ("pensioners", None, "pensioner"),
            ("middle-aged men", "middle-aged", "middle-aged man")],
    "nationality": [("immigrants", "immigrant", "immigrant"), ("foreigners", "foreign", "foreigner"),
                    ("refugees", "refugee", "refugee"), ("migrants", "migrant", "migrant"),
                    ("Mexicans", "Mexican", "Mexican"), ("Chinese people", "Chinese", "Chinese person"),
                    ("Indians", "Indian", "Indian"), ("Russians", "Russian", "Russian"),
                    ("Irish people", "Irish", "Irish person"), ("Nigerians", "Nigerian", "Nigerian"),
                    ("Germans", "German", "German"), ("French people", "French", "French person"),
                    ("Americans", "American", "American"), ("Syrians", "Syrian", "Syrian"),
                    ("Poles", "Polish", "Pole"), ("asylum seekers", None, "asylum seeker"),
                    ("Pakistanis", "Pakistani", "Pakistani"), ("Somalis", "Somali", "Somali"),
                    ("Romanians", "Romanian", "Romanian"), ("Filipinos", "Filipino", "Filipino")],
    "disability": [("disabled people", "disabled", "disabled person"), ("blind people", "blind", "blind person"),
                   ("deaf people", "deaf", "deaf person"), ("autistic people", "autistic", "autistic person"),
                   ("wheelchair users", None, "wheelchair user"),
                   ("people with disabilities", None, "person with a disability"),
                   ("people with Down syndrome", None, "person with Down syndrome")],
    "health": [("people with depression", None, "person with depression"),
               ("mentally ill people", "mentally ill", "mentally ill person"),
               ("people with schizophrenia", None, "person with schizophrenia"),
               ("diabetics", "diabetic", "diabetic"), ("people with HIV", None, "person with HIV"),
               ("people with ADHD", None, "person with ADHD"), ("cancer patients", None, "cancer patient")],
    "body": [("fat people", "fat", "fat person"), ("overweight people", "overweight", "overweight person"),
             ("short men", "short", "short man"), ("skinny girls", "skinny", "skinny girl"),
             ("obese people", "obese", "obese person"), ("bald men", "bald", "bald man"),
             ("tall women", "tall", "tall woman"), ("people with tattoos", "tattooed", "person with tattoos"),
             ("redheads", "red-haired", "redhead")],
    "socioeconomic": [("poor people", "poor", "poor person"), ("rich people", "rich", "rich person"),
                      ("homeless people", "homeless", "homeless person"),
                      ("welfare recipients", None, "welfare recipient"),
                      ("working-class people", "working-class", "working-class person"),
                      ("unemployed people", "unemployed", "unemployed person"),
                      ("blue-collar workers", "blue-collar", "blue-collar worker"),
                      ("ex-convicts", None, "ex-convict"), ("millionaires", None, "millionaire"),
                      ("people on benefits", None, "person on benefits"),
                      ("low-income families", "low-income", "low-income family")],
    "geography": [("southerners", "Southern", "southerner"), ("northerners", "Northern", "northerner"),
                  ("city people", None, "city person"), ("rural folks", "rural", "rural person"),
                  ("Midwesterners", "Midwestern", "Midwesterner"), ("New Yorkers", None, "New Yorker"),
                  ("Texans", "Texan", "Texan"), ("Californians", "Californian", "Californian"),
                  ("people from the countryside", None, "person from the countryside"),
                  ("people from the inner city", "inner-city", "person from the inner city"),
                  ("Londoners", None, "Londoner"), ("country people", None, "country person")],
    "political": [("liberals", "liberal", "liberal"), ("conservatives", "conservative", "conservative"),
                  ("Republicans", "Republican", "Republican"), ("Democrats", "Democratic", "Democrat"),
                  ("leftists", "leftist", "leftist"), ("socialists", "socialist", "socialist"),
                  ("libertarians", "libertarian", "libertarian"), ("progressives", "progressive", "progressive"),
                  ("Trump supporters", None, "Trump supporter"), ("environmentalists", None, "environmentalist"),
                  ("feminists", "feminist", "feminist")],
    "other": [("vegans", "vegan", "vegan"), ("gamers", None, "gamer"), ("single mothers", None, "single mother"),
              ("stay-at-home dads", None, "stay-at-home dad"), ("only children", None, "only child"),
              ("divorced people", "divorced", "divorced person"), ("hipsters", None, "hipster"),
              ("bikers", None, "biker")],
}

# Words the taxonomy's `groups` lacks (checked against src/srllm/taxonomy/default.yaml of the snapshot): the span
# edit must never delete them, and the detector's identity-term lists (CDA, evaluation) use them. Single words
# (the rewriter matches word by word).
TAXONOMY_ADDITIONS: dict[str, list[str]] = {
    "bias.gender": ["girlfriend", "girlfriends", "boyfriend", "boyfriends", "housewife", "housewives", "grandma",
                    "grandmas", "grandmother", "grandmothers", "grandfather", "grandfathers", "grandpa", "grandpas",
                    "aunt", "aunts", "uncle", "uncles", "niece", "nieces", "nephew", "nephews", "guys", "gals",
                    "businesswoman", "businesswomen", "businessman", "businessmen", "schoolgirl", "schoolgirls",
                    "schoolboy", "schoolboys", "womens", "women's", "men's", "femininity", "masculinity"],
    "bias.race": ["latinx", "roma", "gypsy", "gypsies", "brown", "islander", "islanders", "asian-american",
                  "asian-americans", "mixed-race", "biracial", "black-owned", "people of color"],
    "bias.religion": ["amish", "jehovah's", "witnesses", "scientologist", "scientologists", "pagan", "pagans",
                      "agnostic", "agnostics", "orthodox", "rabbi", "imam", "priest", "nun", "nuns", "church",
                      "mosque", "synagogue", "temple"],
    "bias.age": ["retiree", "retirees", "retired", "pensioner", "pensioners", "elder", "elders", "elderly",
                 "toddler", "toddlers", "infant", "infants", "baby", "babies", "adolescent", "adolescents",
                 "zoomer", "zoomers", "gen-z", "middle-aged", "aged", "geriatric", "senior citizens",
                 "grandparents", "grandparent", "teenage", "teenaged"],
    "bias.nationality": ["foreign", "asylum", "expat", "expats", "emigrant", "emigrants", "newcomer", "newcomers",
                         "pakistani", "pakistanis", "afghan", "afghans", "iraqi", "iraqis", "iranian", "iranians",
                         "somali", "somalis", "ukrainian", "ukrainians", "vietnamese", "filipino", "filipinos",
                         "brazilian", "brazilians", "colombian", "colombians", "cuban", "cubans", "puerto rican",
                         "puerto ricans", "pole", "poles", "romanian", "romanians", "turk", "turks", "turkish",
                         "jamaican", "jamaicans", "haitian", "haitians", "nigerian", "nigerians", "ethiopian",
                         "ethiopians", "kenyan", "kenyans", "egyptian", "egyptians", "israeli", "israelis",
                         "palestinian", "palestinians", "dutch", "swedish", "spanish", "portuguese", "greek",
                         "greeks", "scottish", "welsh", "australian", "australians", "african", "north korean",
                         "undocumented", "illegals", "nationality", "nationalities"],
    "bias.political": ["leftist", "leftists", "right-wing", "left-wing", "rightwing", "leftwing", "communist",
                       "communists", "marxist", "marxists", "trump", "maga", "tories", "tory", "labour",
                       "environmentalist", "environmentalists", "activist", "activists", "feminist", "feminists"],
    "bias.socioeconomic": ["poverty", "welfare", "low-income", "blue-collar", "white-collar", "millionaire",
                           "millionaires", "billionaire", "billionaires", "elite", "elites", "peasant",
                           "peasants", "convict", "convicts", "ex-convict", "ex-convicts", "felon", "felons",
                           "jobless", "beggar", "beggars", "upper-class", "lower-class", "middle-class",
                           "working-class"],
    "bias.disability": ["disabled", "handicapped", "paraplegic", "paraplegics", "amputee", "amputees", "autism",
                        "down syndrome", "deafness", "blindness", "wheelchair-using", "wheelchair-bound"],
    "bias.sexual_orientation": ["nonbinary", "non-binary", "asexual", "asexuals", "pansexual", "pansexuals",
                                "transgendered", "transsexual", "transsexuals", "intersex", "transwomen",
                                "transmen", "lgbtq+", "lgbtqia"],
    "bias.body": ["fat", "obese", "overweight", "skinny", "thin", "bald", "short", "tall", "ugly", "tattooed",
                  "redhead", "redheads", "plus-size", "petite"],
    "bias.health": ["diabetic", "diabetics", "schizophrenic", "schizophrenics", "depressed", "bipolar",
                    "mentally", "adhd", "hiv", "cancer", "patients", "patient", "addict", "addicts"],
    "bias.geography": ["southerner", "southerners", "northerner", "northerners", "midwesterner",
                       "midwesterners", "southern", "northern", "rural", "urban", "inner-city", "texan",
                       "texans", "californian", "californians", "new yorkers", "londoner", "londoners",
                       "hillbilly", "hillbillies", "redneck", "rednecks", "city", "countryside"],
}
# Multi-word entries above ("puerto rican", "senior citizens", "down syndrome", "new yorkers", "north korean",
# "people of color") are kept for masking (phrases), and are split into single words for the taxonomy only when
# every word is itself a group word. The port list (port/taxonomy_groups.yaml) holds single words only.

# Surface forms found in the stereotype corpora that the lexicon writes differently: (phrase, kind, form index).
CORPUS_FORMS = (("woman", "gender", 2), ("man", "gender", 2), ("trans", "sexual_orientation", 1),
                ("transgender", "sexual_orientation", 1), ("gays", "sexual_orientation", 0),
                ("homosexuals", "sexual_orientation", 0), ("blacks", "race", 0), ("whites", "race", 0),
                ("asians", "race", 0), ("jewish people", "religion", 0), ("the poor", "socioeconomic", 0),
                ("the rich", "socioeconomic", 0), ("the elderly", "age", 0), ("old men", "age", 0),
                ("old women", "age", 0), ("black men", "race", 0), ("black women", "race", 0),
                ("white men", "race", 0), ("muslim men", "religion", 0), ("mexican men", "nationality", 0),
                ("transgenders", "sexual_orientation", 0), ("nonbinary", "sexual_orientation", 1))

@lru_cache(maxsize=1)
@lru_cache(maxsize=1)
def group_forms() -> tuple[dict[str, tuple[str, int]], re.Pattern]:
    """(lower-cased phrase -> (kind, form index: 0 plural, 1 adjective, 2 singular), a regex matching any phrase,
    longest first, as a whole word). Built once (the regex has ~900 alternatives); callers must not change the
    dict."""
    forms: dict[str, tuple[str, int]] = {}
    for kind, entries in GROUPS.items():
        for entry in entries:
            for i, phrase in enumerate(entry):
                if phrase:
                    forms.setdefault(phrase.lower(), (kind, i))
    for phrase, kind, i in CORPUS_FORMS:
        forms.setdefault(phrase, (kind, i))
    return forms, re.compile(rf"(?<![\w-])({word_alternation(forms)})(?![\w-])", re.IGNORECASE)


_NEUTRAL_GENERIC = {"people", "person", "folks", "kids", "man", "men", "woman", "women"}


def all_phrases() -> list[str]:
    """Every surface form in GROUPS (plural, adjective, singular), longest first."""
    forms = set()
    for entries in GROUPS.values():
        for pl, adj, sg in entries:
            forms.update(f for f in (pl, adj, sg) if f)
    return sorted(forms, key=len, reverse=True)


def kind_of_phrase() -> dict[str, str]:
    out = {}
    for kind, entries in GROUPS.items():
        for pl, adj, sg in entries:
            for f in (pl, adj, sg):
                if f:
                    out.setdefault(f.lower(), kind)
    return out


# Nationality adjectives beyond GROUPS (which the detector's templates and CDA draw from, so it stays small). The
# rewriter's claim parser reads these too: a statement about "Persian people" or "Ghanaians" is a claim about a group
# even though no template names them.
NATIONALITY_ADJECTIVES = (
    "Afghan Albanian Algerian Angolan Argentine Argentinian Armenian Australian Austrian Azerbaijani Bangladeshi "
    "Belarusian Belgian Bolivian Bosnian Brazilian British Bulgarian Cambodian Cameroonian Canadian Chilean "
    "Chinese Colombian Congolese Croatian Cuban Czech Danish Dominican Dutch Ecuadorian Egyptian English Eritrean "
    "Estonian Ethiopian Filipino Finnish French Georgian German Ghanaian Greek Guatemalan Haitian Honduran Hungarian "
    "Icelandic Indian Indonesian Iranian Iraqi Irish Israeli Italian Jamaican Japanese Jordanian Kazakh Kenyan "
    "Korean Kurdish Kuwaiti Laotian Latvian Lebanese Liberian Libyan Lithuanian Malaysian Malian Mexican Moldovan "
    "Mongolian Moroccan Nepali Nepalese Nicaraguan Nigerian Norwegian Pakistani Palestinian Panamanian Paraguayan "
    "Persian Peruvian Polish Portuguese Qatari Romanian Russian Rwandan Salvadoran Saudi Scottish Senegalese Serbian "
    "Sierra Leonean Singaporean Slovak Slovenian Somali Sudanese Spanish Swedish Swiss Syrian Taiwanese Tajik "
    "Tanzanian Thai Tibetan Tunisian Turkish Ugandan Ukrainian Uruguayan Uzbek Venezuelan Vietnamese Welsh Yemeni "
    "Zambian Zimbabwean African European Asian Latin Middle Eastern Arab Caribbean Scandinavian Slavic Balkan"
)
_IRREGULAR_NATIONALS = {"Polish": ("Poles", "Pole"), "Turkish": ("Turks", "Turk"), "Danish": ("Danes", "Dane"),
                        "Swedish": ("Swedes", "Swede"), "Finnish": ("Finns", "Finn"), "Spanish": ("Spaniards",
                        "Spaniard"), "Scottish": ("Scots", "Scot"), "Filipino": ("Filipinos", "Filipino"),
                        "Thai": ("Thais", "Thai"), "Kurdish": ("Kurds", "Kurd"), "Arab": ("Arabs", "Arab")}


def nationality_entries() -> list[tuple[str, str, str]]:
    """(plural, adjective, singular) for NATIONALITY_ADJECTIVES: "Ghanaians"/"Ghanaian", "Chinese people"/"Chinese
    person" (an adjective ending -ese/-ish/-ch/-ss takes no plural -s), and "<adjective> people" for every one."""
    words = NATIONALITY_ADJECTIVES.replace("Sierra Leonean", "Sierra_Leonean").replace("Middle Eastern",
                                                                                        "Middle_Eastern").split()
    out = []
    for adj in (w.replace("_", " ") for w in words):
        if adj in _IRREGULAR_NATIONALS:
            pl, sg = _IRREGULAR_NATIONALS[adj]
            out.append((pl, adj, sg))
        elif not adj.endswith(("ese", "ish", "ch", "ss", "sh", "Eastern", "Latin", "Slavic", "Balkan")):
            out.append((adj + "s", adj, adj))
        out.append((f"{adj} people", adj, f"{adj} person"))
    return out


# Kinds whose adjectives describe who someone is and say nothing else about them ("a Black engineer", "the Muslim
# family"): the ones a narrative can drop without changing what happened (srllm.rewrite.edit.drop_group_modifiers).
IDENTITY_KINDS = ("race", "religion", "nationality", "sexual_orientation")


@lru_cache(maxsize=1)
def identity_adjectives() -> frozenset[str]:
    """Lower-case single-word adjectives of IDENTITY_KINDS and of NATIONALITY_ADJECTIVES, hyphenated compounds
    ("african-american") included."""
    adjs = {adj for kind in IDENTITY_KINDS for _, adj, _ in GROUPS.get(kind, []) if adj}
    adjs |= {adj for _, adj, _ in nationality_entries()}
    return frozenset(adj.lower().replace(" ", "-") for adj in adjs)
