"""Exception types. Each inherits the matching built-in so callers can catch either."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SrllmError(Exception):
    """Base class of every error srllm raises on purpose."""


class SrllmDataError(SrllmError, ValueError):
    """Bad input data. Names the file, line and field where they are known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.file, self.line, self.field = file, line, field
        self.fatal = False  # True when reading cannot go on past this error
        where = []
        if file is not None:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class SrllmConfigError(SrllmError, ValueError):
    """A configuration or policy value is invalid."""


class SrllmModelError(SrllmError, RuntimeError):
    """A model, adapter or generation backend could not be loaded or used."""


def did_you_mean(name: str, choices: Iterable[str], *, n: int = 3) -> str:
    """'Did you mean a, b?' naming the choices closest to a misspelt `name`, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=n)
    return f"Did you mean {', '.join(close)}?" if close else ""
