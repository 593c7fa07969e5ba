"""The review of a CMD JSONL: its records (`srllm check` results or CMD `Record`s), the reviewer's decisions kept in
a review file beside it, and the export of the records with the review applied.

The review file has one JSON line per reviewed record, in the order of the reviewed file: `id`, `line` (its line
in the reviewed file), `decision` (accepted / corrected / rejected), `fields` (the corrected fields with their new
values, for `corrected`), `reviewer`, `time` (UTC, ISO 8601) and `text_id` (the hash of the text reviewed, so a
review is never applied to a text that changed since). It is rewritten atomically after every decision, so a
killed review loses nothing that was decided."""

from __future__ import annotations

import getpass
import re
import threading
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from srllm.data.sources.files import iter_jsonl
from srllm.data.writers import write_jsonl_atomic
from srllm.errors import SrllmDataError
from srllm.schema import CheckResult, Record, row_id, text_id

__all__ = ["ReviewItem", "ReviewStore", "Decision", "ExportStats", "load_items", "default_review_path",
           "export_reviewed", "EDITABLE"]

Decision = Literal["accepted", "corrected", "rejected"]
DECISIONS: tuple[str, ...] = typing.get_args(Decision)
Kind = Literal["record", "check"]
_CHECK_KEYS = {"output", "action", "unsafe", "severity"}  # keys only a `srllm check` result has


def _choices(model: type[BaseModel], name: str) -> list[str]:
    """The allowed values of a Literal field (None excluded)."""
    def walk(t):
        if typing.get_origin(t) is Literal:
            return list(typing.get_args(t))
        return [v for a in typing.get_args(t) for v in walk(a)]

    return [v for v in walk(model.model_fields[name].annotation) if v is not None]


def _editable(model: type[BaseModel], specs: list[tuple[str, str]]) -> list[dict]:
    out = []
    for name, kind in specs:
        spec = {"name": name, "type": kind}
        if kind == "choice":
            spec["choices"] = _choices(model, name)
        out.append(spec)
    return out


# What the reviewer can change, per kind of record: the rewrite first (the page's big text box), then the labels.
EDITABLE: dict[str, list[dict]] = {
    "record": _editable(Record, [("rewrite", "text"), ("bias", "choice"), ("toxicity", "choice"),
                                 ("sentiment", "choice"), ("harm", "choice"), ("categories", "list"),
                                 ("biased_words", "list")]),
    "check": _editable(CheckResult, [("output", "text"), ("unsafe", "bool"), ("severity", "choice")]),
}
_MODELS: dict[str, type[BaseModel]] = {"record": Record, "check": CheckResult}


@dataclass
class ReviewItem:
    """One record of the reviewed file, as read (`raw`) and validated (`model`)."""

    index: int
    line: int
    id: str
    kind: Kind
    raw: dict
    model: BaseModel

    @property
    def text(self) -> str:
        return self.model.text

    def values(self) -> dict[str, Any]:
        """The current value of every editable field."""
        dump = self.model.model_dump()
        return {spec["name"]: dump[spec["name"]] for spec in EDITABLE[self.kind]}

    def spans(self) -> list[dict]:
        """Where the problem is in the text: a check result's spans, or every whole-word occurrence of a record's
        biased words (case-insensitive; anywhere in a word when there is no whole-word match)."""
        if self.kind == "check":
            return [{"start": s.start, "end": s.end, "text": s.text} for s in self.model.spans]
        return find_words(self.text, self.model.biased_words)


def find_words(text: str, words: list[str]) -> list[dict]:
    spans = []
    for w in words:
        if not w.strip():
            continue
        found = list(re.finditer(r"(?<!\w)" + re.escape(w) + r"(?!\w)", text, flags=re.IGNORECASE)) \
            or list(re.finditer(re.escape(w), text, flags=re.IGNORECASE))
        spans += [{"start": m.start(), "end": m.end(), "text": m.group(0)} for m in found]
    return sorted(spans, key=lambda s: (s["start"], -s["end"]))


