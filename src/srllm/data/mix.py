"""SIT mixing (Safe to Serve, arXiv 2412.00074): blend safety examples into general instruction data by ratio.

`parse_mix("general.jsonl:0.8,safety.jsonl:0.2")` → [(path, 0.8), (path, 0.2)]; `mix_rows(spec, seed=...)` reads
each JSONL, draws the share of rows each ratio asks for (seeded; without replacement, so the mix is as large as
the scarcest file allows unless `total` is given, in which case a short file is repeated and the report says so)
and shuffles them together. Each row gets `_mix_source` (its file) so counts can be reported.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from srllm.data.sources.files import read_jsonl
from srllm.errors import SrllmDataError

__all__ = ["MixPart", "parse_mix", "mix_rows"]


@dataclass
class MixPart:
    path: Path
    ratio: float
    available: int = 0
    taken: int = 0
    repeated: bool = False


def parse_mix(spec: str) -> list[MixPart]:
    """'a.jsonl:0.8,b.jsonl:0.2' → parts; ratios are normalised to sum to 1."""
    parts = []
    for item in [s.strip() for s in spec.split(",") if s.strip()]:
        path, sep, ratio = item.rpartition(":")
        if not sep or not path:
            raise SrllmDataError(f"--mix item '{item}' must look like FILE.jsonl:RATIO (e.g. safety.jsonl:0.2)")
        try:
            r = float(ratio)
        except ValueError as e:
            raise SrllmDataError(f"--mix item '{item}': ratio '{ratio}' is not a number") from e
        if r <= 0:
            raise SrllmDataError(f"--mix item '{item}': ratio must be > 0")
        parts.append(MixPart(Path(path), r))
    if not parts:
        raise SrllmDataError("--mix is empty; give FILE.jsonl:RATIO[,FILE.jsonl:RATIO...]")
    total = sum(p.ratio for p in parts)
    for p in parts:
        p.ratio /= total
    return parts


def mix_rows(spec: str | list[MixPart], *, seed: int = 0, total: int | None = None,
             row_filter=None) -> tuple[list[dict], list[MixPart]]:
    """The mixed rows (shuffled) and a report per file. `row_filter(row) -> bool` selects rows first (e.g. a
    split)."""
    parts = parse_mix(spec) if isinstance(spec, str) else spec
    rng = random.Random(seed)
    pools = []
    for part in parts:
        rows = read_jsonl(part.path, line_key="_line")
        if row_filter is not None:
            rows = [r for r in rows if row_filter(r)]
        for r in rows:
            r["_mix_source"] = str(part.path)
        part.available = len(rows)
        pools.append(rows)
    if total is None:
        usable = [len(pool) / part.ratio for part, pool in zip(parts, pools, strict=True) if pool]
        total = int(min(usable)) if usable else 0
    out: list[dict] = []
    for part, pool in zip(parts, pools, strict=True):
        want = round(total * part.ratio)
        if want and not pool:
            raise SrllmDataError(f"--mix: {part.path} has no usable rows but ratio {part.ratio:.2f} asks for {want}")
        if want <= len(pool):
            chosen = rng.sample(pool, want)
        else:
            part.repeated = True
            chosen = [pool[i % len(pool)] for i in range(want)]
            rng.shuffle(chosen)
        part.taken = len(chosen)
        out.extend(chosen)
    rng.shuffle(out)
    return out, parts
