"""Importers of known sources into CMD `Record`s: the SR_LLM authors' CSV and ParaDetox TSV.

Where the data lives: `shared_data_dir()` looks at $SRLLM_DATA_DIR, then ../shared/data beside the checkout.
"""

from __future__ import annotations

import ast
import csv
import json
import os
from pathlib import Path

from pydantic import ValidationError

from srllm.errors import SrllmDataError
from srllm.schema import Record

__all__ = ["read_srllm_csv", "read_paradetox", "read_paradetox_cannot_rewrite", "read_counterfactual",
           "shared_data_dir", "ASPECT_TO_CATEGORY", "COUNTERFACTUAL_GROUPS"]

# SR_LLM `aspect` values mapped to taxonomy ids (design.md). Unlisted aspects fall back to bias.other.
ASPECT_TO_CATEGORY = {
    "political": "bias.political", "news media": "bias.political", "climate change": "bias.political",
    "criminal record discrimination": "bias.socioeconomic", "socioeconomic discrimination": "bias.socioeconomic",
    "professional": "bias.socioeconomic",
    "hate speech": "toxicity.identity_attack",
    "body-shaming": "bias.body",
    "religious": "bias.religion", "islamophobia": "bias.religion", "antisemitism": "bias.religion",
    "xenophobia": "bias.nationality", "nation stereotype": "bias.nationality", "linguistic": "bias.nationality",
    "health-related": "bias.health", "ableism": "bias.disability",
    "ageism": "bias.age",
    "gender discrimination": "bias.gender", "gender identity": "bias.sexual_orientation",
    "transphobia": "bias.sexual_orientation", "homophobia": "bias.sexual_orientation",
    "racial": "bias.race", "geographical": "bias.geography",
    "stereotype": "stereotyping",
}
_LABEL_TO_BIAS = {"slightly biased": "slight", "highly biased": "high"}
SRLLM_COLUMNS = ("biased_text", "dimension", "biased_words", "aspect", "label", "debiased_text")
COUNTERFACTUAL_GROUPS = {
    "gender": ["gender_a_man", "gender_a_woman"],
    "race": ["race_an_Asian_person", "race_a_Black_person", "race_a_Hispanic_person", "race_a_White_person"],
    "religion": ["religion_a_Christian", "religion_a_Muslim", "religion_a_Hindu", "religion_a_Buddhist"],
}


def shared_data_dir() -> Path | None:
    """The folder with paradetox/ and sr-llm/, or None when it is not on this machine."""
    env = os.environ.get("SRLLM_DATA_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" for p in here.parents]
    candidates.append(Path.cwd().parent / "shared" / "data")
    for c in candidates:
        if (c / "paradetox").is_dir() or (c / "sr-llm").is_dir():
            return c
    return None


def _categories_for(aspect: str, dimension: str) -> list[str]:
    cats = []
    a = aspect.strip().lower()
    if a:
        cats.append(ASPECT_TO_CATEGORY.get(a, "bias.other"))
    d = dimension.strip().lower()
    if d == "toxicity":
        cats.append("toxicity")
    elif d == "ageism" and not a:
        cats.append("bias.age")
    elif d == "hate speech":
        cats.append("toxicity.identity_attack")
    if not any(c.startswith("bias") for c in cats):
        cats.append("bias")
    return sorted(set(cats))


def _parse_words(raw: str, *, name: str, line: int) -> list[str]:
    raw = raw.strip()
    if not raw:
        return []
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError) as e:
        raise SrllmDataError(f"expected a list literal like ['word'], got {raw[:60]!r}", file=name, line=line,
                             field="biased_words") from e
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value]


