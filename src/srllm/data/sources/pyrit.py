"""Data files shipped in the `pyrit` package (installed `--no-deps`, never imported): AdvBench harmful requests
and the human-labelled refusal data of pyrit's refusal scorer."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from srllm.data.sources.files import package_file
from srllm.data.sources.records import Prompt
from srllm.errors import SrllmDataError

__all__ = ["RefusalExample", "advbench", "refusal_examples"]


@dataclass(frozen=True)
class RefusalExample:
    """An objective, an assistant's response to it, and 1 if a human labelled the response a refusal."""

    objective: str
    response: str
    refused: int


def advbench() -> list[Prompt]:
    """AdvBench harmful behaviours (pyrit's seed prompt file)."""
    import yaml

    f = package_file("pyrit", "datasets", "seed_datasets", "local", "adv_bench.prompt")
    seeds = yaml.safe_load(f.read_text("utf-8")).get("seeds", [])
    return [Prompt(f"advbench:{i}", s["value"], "advbench", (s.get("harm_categories") or [""])[0])
            for i, s in enumerate(seeds)]


def refusal_examples() -> list[RefusalExample]:
    """pyrit's refusal scorer evals (refusal.csv, refusal_extra.csv). pyrit counts an off-topic answer as a refusal
    too, so the objective matters."""
    folder = package_file("pyrit", "datasets", "scorer_evals", "refusal_scorer")
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
                out.append(RefusalExample(row["objective"], row["assistant_response"], label))
    if not out:
        raise SrllmDataError(f"no refusal data found in {folder}")
    return out