def _validation_error(e: ValidationError, *, file: str, line: int, prefix: str = "") -> SrllmDataError:
    err = e.errors()[0]
    name = ".".join(str(p) for p in err["loc"]) or None
    value = f" (given {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
    return SrllmDataError(f"{prefix}{err['msg']}{value}", file=file, line=line, field=name)


def load_items(path: str | Path) -> list[ReviewItem]:
    """Every record of a CMD JSONL (`srllm check`, `srllm annotate` or `srllm data build` output). A line that is
    not a JSON object, a field of the wrong type or value, or an id used twice raises SrllmDataError naming the
    file, line and field. A record without an id gets one from its line and text (`srllm.schema.row_id`)."""
    items: list[ReviewItem] = []
    seen: dict[str, int] = {}
    name = str(path)
    for line, obj in iter_jsonl(path):
        kind: Kind = "check" if _CHECK_KEYS & obj.keys() else "record"
        try:
            model = _MODELS[kind].model_validate(obj)
        except ValidationError as e:
            what = "a `srllm check` result" if kind == "check" else "a CMD record"
            raise _validation_error(e, file=name, line=line, prefix=f"not {what}: ") from e
        rid = str(obj["id"]) if obj.get("id") else row_id(model.text, line)
        if rid in seen:
            raise SrllmDataError(f"id {rid!r} is also on line {seen[rid]}; ids must be unique to review by id",
                                 file=name, line=line, field="id")
        seen[rid] = line
        items.append(ReviewItem(len(items), line, rid, kind, obj, model))
    if not items:
        raise SrllmDataError("no records to review (the file is empty)", file=name)
    return items


def default_review_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name.removesuffix(".jsonl") + ".review.jsonl")


def _read_reviews(path: Path, items: list[ReviewItem]) -> tuple[dict[str, dict], list[dict]]:
    """(entries by id of a record in `items`, entries of ids not in `items`)."""
    by_id = {it.id: it for it in items}
    known: dict[str, dict] = {}
    orphans: list[dict] = []
    if not path.exists():
        return known, orphans
    for line, e in iter_jsonl(path):
        where = dict(file=str(path), line=line)
        if not isinstance(e.get("id"), str):
            raise SrllmDataError("a review line needs a string id", field="id", **where)
        if e.get("decision") not in DECISIONS:
            raise SrllmDataError(f"decision {e.get('decision')!r} is not one of {', '.join(DECISIONS)}",
                                 field="decision", **where)
        item = by_id.get(e["id"])
        if item is None:
            orphans.append(e)
            continue
        if e.get("text_id") not in (None, text_id(item.text)):
            raise SrllmDataError(f"record {e['id']!r} was reviewed with another text (the reviewed file changed "
                                 "since); review it again into a new file with --out", field="text_id", **where)
        try:
            _merged(item, e.get("fields") or {})
        except ValidationError as err:
            raise _validation_error(err, prefix=f"correction of {e['id']!r}: ", **where) from err
        known[e["id"]] = e
    return known, orphans


def _merged(item: ReviewItem, fields: dict) -> BaseModel:
    """The item's model with `fields` applied (validated)."""
    return type(item.model).model_validate({**item.raw, **fields})


@dataclass
class ExportStats:
    kept: int = 0
    corrected: int = 0
    rejected: int = 0
    unreviewed: int = 0


