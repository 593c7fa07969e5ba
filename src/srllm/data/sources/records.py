"""The small record types of the sources that are not CMD `Record`s."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SourceText", "Prompt"]


@dataclass(frozen=True)
class SourceText:
    """A text of a corpus and its stable id, "<corpus>:<0-based line or item index>" (e.g. "sbic:12")."""

    id: str
    text: str


@dataclass(frozen=True)
class Prompt:
    """A request to a model (harmful, or a benign question with reference answers)."""

    id: str
    text: str
    source: str
    category: str = ""
    answers: tuple[str, ...] = field(default_factory=tuple)
