"""Atomic writes, one rule everywhere: write a temporary file or folder beside the target, then move it into
place with `os.replace`, so a reader (or a killed job's re-run) sees the old version or the new one, never half
of one."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_file", "atomic_folder", "write_text_atomic", "write_json_atomic"]


@contextmanager
def atomic_file(path: str | os.PathLike, *, mode: int = 0o644) -> Iterator[Path]:
    """Yields a temporary path beside `path`; when the block succeeds, the file written there replaces `path`
    (created with permissions `mode`). When it fails, the temporary file is removed and `path` is untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yields an empty temporary folder beside `path`; when the block succeeds it replaces `path` (an existing
    folder there is removed first). When it fails, the temporary folder is removed and `path` is untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes 0700
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, obj, *, indent: int | None = 1, default=None) -> None:
    """`obj` as JSON (NaN allowed, non-ASCII kept), newline-terminated."""
    write_text_atomic(path, json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=True, default=default) + "\n")
