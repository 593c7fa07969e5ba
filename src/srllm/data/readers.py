"""Readers of the inputs `srllm check` takes: JSONL, CSV/TSV, Parquet, plain text (one per line) and stdin.

Every reader yields `InputRow`s in file order and raises `SrllmDataError` naming file, line and field for a
malformed row. Lines are decoded one at a time so invalid UTF-8 is reported with its line number. A Parquet
file's rows are numbered from 1 and reported as its "line" (it needs pyarrow, which `srllm[ray]` brings).

Ids: the `id_field` the caller names (it must be there); without one, a JSONL record's `id` field or a CSV/TSV
`id` column where present; otherwise `schema.row_id` (line number + text hash), unique per row.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from srllm.data.sources.files import decoded_lines, json_object
from srllm.errors import SrllmDataError
from srllm.schema import row_id

__all__ = ["InputRow", "read_inputs", "detect_format", "FORMATS", "DEFAULT_ID_FIELD"]

FORMATS = ("jsonl", "csv", "tsv", "txt", "parquet")
DEFAULT_ID_FIELD = "id"  # used when present and no other id field is named
_EXT = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv", ".txt": "txt",
        ".parquet": "parquet"}


@dataclass(frozen=True)
class InputRow:
    line: int
    id: str
    text: str


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise SrllmDataError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
        return fmt
    if str(path) == "-":
        return "txt"
    ext = Path(path).suffix.lower()
    if ext not in _EXT:
        raise SrllmDataError(f"cannot tell the format from the extension '{ext or '(none)'}'; "
                             f"pass --format {'|'.join(FORMATS)}", file=str(path))
    return _EXT[ext]


def _open_lines(path: str | Path) -> tuple[Iterable[bytes], str]:
    if str(path) == "-":
        return sys.stdin.buffer, "<stdin>"
    p = _input_file(path)
    return p.open("rb"), str(p)


def _input_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise SrllmDataError(f"input file '{p}' does not exist" if not p.exists() else f"'{p}' is not a file")
    return p


def _row(text, rid, *, name: str, line: int, text_field: str | None) -> InputRow:
    if not isinstance(text, str):
        raise SrllmDataError(f"expected a string, got {type(text).__name__}", file=name, line=line, field=text_field)
    if not text.strip():
        raise SrllmDataError("the text is empty", file=name, line=line, field=text_field)
    return InputRow(line=line, id=str(rid) if rid not in (None, "") else row_id(text, line), text=text)


def _read_jsonl(lines, name, text_field, id_field) -> Iterator[InputRow | SrllmDataError]:
    for n, line in decoded_lines(lines, name, collect=True):
        if isinstance(line, SrllmDataError):
            yield line
            continue
        if not line.strip():
            continue
        try:
            yield _jsonl_row(line, n, name, text_field, id_field)
        except SrllmDataError as e:
            yield e


def _jsonl_row(line: str, n: int, name: str, text_field: str, id_field: str | None) -> InputRow:
    obj = json_object(line, n, name)
    if text_field not in obj:
        raise SrllmDataError(f"no field '{text_field}'; the object has {', '.join(map(repr, obj)) or 'no keys'}. "
                             f"Use --text-field NAME", file=name, line=n, field=text_field)
    if id_field and id_field not in obj:
        raise SrllmDataError(f"no field '{id_field}' (--id-field)", file=name, line=n, field=id_field)
    rid = obj.get(id_field or DEFAULT_ID_FIELD)
    if isinstance(rid, dict | list):
        raise SrllmDataError(f"an id must be a string or a number, got a JSON {type(rid).__name__}", file=name,
                             line=n, field=id_field or DEFAULT_ID_FIELD)
    return _row(obj[text_field], rid, name=name, line=n, text_field=text_field)


def _read_delimited(lines, name, text_field, id_field, delimiter) -> Iterator[InputRow]:
    # csv needs text lines; a generator keeps decoding lazy and UTF-8 errors line-numbered. A CSV cannot be
    # re-synchronised after an undecodable line (quoted fields span lines), so that error always stops the file.
    text_lines = (line for _, line in decoded_lines(lines, name))
    # TSV has no quoting (IANA text/tab-separated-values): a quote is text, as in ParaDetox's `"` inside
    # sentences; read as CSV quoting, one such quote swallowed the rest of the file into one field.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(text_lines, delimiter=delimiter, quoting=quoting)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        raise SrllmDataError(f"cannot parse the header: {e}", file=name, line=1) from e
    if text_field not in header:
        textish = [h for h in header if h.lower() in ("text", "comment", "sentence", "body", "biased_text", "toxic")]
        others = [h for h in header if h.lower() not in ("id", "uid", "label", "index", "")]
        hint = textish[0] if textish else (others[0] if len(others) == 1 else None)
        raise SrllmDataError(f"you set --text-field {text_field}, but the header has columns {', '.join(header)}"
                             + (f". Use --text-field {hint}" if hint else ""), file=name, line=1, field=text_field)
    if id_field and id_field not in header:
        raise SrllmDataError(f"you set --id-field {id_field}, but the header has columns {', '.join(header)}",
                             file=name, line=1, field=id_field)
    ti = header.index(text_field)
    if not id_field and DEFAULT_ID_FIELD in header:
        id_field = DEFAULT_ID_FIELD
    ii = header.index(id_field) if id_field else None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise SrllmDataError(f"malformed row: {e}", file=name, line=reader.line_num) from e
        n = reader.line_num
        if not cells:
            continue
        if len(cells) != len(header):
            yield SrllmDataError(f"row has {len(cells)} cells, the header has {len(header)}", file=name, line=n)
            continue
        try:
            yield _row(cells[ti], cells[ii] if ii is not None else None, name=name, line=n, text_field=text_field)
        except SrllmDataError as e:
            yield e


def _read_parquet(path: str | Path, text_field: str, id_field: str | None) -> Iterator[InputRow | SrllmDataError]:
    """A Parquet file's rows in order, one record batch at a time; row n (from 1) is reported as line n."""
    if str(path) == "-":
        raise SrllmDataError("a Parquet file cannot be read from stdin; give its path with --input")
    p = _input_file(path)
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise SrllmDataError("reading Parquet needs pyarrow: pip install pyarrow (or pip install 'srllm[ray]')",
                             file=str(p)) from e
    name = str(p)
    try:
        pf = pq.ParquetFile(p)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a file that is not Parquet
        raise SrllmDataError(f"not a readable Parquet file: {e}", file=name) from e
    columns = pf.schema_arrow.names
    if text_field not in columns:
        raise SrllmDataError(f"you set --text-field {text_field}, but the file has columns {', '.join(columns)}",
                             file=name, field=text_field)
    if id_field and id_field not in columns:
        raise SrllmDataError(f"you set --id-field {id_field}, but the file has columns {', '.join(columns)}",
                             file=name, field=id_field)
    if not id_field and DEFAULT_ID_FIELD in columns:
        id_field = DEFAULT_ID_FIELD
    wanted = [text_field] + ([id_field] if id_field and id_field != text_field else [])
    n = 0
    for batch in pf.iter_batches(batch_size=4096, columns=wanted):
        texts = batch.column(text_field).to_pylist()
        ids = batch.column(id_field).to_pylist() if id_field else [None] * len(texts)
        for text, rid in zip(texts, ids, strict=True):
            n += 1
            if isinstance(rid, dict | list):
                yield SrllmDataError(f"an id must be a string or a number, got a {type(rid).__name__}", file=name,
                                     line=n, field=id_field)
                continue
            try:
                yield _row(text, rid, name=name, line=n, text_field=text_field)
            except SrllmDataError as e:
                yield e


