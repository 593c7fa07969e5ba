"""The SR_LLM authors' files (sr-llm/ in the shared data folder): the CMD CSVs (train_500.csv, infer_50.csv) as
`Record`s and counterfactual-inhouse.csv as `CounterfactualRow`s."""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from srllm.errors import SrllmDataError
from srllm.schema import Record

__all__ = ["read_srllm_csv", "read_counterfactual", "CounterfactualRow", "ASPECT_TO_CATEGORY",
           "COUNTERFACTUAL_GROUPS", "SRLLM_COLUMNS"]

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


@dataclass(frozen=True)
class CounterfactualRow:
    """A neutral sentence (`Original`) and its demographic variants, (column, text) in file order; columns are
    '<dimension>_<variant>', e.g. 'gender_a_woman' (see COUNTERFACTUAL_GROUPS)."""

    original: str
    variants: tuple[tuple[str, str], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """"Original" and the variant columns, in file order."""
        return ("Original", *(c for c, _ in self.variants))

    def text(self, column: str) -> str:
        """The text in a column ("Original" or a variant column)."""
        if column == "Original":
            return self.original
        for c, t in self.variants:
            if c == column:
                return t
        raise KeyError(column)

    def texts(self) -> list[str]:
        """The original and every variant, in file order."""
        return [self.original, *(t for _, t in self.variants)]


def read_counterfactual(path: str | Path) -> list[CounterfactualRow]:
    """counterfactual-inhouse.csv: column `Original` (a neutral sentence) and one column per group variant."""
    p = Path(path)
    with p.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        if "Original" not in header:
            raise SrllmDataError(f"no column 'Original'; found {', '.join(header)}", file=str(p), line=1)
        rows = []
        for cells in reader:
            if not cells:
                continue
            if len(cells) != len(header):
                raise SrllmDataError(f"row has {len(cells)} cells, the header has {len(header)}", file=str(p),
                                     line=reader.line_num)
            by_column = dict(zip(header, cells, strict=True))
            rows.append(CounterfactualRow(by_column.pop("Original"), tuple(by_column.items())))
        return rows