class ReviewStore:
    """The records of `path` and their review, saved to `out` (default `<path stem>.review.jsonl`) after every
    decision. Thread-safe: the web app calls it from several threads."""

    def __init__(self, path: str | Path, *, out: str | Path | None = None, reviewer: str | None = None):
        self.path = Path(path)
        self.out = Path(out) if out is not None else default_review_path(self.path)
        if self.out.resolve() == self.path.resolve():
            raise SrllmDataError("the review file would overwrite the reviewed file; choose another --out",
                                 file=str(self.path))
        self.reviewer = reviewer or _user()
        self.items = load_items(self.path)
        self._by_id = {it.id: it for it in self.items}
        self.reviews, self._orphans = _read_reviews(self.out, self.items)
        self._lock = threading.Lock()

    # --- reading
    def counts(self) -> dict[str, int]:
        c = {d: 0 for d in DECISIONS}
        for e in self.reviews.values():
            c[e["decision"]] += 1
        return {"total": len(self.items), "reviewed": len(self.reviews), **c}

    def first_unreviewed(self) -> int | None:
        return next((it.index for it in self.items if it.id not in self.reviews), None)

    def current(self, item: ReviewItem) -> dict[str, Any]:
        """The editable fields of `item` with its correction applied, if any."""
        review = self.reviews.get(item.id)
        values = item.values()
        if review and review.get("fields"):
            values.update({k: v for k, v in _merged(item, review["fields"]).model_dump().items() if k in values})
        return values

    # --- deciding
    def decide(self, index: int, action: Literal["accept", "reject", "save"], fields: dict | None = None) -> dict:
        """Record a decision on the item at `index` and save the review file. `accept` keeps the record as it now
        reads (with an earlier correction, if any); `save` sets the editable `fields` (the record is `corrected`
        when they differ from the file's values, else `accepted`); `reject` drops it from the export. Returns the
        review entry. Raises IndexError for a bad index, SrllmDataError for a bad field or value."""
        if not 0 <= index < len(self.items):
            raise IndexError(f"no record {index}: the file has {len(self.items)}")
        item = self.items[index]
        with self._lock:
            old = self.reviews.get(item.id) or {}
            if action == "reject":
                decision, changed = "rejected", {}
            else:
                changed = dict(old.get("fields") or {}) if action == "accept" else self._changes(item, fields or {})
                decision = "corrected" if changed else "accepted"
            entry = {"id": item.id, "line": item.line, "decision": decision}
            if changed:
                entry["fields"] = changed
            entry.update(reviewer=self.reviewer, time=datetime.now(UTC).isoformat(timespec="seconds"),
                         text_id=text_id(item.text))
            self.reviews[item.id] = entry
            try:
                self._save()
            except BaseException:
                if old:
                    self.reviews[item.id] = old
                else:
                    del self.reviews[item.id]
                raise
            return entry

    def _changes(self, item: ReviewItem, fields: dict) -> dict:
        allowed = {s["name"] for s in EDITABLE[item.kind]}
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise SrllmDataError(f"cannot correct {', '.join(unknown)}; editable fields: {', '.join(sorted(allowed))}",
                                 field=unknown[0])
        fields = {k: (None if v == "" and k != "output" else v) for k, v in fields.items()}
        try:
            new = _merged(item, fields).model_dump()
        except ValidationError as e:
            raise _validation_error(e, file=str(self.path), line=item.line, prefix=f"correction of {item.id!r}: ") \
                from e
        original = item.values()
        return {k: new[k] for k in fields if new[k] != original[k]}

    def _save(self) -> None:
        write_jsonl_atomic(self.out, [self.reviews[it.id] for it in self.items if it.id in self.reviews]
                           + self._orphans)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "reviewer"


def export_reviewed(path: str | Path, out: str | Path, *, review: str | Path | None = None,
                    reviewed_only: bool = False) -> ExportStats:
    """Write the records of `path` with their review applied to `out` (atomically): rejected records dropped,
    corrected fields merged, accepted ones as they were; unreviewed records kept unless `reviewed_only`. Every
    record written has an id."""
    store = ReviewStore(path, out=review)
    if Path(out).resolve() in (store.path.resolve(), store.out.resolve()):
        raise SrllmDataError("the export would overwrite its input; choose another output file", file=str(out))
    stats = ExportStats()
    rows = []
    for item in store.items:
        entry = store.reviews.get(item.id)
        if entry is None:
            stats.unreviewed += 1
            if reviewed_only:
                continue
        elif entry["decision"] == "rejected":
            stats.rejected += 1
            continue
        elif entry["decision"] == "corrected":
            stats.corrected += 1
        fields = (entry or {}).get("fields") or {}
        row = {"id": item.id, **{k: v for k, v in item.raw.items() if k != "id"}}
        row.update(fields)
        rows.append({k: v for k, v in row.items() if v is not None or k in item.raw})
        stats.kept += 1
    write_jsonl_atomic(out, rows)
    return stats
