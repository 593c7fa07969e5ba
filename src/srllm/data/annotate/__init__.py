"""LLM-assisted annotation of raw texts into CMD records (`srllm annotate`): the versioned guideline prompt
(guideline_v1.md), the annotation model and its JSON schema (`labels`), parsing and repair (`parse`), the endpoint
client with rate limit and back-off (`client`), the annotators (`annotators`: an LLM, or the detector), majority
vote (`vote`), agreement statistics (`agreement`) and the resumable job (`run`)."""

from srllm.data.annotate.agreement import cohen_kappa, field_agreement, fleiss_kappa, krippendorff_alpha
from srllm.data.annotate.annotators import AnnotatorResult, DetectorAnnotator, LLMAnnotator, load_guideline
from srllm.data.annotate.client import ChatClient
from srllm.data.annotate.config import AnnotateConfig, parse_annotators
from srllm.data.annotate.labels import Annotation, response_schema
from srllm.data.annotate.parse import parse_annotation
from srllm.data.annotate.run import AnnotateReport, annotate_file, summarize
from srllm.data.annotate.vote import combine, find_spans

__all__ = [
    "AnnotateConfig", "AnnotateReport", "Annotation", "AnnotatorResult", "ChatClient", "DetectorAnnotator",
    "LLMAnnotator", "annotate_file", "cohen_kappa", "combine", "field_agreement", "find_spans", "fleiss_kappa",
    "krippendorff_alpha", "load_guideline", "parse_annotation", "parse_annotators", "response_schema", "summarize",
]
