"""Side-by-side comparison of two results.json files. When both runs saved per-item values (items.json beside
results.json) on the same item ids, the difference also gets a paired bootstrap CI and p-value."""

from __future__ import annotations

import json
import math
from pathlib import Path

from srllm.errors import SrllmDataError
from srllm.evaluate import stats
from srllm.evaluate.runner import RESULTS_FORMAT

__all__ = ["load_results", "compare_results"]


def load_results(path: str | Path) -> tuple[dict, dict]:
    """(results, items) of a run: results.json (or its folder) and items.json beside it ({} if absent)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    if not p.is_file():
        raise SrllmDataError("no such results file; give a results.json written by `srllm eval` or its folder",
                             file=str(p))
    try:
        results = json.loads(p.read_text("utf-8"))
    except json.JSONDecodeError as e:
        raise SrllmDataError(f"not valid JSON: {e}", file=str(p), line=e.lineno) from e
    if results.get("format") != RESULTS_FORMAT:
        raise SrllmDataError(f"format {results.get('format')!r} is not {RESULTS_FORMAT!r}; was it written by "
                             "`srllm eval`?", file=str(p), field="format")
    items_path = p.with_name("items.json")
    items = json.loads(items_path.read_text("utf-8")) if items_path.is_file() else {}
    return results, items


def _rows(results: dict) -> dict[tuple, dict]:
    return {(suite, r["dataset"], r["system"], r["name"]): r
            for suite, s in results["suites"].items() for r in s["results"]}


def _overlap(a: dict, b: dict) -> bool | None:
    vals = [a.get("ci_low"), a.get("ci_high"), b.get("ci_low"), b.get("ci_high")]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals):
        return None
    return not (a["ci_high"] < b["ci_low"] or b["ci_high"] < a["ci_low"])


def compare_results(path_a: str | Path, path_b: str | Path, *, system_a: str | None = None,
                    system_b: str | None = None, n_resamples: int = stats.DEFAULT_RESAMPLES,
                    seed: int = 0) -> list[dict]:
    """One row per metric both runs have: a, b, b − a, whether the CIs overlap, and (with per-item values on the
    same ids) a paired bootstrap. `system_a`/`system_b` pick a system label in each file (default: every label
    present in both)."""
    (ra, ia), (rb, ib) = load_results(path_a), load_results(path_b)
    rows_a, rows_b = _rows(ra), _rows(rb)
    out = []
    for key, a in rows_a.items():
        suite, ds, system, metric = key
        if system_a is not None and system != system_a:
            continue
        other = (suite, ds, system_b or system, metric) if system_b or system_a else key
        b = rows_b.get(other)
        if b is None:
            continue
        row = {"suite": suite, "dataset": ds, "metric": metric, "system_a": system, "system_b": other[2],
               "a": a, "b": b, "delta": b["value"] - a["value"], "ci_overlap": _overlap(a, b), "paired": None}
        va, vb = ia.get(f"{suite}/{ds}/{system}/{metric}"), ib.get(f"{suite}/{ds}/{other[2]}/{metric}")
        if va and vb and va["ids"] == vb["ids"] and len(va["values"]) >= 2:
            row["paired"] = stats.paired_bootstrap(va["values"], vb["values"], n_resamples=n_resamples,
                                                   seed=seed).to_dict()
        out.append(row)
    if not out:
        raise SrllmDataError(f"{path_a} and {path_b} share no (suite, dataset, system, metric); did they run the same "
                             "suites? Use --system-a/--system-b to compare different system labels")
    return out