def read_srllm_csv(path: str | Path, *, source: str | None = None) -> list[Record]:
    """The SR_LLM authors' CMD CSV (train_500.csv, infer_50.csv) as Records."""
    p = Path(path)
    name = str(p)
    with p.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in SRLLM_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SrllmDataError(f"missing column(s) {', '.join(missing)}; found {', '.join(reader.fieldnames or [])}",
                                 file=name, line=1)
        records = []
        start = 2
        for row in reader:
            line = start
            start = reader.line_num + 1
            text = (row["biased_text"] or "").strip()
            if not text:
                raise SrllmDataError("empty text", file=name, line=line, field="biased_text")
            label = (row["label"] or "").strip().lower()
            if label and label not in _LABEL_TO_BIAS:
                raise SrllmDataError(f"unknown label {row['label']!r}; expected 'Slightly Biased' or 'Highly Biased'",
                                     file=name, line=line, field="label")
            rewrite = (row["debiased_text"] or "").strip().strip('"').strip() or None
            cats = _categories_for(row["aspect"] or "", row["dimension"] or "")
            try:
                records.append(Record(
                    text=text, bias=_LABEL_TO_BIAS.get(label, "slight"),
                    toxicity="mild" if "toxicity" in cats else None,
                    categories=cats, biased_words=_parse_words(row["biased_words"] or "", name=name, line=line),
                    rewrite=rewrite, rationale=(row.get("comments") or "").strip() or None,
                    source=source or f"sr-llm/{p.stem}",
                ))
            except ValidationError as e:
                raise SrllmDataError(str(e.errors()[0]["msg"]), file=name, line=line) from e
    return records


def _tsv_lines(p: Path):
    # ParaDetox is tab-separated with NO quoting: quote characters are literal text.
    with p.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        for cells in reader:
            yield reader.line_num, header, cells


def read_paradetox(path: str | Path) -> list[Record]:
    """ParaDetox pairs: one Record per toxic text, first neutral rewrite in `rewrite`, the others in
    `alternatives`."""
    p = Path(path)
    records = []
    for line, header, cells in _tsv_lines(p):
        if header[:2] != ["toxic", "neutral1"]:
            raise SrllmDataError(f"expected columns toxic, neutral1, ...; found {', '.join(header)}",
                                 file=str(p), line=1)
        cells = (cells + [""] * len(header))[: len(header)]
        toxic = cells[0].strip()
        if not toxic:
            raise SrllmDataError("empty text", file=str(p), line=line, field="toxic")
        neutrals = [c.strip() for c in cells[1:] if c.strip()]
        # A few rows have no rewrite at all: kept as unsafe texts without a rewrite.
        records.append(Record(text=toxic, toxicity="high", categories=["toxicity"],
                              rewrite=neutrals[0] if neutrals else None,
                              alternatives=neutrals[1:], source="paradetox"))
    return records


def read_paradetox_cannot_rewrite(path: str | Path) -> list[Record]:
    """Toxic texts ParaDetox annotators could not detoxify (no rewrite)."""
    p = Path(path)
    records = []
    for _line, _header, cells in _tsv_lines(p):
        if len(cells) < 2 or not cells[1].strip():
            continue
        text = cells[1].strip()
        # Cells are wrapped in literal triple quotes in this file.
        while len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        reason = cells[2] if len(cells) > 2 else ""
        try:
            toxic = json.loads(reason.strip('"').replace('""', '"')).get("toxic_content", True)
        except (json.JSONDecodeError, AttributeError):
            toxic = True
        if text.strip():
            records.append(Record(text=text.strip(), toxicity="high" if toxic else "none",
                                  categories=["toxicity"] if toxic else [], source="paradetox/cannot_rewrite"))
    return records


def read_counterfactual(path: str | Path) -> list[dict]:
    """counterfactual-inhouse.csv rows: {'Original': ..., '<group variant>': ...}."""
    p = Path(path)
    with p.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if "Original" not in (reader.fieldnames or []):
            raise SrllmDataError(f"no column 'Original'; found {', '.join(reader.fieldnames or [])}",
                                 file=str(p), line=1)
        return [dict(r) for r in reader]
