"""Annotators: an LLM over an OpenAI-compatible endpoint prompted with the guideline (parse, repair, validate,
and re-ask with the validation error appended, up to `max_tries`), and srllm's detector (labels pre-filled from
its verdicts, no LLM)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from srllm.data.annotate.client import ChatClient, RequestRejected
from srllm.data.annotate.labels import Annotation
from srllm.data.annotate.parse import parse_annotation
from srllm.errors import SrllmConfigError

__all__ = ["AnnotatorResult", "LLMAnnotator", "DetectorAnnotator", "load_guideline", "GUIDELINES",
           "detector_annotation"]

GUIDELINES = ("v1",)


def load_guideline(name_or_path: str) -> tuple[str, str]:
    """(version, text) of a shipped guideline ('v1') or of a Markdown file."""
    if name_or_path in GUIDELINES:
        text = resources.files("srllm.data.annotate").joinpath(f"guideline_{name_or_path}.md").read_text("utf-8")
        return name_or_path, text
    p = Path(name_or_path)
    if not p.is_file():
        raise SrllmConfigError(f"--guideline {name_or_path!r} is neither a shipped guideline "
                               f"({', '.join(GUIDELINES)}) nor a file")
    return p.name, p.read_text(encoding="utf-8")


@dataclass
class AnnotatorResult:
    """One annotator on one text: labels (an Annotation as a dict) or the error that stopped it."""

    annotator: str
    labels: dict | None = None
    error: str | None = None
    tries: int = 0
    repairs: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    raw: str | None = None  # the last answer, cut to 2,000 characters

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], 0) or k in ("annotator", "tries")}


def _request(text: str) -> str:
    return f'Text: "{text}"\nAnswer with the JSON object only.'


def _again(error: str) -> str:
    return (f"That answer cannot be used: {error}. Answer again with one JSON object with the keys "
            + ", ".join(f'"{k}"' for k in Annotation.model_fields) + ".")


class LLMAnnotator:
    def __init__(self, name: str, client: ChatClient, *, guideline: str, categories: list[str],
                 temperature: float = 0.0, seed: int | None = None, max_tries: int = 3, max_tokens: int = 384):
        self.name, self.client, self.guideline, self.categories = name, client, guideline, categories
        self.temperature, self.seed, self.max_tries, self.max_tokens = temperature, seed, max_tries, max_tokens

    def annotate(self, text: str) -> AnnotatorResult:
        """Ask, parse, repair, validate; re-ask with the error up to max_tries. A transport failure that outlasts
        the client's max_wait raises (the job stops; nothing of this text is written)."""
        result = AnnotatorResult(self.name)
        messages = [{"role": "system", "content": self.guideline}, {"role": "user", "content": _request(text)}]
        for _ in range(self.max_tries):
            result.tries += 1
            try:
                reply = self.client.complete(messages, temperature=self.temperature, seed=self.seed,
                                             max_tokens=self.max_tokens)
            except RequestRejected as e:
                result.error = str(e)
                return result
            result.prompt_tokens += reply.prompt_tokens or 0
            result.completion_tokens += reply.completion_tokens or 0
            result.raw = reply.content[:2000]
            parsed = parse_annotation(reply.content, text, self.categories)
            result.repairs = parsed.repairs
            if parsed.annotation is not None:
                result.labels, result.error = parsed.annotation.model_dump(), None
                return result
            result.error = parsed.error
            messages += [{"role": "assistant", "content": reply.content[:2000]},
                         {"role": "user", "content": _again(parsed.error)}]
        result.error = f"no valid annotation after {result.tries} tries: {result.error}"
        return result


def detector_annotation(verdict) -> dict:
    """Labels from a detector Verdict: a flagged family sets its level (high where the verdict's severity is
    high, else the lower level), spans become biased words; sentiment is left out (the detector has no view)."""
    flagged = verdict.flagged
    fam = {f: any(c == f or c.startswith(f + ".") for c in flagged) for f in ("bias", "toxicity", "harm")}
    fam["bias"] = fam["bias"] or "stereotyping" in flagged
    high = verdict.severity == "high"
    words = []
    for s in verdict.spans:
        if s.text not in words:
            words.append(s.text)
    top = max(verdict.categories.items(), key=lambda kv: kv[1]) if verdict.categories else None
    return Annotation(
        bias=("high" if high else "slight") if fam["bias"] else "none",
        toxicity=("high" if high else "mild") if fam["toxicity"] else "none",
        harm=("high" if high else "medium") if fam["harm"] else "low",
        categories=list(flagged), biased_words=words,
        rationale=(f"detector flagged {', '.join(flagged)} (severity {verdict.severity})" if flagged else
                   f"detector: nothing flagged (highest {top[0]} {top[1]:.2f})" if top else None),
    ).model_dump()


class DetectorAnnotator:
    """srllm's detector as an annotator: categories, severity -> levels, spans -> biased words."""

    def __init__(self, name: str = "detector", *, detector=None, policy: str | None = None):
        self.name, self._detector, self.policy = name, detector, policy

    @property
    def detector(self):
        if self._detector is None:
            from srllm.detect import Detector

            self._detector = Detector(policy=self.policy)
        return self._detector

    def annotate_many(self, texts: list[str]) -> list[AnnotatorResult]:
        verdicts = self.detector.predict(texts, spans=True)
        return [AnnotatorResult(self.name, labels=detector_annotation(v), tries=1) for v in verdicts]

