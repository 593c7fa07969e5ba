"""The safety risk taxonomy: categories with descriptions, severities, thresholds and mappings to Llama Guard 3
(S1-S14) and OpenAI moderation; user policies loaded from YAML add, disable or re-threshold categories."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import yaml

from srllm.errors import SrllmConfigError, did_you_mean

__all__ = ["Category", "Taxonomy", "load_policy", "default_taxonomy", "read_taxonomy", "LLAMA_GUARD_3", "SEVERITY_RANK"]

SEVERITY_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}

LLAMA_GUARD_3 = {
    "S1": "Violent Crimes", "S2": "Non-Violent Crimes", "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation", "S5": "Defamation", "S6": "Specialized Advice", "S7": "Privacy",
    "S8": "Intellectual Property", "S9": "Indiscriminate Weapons", "S10": "Hate",
    "S11": "Suicide & Self-Harm", "S12": "Sexual Content", "S13": "Elections", "S14": "Code Interpreter Abuse",
}
_FIELDS = {"id", "name", "severity", "description", "llama_guard", "openai", "threshold", "groups", "terms"}
# counterfactual_groups is read by srllm.data.counterfactual (srllm counterfactual); the taxonomy ignores it.
_TOP_KEYS = {"default_threshold", "categories", "disable", "thresholds", "groups", "terms", "extends",
             "counterfactual_groups"}


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    description: str
    severity: str = "medium"
    threshold: float | None = None
    llama_guard: tuple[str, ...] = ()
    openai: tuple[str, ...] = ()
    # Words that name the groups of people a bias category is about ("women", "muslims"). They are neutral on
    # their own: the span-edit fallback never deletes them, since deleting the group hides a stereotype from the
    # detector but keeps the claim ("Women are too emotional" -> "Are too emotional").
    groups: tuple[str, ...] = ()
    # Words or phrases that flag the category wherever they occur as whole words ("fuck", "nigger"): a sentence
    # embedding judges the whole sentence and can miss one profane word in an otherwise ordinary sentence.
    terms: tuple[str, ...] = ()

    @property
    def parent(self) -> str | None:
        return self.id.rsplit(".", 1)[0] if "." in self.id else None


@dataclass
class Taxonomy:
    """The active set of categories and their thresholds."""

    categories: dict[str, Category] = field(default_factory=dict)
    default_threshold: float = 0.5
    disabled: set[str] = field(default_factory=set)

    def __iter__(self):
        return (c for cid, c in self.categories.items() if self.enabled(cid))

    def __contains__(self, cid: str) -> bool:
        return self.enabled(cid)

    def __getitem__(self, cid: str) -> Category:
        return self.categories[cid]

    def enabled(self, cid: str) -> bool:
        # Disabling a parent disables its children too.
        parts = cid.split(".")
        return cid in self.categories and not any(".".join(parts[:i]) in self.disabled
                                                   for i in range(1, len(parts) + 1))

    def threshold(self, cid: str) -> float:
        cat = self.categories.get(cid)
        return cat.threshold if cat is not None and cat.threshold is not None else self.default_threshold

    def apply(self, policy: dict, *, source: str = "<policy>") -> Taxonomy:
        """Return a new taxonomy with a policy dict (the YAML shape) applied."""
        unknown = set(policy) - _TOP_KEYS
        if unknown:
            raise SrllmConfigError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
        cats = dict(self.categories)
        for i, raw in enumerate(policy.get("categories") or []):
            cat = _category_from_dict(raw, where=f"{source}: categories[{i}]", base=cats.get(raw.get("id", "")))
            cats[cat.id] = cat
        default = float(policy.get("default_threshold", self.default_threshold))
        _check_prob(default, f"{source}: default_threshold")
        for cid, value in (policy.get("thresholds") or {}).items():
            if cid not in cats:
                raise SrllmConfigError(f"{source}: thresholds: unknown category '{cid}'. {_suggest(cid, cats)}")
            _check_prob(value, f"{source}: thresholds.{cid}")
            cats[cid] = replace(cats[cid], threshold=float(value))
        for key in ("groups", "terms"):
            lists = policy.get(key) or {}
            if not isinstance(lists, dict):
                raise SrllmConfigError(f"{source}: {key} must map a category id to a list of words")
            for cid, words in lists.items():
                if cid not in cats:
                    raise SrllmConfigError(f"{source}: {key}: unknown category '{cid}'. {_suggest(cid, cats)}")
                added = _word_list(words, f"{source}: {key}.{cid}", key)
                cats[cid] = replace(cats[cid], **{key: tuple(dict.fromkeys((*getattr(cats[cid], key), *added)))})
        disabled = set(self.disabled)
        for cid in policy.get("disable") or []:
            if cid not in cats:
                raise SrllmConfigError(f"{source}: disable: unknown category '{cid}'. {_suggest(cid, cats)}")
            disabled.add(cid)
        return Taxonomy(categories=cats, default_threshold=default, disabled=disabled)

    @property
    def group_terms(self) -> frozenset[str]:
        """Lower-cased words naming groups of people, over the enabled categories."""
        return frozenset(w for c in self for w in c.groups)

    @property
    def flag_terms(self) -> dict[str, tuple[str, ...]]:
        """Enabled category id -> the lower-cased words/phrases that flag it on their own (categories with none
        left out)."""
        return {c.id: c.terms for c in self if c.terms}

    def rows(self) -> list[dict]:
        return [{"id": c.id, "name": c.name, "severity": c.severity, "threshold": self.threshold(c.id),
                 "enabled": self.enabled(c.id), "llama_guard": ",".join(c.llama_guard),
                 "openai": ",".join(c.openai), "description": c.description, "groups": list(c.groups),
                 "terms": list(c.terms)}
                for c in self.categories.values()]


def _check_prob(value, where: str) -> None:
    try:
        ok = 0.0 <= float(value) <= 1.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise SrllmConfigError(f"{where}: threshold must be a number between 0 and 1, got {value!r}")


def _suggest(cid: str, cats) -> str:
    return did_you_mean(cid, cats) or f"Known: {', '.join(sorted(cats))}"


_EXAMPLE = {"groups": "[women, men]", "terms": "[fuck, shit]"}


def _word_list(words, where: str, key: str) -> tuple[str, ...]:
    if isinstance(words, str) or not isinstance(words, list | tuple) \
            or not all(isinstance(w, str) and w.strip() for w in words):
        raise SrllmConfigError(f"{where}: {key} must be a list of words, e.g. {_EXAMPLE[key]}")
    return tuple(" ".join(w.split()).lower() for w in words)


def _category_from_dict(raw: dict, *, where: str, base: Category | None) -> Category:
    if not isinstance(raw, dict) or "id" not in raw:
        raise SrllmConfigError(f"{where}: each category needs at least an 'id'")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise SrllmConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
    if base is None and "description" not in raw:
        raise SrllmConfigError(f"{where}: new category '{raw['id']}' needs a 'description'")
    sev = raw.get("severity", base.severity if base else "medium")
    if sev not in ("low", "medium", "high"):
        raise SrllmConfigError(f"{where}: severity must be low, medium or high, got {sev!r}")
    if "threshold" in raw:
        _check_prob(raw["threshold"], f"{where}.threshold")
    lg = tuple(raw.get("llama_guard", base.llama_guard if base else ()))
    bad = [c for c in lg if c not in LLAMA_GUARD_3]
    if bad:
        raise SrllmConfigError(f"{where}: unknown Llama Guard 3 code(s) {bad}; use S1..S14")
    return Category(
        id=str(raw["id"]), name=str(raw.get("name", base.name if base else raw["id"])),
        description=str(raw.get("description", base.description if base else "")), severity=sev,
        threshold=float(raw["threshold"]) if "threshold" in raw else (base.threshold if base else None),
        llama_guard=lg, openai=tuple(raw.get("openai", base.openai if base else ())),
        groups=_word_list(raw["groups"], f"{where}.groups", "groups") if "groups" in raw
        else (base.groups if base else ()),
        terms=_word_list(raw["terms"], f"{where}.terms", "terms") if "terms" in raw else (base.terms if base else ()),
    )


def _read_yaml(path: Path | str, text: str) -> dict:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise SrllmConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise SrllmConfigError(f"{path}: a policy file must be a mapping with keys {sorted(_TOP_KEYS)}")
    return data


def default_taxonomy() -> Taxonomy:
    text = resources.files("srllm.taxonomy").joinpath("default.yaml").read_text("utf-8")
    return Taxonomy().apply(_read_yaml("default.yaml", text), source="srllm/taxonomy/default.yaml")


def read_taxonomy(path: str | Path) -> Taxonomy:
    """A taxonomy read whole from a YAML file in the shape of default.yaml (e.g. the default.yaml of an older
    commit), not applied on top of the default as a policy is."""
    p = Path(path)
    if not p.is_file():
        raise SrllmConfigError(f"taxonomy file '{p}' does not exist")
    return Taxonomy().apply(_read_yaml(p, p.read_text("utf-8")), source=str(p))


def load_policy(path: str | Path | None) -> Taxonomy:
    """The default taxonomy with a user's YAML policy applied (None: the default alone)."""
    tax = default_taxonomy()
    if path is None:
        return tax
    p = Path(path)
    if not p.is_file():
        raise SrllmConfigError(f"policy file '{p}' does not exist")
    return tax.apply(_read_yaml(p, p.read_text("utf-8")), source=str(p))
