"""ParaDetox (paradetox/ in the shared data folder): toxic texts and their human neutral rewrites, and the toxic
texts annotators could not detoxify, as `Record`s."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from srllm.errors import SrllmDataError
from srllm.schema import Record

__all__ = ["read_paradetox", "read_paradetox_cannot_rewrite"]


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
