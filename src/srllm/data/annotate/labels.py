"""What an annotator returns for one text: the `Annotation` model (the JSON schema sent to the endpoint), the
label scales, and the synonyms a model's answer may use instead of the exact labels."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Annotation", "LABEL_FIELDS", "ORDINAL", "SCALES", "SYNONYMS", "response_schema"]

# The label fields, each with its scale (ordinal ones in increasing severity).
SCALES: dict[str, tuple[str, ...]] = {
    "bias": ("none", "slight", "high"),
    "toxicity": ("none", "mild", "high"),
    "sentiment": ("negative", "neutral", "positive"),
    "harm": ("low", "medium", "high"),
}
LABEL_FIELDS = tuple(SCALES)
ORDINAL = ("bias", "toxicity", "harm")  # sentiment is nominal for voting (ties) and Krippendorff's alpha

# Lower-cased answers that mean a label (SR_LLM's own wording first: "Slightly Biased", "Highly Biased", "Neutral").
SYNONYMS: dict[str, dict[str, str]] = {
    "bias": {"neutral": "none", "not biased": "none", "unbiased": "none", "no": "none", "no bias": "none",
             "low": "slight", "slightly biased": "slight", "slightly": "slight", "mild": "slight", "medium": "slight",
             "moderate": "slight", "some": "slight", "highly biased": "high", "highly": "high", "severe": "high",
             "strong": "high", "biased": "slight", "yes": "slight"},
    "toxicity": {"neutral": "none", "non-toxic": "none", "not toxic": "none", "no": "none", "low": "mild",
                 "slight": "mild", "slightly toxic": "mild", "medium": "mild", "moderate": "mild", "toxic": "mild",
                 "highly toxic": "high", "severe": "high", "yes": "mild"},
    "sentiment": {"neg": "negative", "pos": "positive", "none": "neutral", "mixed": "neutral",
                  "objective": "neutral"},
    "harm": {"none": "low", "no": "low", "minimal": "low", "moderate": "medium", "mild": "medium",
             "slight": "low", "severe": "high"},
}


class Annotation(BaseModel):
    """One annotator's labels for one text (the CMD record's label fields, design.md)."""

    model_config = ConfigDict(extra="ignore")

    bias: Literal["none", "slight", "high"] = Field(description="none / slight / high")
    toxicity: Literal["none", "mild", "high"] = Field(description="none / mild / high")
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    harm: Literal["low", "medium", "high"] | None = None
    categories: list[str] = Field(default_factory=list, description="taxonomy category ids")
    biased_words: list[str] = Field(default_factory=list, description="words copied from the text")
    rewrite: str | None = None
    rationale: str | None = None


def response_schema() -> dict:
    """The JSON schema of an annotation, for an endpoint's structured output (`response_format` json_schema)."""
    return {"type": "object", "additionalProperties": False,
            "required": ["bias", "toxicity", "sentiment", "harm", "categories", "biased_words", "rewrite",
                         "rationale"],
            "properties": {**{f: {"type": "string", "enum": list(s)} for f, s in SCALES.items()},
                           "categories": {"type": "array", "items": {"type": "string"}},
                           "biased_words": {"type": "array", "items": {"type": "string"}},
                           "rewrite": {"type": "string"}, "rationale": {"type": "string"}}}
