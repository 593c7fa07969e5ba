"""Pydantic models shared by every part of srllm: the CMD `Record`, `Span`, `Verdict`, `RewriteResult`,
`CheckResult`."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Record", "Span", "Verdict", "RewriteResult", "CheckResult", "Severity", "Action", "text_id", "row_id"]

Severity = Literal["none", "low", "medium", "high"]
Action = Literal["kept", "rewritten", "reframed", "edited", "failed"]


def text_id(text: str) -> str:
    """Stable id of a text when none is given: the first 16 hex digits of its SHA-1."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def row_id(text: str, line: int) -> str:
    """Id of a file row that has none: its line number and the hash of its text. Unique per row, so a text that
    repeats in a file is checked (and resumed) once per row, and stable across re-runs of the same file."""
    return f"L{line}-{text_id(text)}"


class Record(BaseModel):
    """One row of the Content Moderation Dataset (design.md, 'The CMD record')."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    text: str = Field(min_length=1)
    bias: Literal["none", "slight", "high"] | None = None
    toxicity: Literal["none", "mild", "high"] | None = None
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    harm: Literal["low", "medium", "high"] | None = None
    categories: list[str] = Field(default_factory=list)
    biased_words: list[str] = Field(default_factory=list)
    rewrite: str | None = None
    alternatives: list[str] = Field(default_factory=list, description="further human rewrites")
    rationale: str | None = None
    source: str | None = None
    split: Literal["train", "dev", "test"] | None = None

    def model_post_init(self, __context) -> None:
        if not self.id:
            self.id = text_id(self.text)

    @property
    def unsafe(self) -> bool | None:
        """True when any label says the text is unsafe, False when labels say it is safe, None if unlabelled."""
        labels = [self.bias, self.toxicity]
        if all(v is None for v in labels) and not self.categories:
            return None
        return bool(self.categories) or any(v not in (None, "none") for v in labels)


class Span(BaseModel):
    """A part of a text that carries the problem, by character offsets (text[start:end] == span.text)."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    score: float = Field(description="drop in unsafe probability when this span is removed")
    category: str | None = None


class Verdict(BaseModel):
    """What the detector says of one text."""

    unsafe: bool
    categories: dict[str, float] = Field(description="probability per taxonomy category with a trained head")
    flagged: list[str] = Field(default_factory=list, description="categories at or above their threshold")
    severity: Severity = "none"
    spans: list[Span] = Field(default_factory=list)


class RewriteResult(BaseModel):
    """What the rewrite pipeline produced for one unsafe text."""

    output: str
    action: Literal["rewritten", "reframed", "edited", "failed"]
    similarity: float | None = None
    attempts: int = Field(default=0, description="LLM stages that ran: the greedy attempts, plus one when "
                          "rewrites were sampled")
    output_unsafe: bool | None = None
    reason: str | None = Field(default=None, description="why an attempt was rejected, when it was")


class CheckResult(BaseModel):
    """One line of `srllm check` output."""

    id: str
    text: str
    unsafe: bool
    categories: dict[str, float]
    severity: Severity
    spans: list[Span] = Field(default_factory=list)
    output: str
    action: Action
    similarity: float | None = None
    reason: str | None = Field(default=None, description="why the LLM rewrites were rejected, for 'edited' and "
                               "'failed'")

    @field_validator("categories")
    @classmethod
    def _round(cls, v: dict[str, float]) -> dict[str, float]:
        return {k: round(float(p), 4) for k, p in v.items()}
