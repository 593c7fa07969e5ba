"""From a model's answer to a valid `Annotation`: find the JSON object in the text around it, repair what is
mechanically wrong (code fences, trailing commas, smart quotes, Python literals), coerce label synonyms and
category names, validate. `parse_annotation` is a pure function the annotator retries on; its error message is
what the next try is told."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from srllm.data.annotate.labels import SCALES, SYNONYMS, Annotation

__all__ = ["ParseResult", "extract_json", "parse_annotation", "coerce_fields"]

OPTIONAL = ("sentiment", "harm")  # labels an annotation may lack (bias and toxicity are required)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_DANGLING_KEY = re.compile(r',\s*"[^"]*"\s*(})\s*$')  # {"a": 1, "a stray string"} -> {"a": 1}
_SMART = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_KEYS = {"bias_level": "bias", "bias level": "bias", "label": "bias", "biased": "bias", "toxic": "toxicity",
         "toxicity_level": "toxicity", "tone": "sentiment", "harm_level": "harm", "category": "categories",
         "aspect": "categories", "words": "biased_words", "biased words": "biased_words", "spans": "biased_words",
         "debiased_text": "rewrite", "rewritten": "rewrite", "benign_rewrite": "rewrite", "reason": "rationale",
         "explanation": "rationale"}


@dataclass
class ParseResult:
    annotation: Annotation | None
    error: str | None = None  # why no annotation could be made (told to the model on the next try)
    repairs: list[str] = field(default_factory=list)  # what was fixed on the way


def extract_json(raw: str) -> str | None:
    """The first balanced {...} of a text (strings and escapes respected); an unclosed one is closed. None when
    the text has no '{'."""
    start = raw.find("{")
    if start < 0:
        return None
    stack, in_str, esc = [], False, False
    for i in range(start, len(raw)):
        c = raw[i]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[":
            stack.append("}" if c == "{" else "]")
        elif c in "}]":
            if stack and stack[-1] == c:
                stack.pop()
            if not stack:
                return raw[start:i + 1]
    return raw[start:] + ('"' if in_str else "") + "".join(reversed(stack))  # cut off: close what is open


def _load(obj_text: str, repairs: list[str]) -> object:
    try:
        return json.loads(obj_text)
    except json.JSONDecodeError as first:
        fixed = _DANGLING_KEY.sub(r"\1", _TRAILING_COMMA.sub(r"\1", obj_text.translate(_SMART)))
        if fixed != obj_text:
            try:
                value = json.loads(fixed)
                repairs.append("trailing commas, smart quotes or a stray last string")
                return value
            except json.JSONDecodeError:
                pass
        try:  # a Python dict literal: single quotes, True/None
            value = ast.literal_eval(fixed)
            repairs.append("python literal")
            return value
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise first from None


def _label(name: str, value, repairs: list[str]):
    if value is None or not isinstance(value, str | int | float | bool):
        return value
    v = str(value).strip().lower().strip(".")
    if v in SCALES[name]:
        return v
    mapped = SYNONYMS[name].get(v)
    if mapped is None and name != "sentiment" and isinstance(value, int | float) and not isinstance(value, bool):
        scale = SCALES[name]  # 0, 1, 2 on the scale
        mapped = scale[int(value)] if 0 <= int(value) < len(scale) else None
    if mapped is not None:
        repairs.append(f"{name} {value!r} -> {mapped!r}")
        return mapped
    return value


def _category(value: str, known: Iterable[str]) -> str | None:
    v = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    known = list(known)
    if v in known:
        return v
    ends = [k for k in known if k.split(".")[-1] == v or k.split(".")[-1].startswith(v) and len(v) >= 4]
    return ends[0] if len(ends) == 1 else None


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return list(value) if isinstance(value, list | tuple) else [value]


def coerce_fields(obj: dict, text: str, categories: Iterable[str], repairs: list[str]) -> dict:
    """Keys, labels, categories and biased words of a parsed answer brought to the Annotation's form; words not
    in the text and unknown categories are dropped (and said in `repairs`)."""
    out = {}
    for key, value in obj.items():
        k = str(key).strip().lower()
        k = _KEYS.get(k, k)
        if k != str(key):
            repairs.append(f"key {key!r} -> {k!r}")
        out.setdefault(k, value)
    for name in SCALES:
        if name in out:
            out[name] = _label(name, out[name], repairs)
            if name in OPTIONAL and out[name] is not None and out[name] not in SCALES[name]:
                repairs.append(f"dropped {name} {out[name]!r} (not one of {', '.join(SCALES[name])})")
                out[name] = None  # an optional label the model got wrong is left out, not a reason to re-ask
    cats, known = [], list(categories)
    for c in _as_list(out.get("categories")):
        cid = _category(c, known) if isinstance(c, str) else None
        if cid is None:
            repairs.append(f"dropped unknown category {c!r}")
        elif cid not in cats:
            cats.append(cid)
    out["categories"] = cats
    words = []
    for w in _as_list(out.get("biased_words")):
        w = str(w).strip().strip("'\"")
        if len(w) >= 2 and w.lower() in text.lower():
            words.append(w)
        elif w:
            repairs.append(f"dropped biased word not in the text {w!r}")
    out["biased_words"] = words
    for name in ("rewrite", "rationale"):
        if name in out and out[name] is not None and not isinstance(out[name], str):
            out[name] = str(out[name])
        if isinstance(out.get(name), str) and not out[name].strip():
            out[name] = None
    return out


def parse_annotation(raw: str, text: str, categories: Iterable[str]) -> ParseResult:
    """A model's answer as an Annotation, or the reason it is not one."""
    repairs: list[str] = []
    obj_text = extract_json(raw or "")
    if obj_text is None:
        return ParseResult(None, "the answer has no JSON object; answer with one JSON object only")
    if obj_text.strip() != (raw or "").strip():
        repairs.append("extracted the JSON object from the text around it")
    try:
        obj = _load(obj_text, repairs)
    except json.JSONDecodeError as e:
        return ParseResult(None, f"the JSON object does not parse: {e.msg} at character {e.pos}", repairs)
    if not isinstance(obj, dict):
        return ParseResult(None, f"expected a JSON object, got a {type(obj).__name__}", repairs)
    obj = coerce_fields(obj, text, categories, repairs)
    try:
        return ParseResult(Annotation.model_validate(obj), None, repairs)
    except ValidationError as e:
        problems = []
        for err in e.errors()[:4]:
            name = ".".join(str(x) for x in err["loc"])
            allowed = f" (one of {', '.join(SCALES[name])})" if name in SCALES else ""
            problems.append(f"'{name}': {err['msg']}{allowed}")
        return ParseResult(None, "invalid fields: " + "; ".join(problems), repairs)
