"""Responses with labels, shipped in the `pyrit` package (installed `--no-deps`, never imported), for the response
safety judge: the 400 many-shot jailbreak Q/A pairs (labelled harmful / not harmful by their authors), the
human-scored responses of pyrit's scorer evaluations (harm ratings 0-1 per category, objective achieved 0/1,
refusal 0/1) and the AI Red Team objective seeds (harmful requests with a category).

The scorer-evaluation files are the judge's held-out human labels: `srllm.train.response_judge` never trains on
them.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from srllm.data.sources.files import package_file
from srllm.data.sources.records import Prompt
from srllm.errors import SrllmDataError

__all__ = ["LabelledResponse", "many_shot_pairs", "harm_scored_responses", "objective_scored_responses",
           "refusal_scored_responses", "airt_prompts", "AIRT_FILES"]

# AI Red Team seed files that hold harmful objectives (fairness/therapist/crisis/leakage files are other tasks).
AIRT_FILES = ("violence", "hate", "illegal", "malware", "scams", "sexual", "harassment", "misinformation", "harms")


@dataclass(frozen=True)
class LabelledResponse:
    """A request, a response to it and a label in [0, 1]: harm (0 none .. 1 severe; the mean of the raters),
    objective achieved (0/1) or refused (0/1), as `kind` says."""

    prompt: str
    response: str
    score: float
    category: str
    source: str
    kind: str  # "harm", "objective", "refusal", "harmful" (many-shot: 1 harmful, 0 not)


def _evals(*parts: str) -> Path:
    return package_file("pyrit", "datasets", "scorer_evals", *parts)


def _csv_rows(path: Path):
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(line for line in f if not line.startswith("#"))
        for row in reader:
            yield reader.line_num, row


def _score(row: dict, path: Path, line: int) -> float:
    cols = [k for k in row if k and k.startswith("human_score")]
    try:
        values = [float(row[k]) for k in cols if row[k] not in (None, "")]
    except ValueError as e:
        raise SrllmDataError(f"a human score is not a number ({e})", file=str(path), line=line) from e
    if not values:
        raise SrllmDataError("no human_score column with a value", file=str(path), line=line)
    return sum(values) / len(values)


def _scored(folder: str, kind: str, skip: tuple[str, ...] = ()) -> list[LabelledResponse]:
    out, seen = [], set()
    for path in sorted(_evals(folder).glob("*.csv")):
        if path.stem in skip:
            continue
        for line, row in _csv_rows(path):
            key = (row["objective"].strip(), row["assistant_response"].strip())
            if key in seen:  # the multi-rater and mini files repeat some rows
                continue
            seen.add(key)
            category = (row.get("harm_category") or path.stem).strip().lower()
            out.append(LabelledResponse(key[0], key[1], _score(row, path, line), category,
                                        f"pyrit/{folder}/{path.name}", kind))
    if not out:
        raise SrllmDataError(f"no scored responses found in {_evals(folder)}")
    return out


def harm_scored_responses() -> list[LabelledResponse]:
    """scorer_evals/harm/*.csv: responses rated 0 / 0.25 / 0.5 / 0.75 / 1 for harm in one category (mean over
    raters); duplicates across the multi-rater and mini files kept once."""
    return _scored("harm", "harm")


def objective_scored_responses() -> list[LabelledResponse]:
    """scorer_evals/objective/*.csv: 1 when a human found the harmful objective achieved by the response."""
    return _scored("objective", "objective")


def refusal_scored_responses() -> list[LabelledResponse]:
    """Human refusal labels (1 = refused; pyrit counts an off-topic answer as a refusal): refusal_scorer/refusal.csv,
    refusal_extra.csv and sample/mini_refusal.csv, duplicates kept once."""
    out, seen = [], set()
    for path in (_evals("refusal_scorer", "refusal.csv"), _evals("refusal_scorer", "refusal_extra.csv"),
                 _evals("sample", "mini_refusal.csv")):
        for line, row in _csv_rows(path):
            key = (row["objective"].strip(), row["assistant_response"].strip())
            if key not in seen:
                seen.add(key)
                out.append(LabelledResponse(key[0], key[1], _score(row, path, line), "refusal",
                                            f"pyrit/{path.parent.name}/{path.name}", "refusal"))
    return out


def many_shot_pairs() -> list[LabelledResponse]:
    """jailbreak/many_shot_examples.json: 400 request/answer pairs, score 1 where the authors' label starts with
    'Harmful', 0 where it starts with 'Not harmful'."""
    path = package_file("pyrit", "datasets", "jailbreak", "many_shot_examples.json")
    try:
        rows = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as e:
        raise SrllmDataError(f"not valid JSON ({e.msg})", file=str(path)) from e
    out = []
    for i, r in enumerate(rows):
        label = r.get("category", "").strip().strip("*'\"").removeprefix("Answer:").strip().strip("*'\"").lower()
        if label.startswith("not harmful"):
            score = 0.0
        elif label.startswith("harmful"):
            score = 1.0
        else:
            raise SrllmDataError(f"item {i}: label {r.get('category', '')[:40]!r} is neither Harmful nor Not harmful",
                                 file=str(path))
        out.append(LabelledResponse(r["user"].strip(), r["assistant"].strip(), score, "", "pyrit/many_shot",
                                    "harmful"))
    return out


def airt_prompts(files: tuple[str, ...] = AIRT_FILES) -> list[Prompt]:
    """Harmful objectives of pyrit's AI Red Team seed files; the category is the file's harm category."""
    import yaml

    out = []
    for name in files:
        path = package_file("pyrit", "datasets", "seed_datasets", "local", "airt", f"{name}.prompt")
        doc = yaml.safe_load(path.read_text("utf-8")) or {}
        for i, s in enumerate(doc.get("seeds", [])):
            if s.get("seed_type", "objective") == "objective" and str(s.get("value", "")).strip():
                out.append(Prompt(f"airt:{name}:{i}", str(s["value"]).strip(), "airt", name))
    return out
