"""Texts the detector must never train on: the external test sets (infer_50.csv, the held-out rows of
counterfactual-inhouse.csv), the held-out stereotype set (src/srllm/assets/stereotypes/heldout.jsonl, read by
srllm.data.sources.heldout_stereotypes) and the rewriter's held-out ParaDetox texts (the test split of
`srllm data build`).

counterfactual-inhouse.csv is split by row (seeded hash of the row index and its `Original`): 35% train, 15%
validation, 50% held out. Train rows are safe training texts (source `counterfactual_rows`), validation rows take
part in choosing thresholds, held-out rows are only ever scored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from srllm.data import read_counterfactual, read_srllm_csv
from srllm.data.normalize import normalize
from srllm.data.sources import HELDOUT_STEREOTYPES, heldout_stereotypes

__all__ = ["protected_texts", "cmd_test_split", "counterfactual_split", "heldout_stereotypes",
           "HELDOUT_STEREOTYPES", "COUNTERFACTUAL_SHARES"]

COUNTERFACTUAL_SHARES = (0.35, 0.15)  # train, validation; the rest (50%) is held out
_CF_SEED = "cf-split-v1"  # fixed: the held-out rows must not move when the training seed changes


def cmd_test_split():
    """`is_test(text)` for the test split of `srllm data build` at its default settings (the shipped adapter's
    held-out texts), so the detector, used as a judge there, is never trained on them."""
    import inspect

    from srllm.data.build import assign_split, build_cmd

    params = inspect.signature(build_cmd).parameters
    kw = {k: params[k].default for k in ("seed", "dev", "test")}
    return lambda text: assign_split(text, **kw) == "test"


def counterfactual_split(index: int, original: str) -> str:
    """"train", "val" or "test" (held out) for row `index` (0-based, file order) of counterfactual-inhouse.csv."""
    r = int(hashlib.sha1(f"{_CF_SEED}:{index}:{original}".encode()).hexdigest()[:12], 16) / 16 ** 12
    train, val = COUNTERFACTUAL_SHARES
    return "train" if r < train else "val" if r < train + val else "test"


def protected_texts(data: Path) -> set[str]:
    """Normalised texts never trained on: infer_50, the held-out counterfactual rows, the held-out stereotype set."""
    out: set[str] = set()
    inf = data / "sr-llm" / "infer_50.csv"
    if inf.is_file():
        for r in read_srllm_csv(inf):
            out.update(normalize(t, "case") for t in (r.text, r.rewrite) if t)
    cf = data / "sr-llm" / "counterfactual-inhouse.csv"
    if cf.is_file():
        for i, row in enumerate(read_counterfactual(cf)):
            if counterfactual_split(i, row.original) == "test":
                out.update(normalize(v, "case") for v in row.texts() if v)
    out.update(normalize(r.text, "case") for r in heldout_stereotypes())
    return out
