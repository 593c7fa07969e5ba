"""Atomic, resumable JSONL output.

Results are appended to `<output>.partial` as they are made (flushed per batch), and the finished file is moved
into place with `os.replace`, so `<output>` is either absent, the old complete file, or the new complete file.
Re-running on the same output resumes: ids already in `<output>` or `<output>.partial` are skipped.

`read_resume_records` is the tolerant reader of such half-written files (a torn last line is dropped); files a user
gives go through the strict `srllm.data.sources.read_jsonl` instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from srllm.atomic import atomic_file

__all__ = ["ResumableJsonlWriter", "write_jsonl_atomic", "read_resume_records"]


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
    def __init__(self, output: str | Path, *, key: str = "id", resume: bool = True):
        self.output = Path(output)
        self.partial = self.output.with_name(self.output.name + ".partial")
        self.key = key
        self.output.parent.mkdir(parents=True, exist_ok=True)
        done: list[dict] = []
        if resume:
            seen = set()
            for rec in read_resume_records(self.output) + read_resume_records(self.partial):
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
        """Close; when finished, move the partial file into place atomically."""
        self._f.close()
        if finished:
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
