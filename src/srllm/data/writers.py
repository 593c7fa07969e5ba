"""Atomic, resumable JSONL output.

Results are appended to `<output>.partial` as they are made (flushed per batch), and the finished file is moved
into place with `os.replace`, so `<output>` is either absent, the old complete file, or the new complete file.
Re-running on the same output resumes: ids already in `<output>` or `<output>.partial` are skipped.

`read_resume_records` is the tolerant reader of such half-written files (a torn last line is dropped); files a user
gives go through the strict `srllm.data.sources.read_jsonl` instead.

Results (`srllm check`'s CheckResult records) can also go to Parquet: an output path ending in `.parquet` is
written with `RESULT_SCHEMA` (categories as a map, spans as a list of structs) when the run finishes, still
atomically; `read_results` reads either format back as the same dicts. The partial file stays JSONL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from srllm.atomic import atomic_file

__all__ = ["ResumableJsonlWriter", "write_jsonl_atomic", "read_resume_records", "is_parquet", "result_schema",
           "write_results_parquet", "read_results"]


def is_parquet(path: str | Path) -> bool:
    """Results go to Parquet when the output's name ends in .parquet; anything else is JSONL."""
    return Path(path).suffix.lower() == ".parquet"


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as e:
        from srllm.errors import SrllmDataError

        raise SrllmDataError("writing or reading Parquet needs pyarrow: pip install pyarrow (or pip install "
                             "'srllm[ray]')") from e
    return pyarrow


def result_schema():
    """The Arrow schema of a CheckResult record (srllm.schema.CheckResult, field for field)."""
    pa = _pyarrow()
    span = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("score", pa.float64()),
                      ("category", pa.string())])
    return pa.schema([("id", pa.string()), ("text", pa.string()), ("unsafe", pa.bool_()),
                      ("categories", pa.map_(pa.string(), pa.float64())), ("severity", pa.string()),
                      ("spans", pa.list_(span)), ("output", pa.string()), ("action", pa.string()),
                      ("similarity", pa.float64()), ("reason", pa.string())])


def write_results_parquet(path: str | Path, records, *, chunk: int = 10_000) -> int:
    """Write CheckResult dicts (as `model_dump(mode="json")` gives them) to a Parquet file atomically, `chunk`
    records at a time; returns how many were written."""
    pa = _pyarrow()
    schema = result_schema()
    n = 0
    with atomic_file(path) as tmp:
        writer = pa.parquet.ParquetWriter(str(tmp), schema)
        try:
            buf: list[dict] = []
            for rec in records:
                buf.append(rec)
                if len(buf) >= chunk:
                    writer.write_table(pa.Table.from_pylist(buf, schema=schema))
                    n, buf = n + len(buf), []
            if buf or n == 0:
                writer.write_table(pa.Table.from_pylist(buf, schema=schema))
                n += len(buf)
        finally:
            writer.close()
    return n


def read_results(path: str | Path) -> list[dict]:
    """The records of a results file, JSONL or Parquet (by its extension), as dicts in file order: a Parquet
    file's categories map comes back as a dict, so both formats give what `model_dump(mode="json")` gave."""
    path = Path(path)
    if not is_parquet(path):
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    pa = _pyarrow()
    out = []
    for rec in pa.parquet.read_table(path).to_pylist():
        if isinstance(rec.get("categories"), list):
            rec["categories"] = dict(rec["categories"])
        out.append(rec)
    return out


def read_resume_records(path: Path) -> list[dict]:
    """The complete JSON lines of a resume or cache file this package wrote; a torn last line (a killed writer) is
    dropped, and so is a last line without its newline. Only for such files: never for a file a user gives."""
    out = []
    if not path.exists():
        return out
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return out


class ResumableJsonlWriter:
    """parquet=True (srllm check's results, for an output named *.parquet): `output` is a Parquet file of
    CheckResult records, read when resuming and written from the partial JSONL file when the run finishes."""

    def __init__(self, output: str | Path, *, key: str = "id", resume: bool = True, parquet: bool = False):
        self.output = Path(output)
        self.parquet = parquet
        self.partial = self.output.with_name(self.output.name + ".partial")
        self.key = key
        self.output.parent.mkdir(parents=True, exist_ok=True)
        done: list[dict] = []
        if resume:
            seen = set()
            earlier = (read_results(self.output) if parquet and self.output.exists()
                       else read_resume_records(self.output))
            for rec in earlier + read_resume_records(self.partial):
                if rec.get(key) not in seen:
                    seen.add(rec.get(key))
                    done.append(rec)
        self.done_ids = {r.get(key) for r in done}
        # Rewrite the partial file from the clean records so a torn line never survives.
        write_jsonl_atomic(self.partial, done)
        self._f = self.partial.open("a", encoding="utf-8")
        self.written = 0

    def write(self, records: list[dict]) -> None:
        for rec in records:
            self._f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.done_ids.add(rec.get(self.key))
        self._f.flush()
        os.fsync(self._f.fileno())
        self.written += len(records)

    def close(self, *, finished: bool) -> None:
        """Close; when finished, move the partial file into place atomically (a .parquet output: write the
        Parquet file from it atomically, then remove it)."""
        self._f.close()
        if finished and self.parquet:
            write_results_parquet(self.output, read_resume_records(self.partial))
            self.partial.unlink()
        elif finished:
            os.replace(self.partial, self.output)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(finished=exc_type is None)
        return False


def write_jsonl_atomic(path: str | Path, records, *, indent: int | None = None) -> None:
    """Write records (dicts, or pydantic models without their None fields) as JSONL, atomically."""
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for rec in records:
            obj = rec.model_dump(exclude_none=True) if hasattr(rec, "model_dump") else rec
            f.write(json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")