def _read_txt(lines, name) -> Iterator[InputRow | SrllmDataError]:
    for n, line in decoded_lines(lines, name, collect=True):
        if isinstance(line, SrllmDataError):
            yield line
            continue
        line = line.rstrip("\r\n")
        if line.strip():
            yield InputRow(line=n, id=row_id(line, n), text=line)


def read_inputs(path: str | Path, *, fmt: str | None = None, text_field: str = "text",
                id_field: str | None = None, bad_rows: str = "raise") -> Iterator[InputRow | SrllmDataError]:
    """Yield the texts of a file (or '-' for stdin) in order.

    bad_rows='raise' stops at the first malformed row; 'yield' yields its SrllmDataError in its place so the
    caller can report it and go on. Whole-file problems (missing column, unknown format) always raise.
    """
    if bad_rows not in ("raise", "yield"):
        raise ValueError(f"bad_rows must be 'raise' or 'yield', got {bad_rows!r}")
    kind = detect_format(path, fmt)
    if kind == "parquet":
        yield from _raise_bad_rows(_read_parquet(path, text_field, id_field), bad_rows)
        return
    lines, name = _open_lines(path)
    try:
        if kind == "jsonl":
            rows = _read_jsonl(lines, name, text_field, id_field)
        elif kind in ("csv", "tsv"):
            rows = _read_delimited(lines, name, text_field, id_field, "," if kind == "csv" else "\t")
        else:
            rows = _read_txt(lines, name)
        try:
            yield from _raise_bad_rows(rows, bad_rows)
        except SrllmDataError as e:
            if bad_rows == "raise":
                raise
            # The rest of the file cannot be read (e.g. undecodable CSV): hand the error over, marked fatal, so
            # the caller can finish the rows it already has before stopping.
            e.fatal = True
            yield e
    finally:
        if isinstance(lines, io.IOBase) and lines is not sys.stdin.buffer:
            lines.close()


def _raise_bad_rows(rows: Iterable, bad_rows: str) -> Iterator[InputRow | SrllmDataError]:
    """`rows` as they come, except that a bad row (its SrllmDataError) is raised when bad_rows is 'raise'."""
    for row in rows:
        if isinstance(row, SrllmDataError) and bad_rows == "raise":
            raise row
        yield row
