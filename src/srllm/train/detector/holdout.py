"""Texts the detector must never train on: the external test sets (infer_50.csv, counterfactual-inhouse.csv) and
the rewriter's held-out ParaDetox texts (the test split of `srllm data build`)."""

from __future__ import annotations

from pathlib import Path

from srllm.data import read_counterfactual, read_srllm_csv
from srllm.data.normalize import normalize

__all__ = ["protected_texts", "cmd_test_split"]


def cmd_test_split():
    """`is_test(text)` for the test split of `srllm data build` at its default settings (the shipped adapter's
    held-out texts), so the detector, used as a judge there, is never trained on them."""
    import inspect

    from srllm.data.build import assign_split, build_cmd

    params = inspect.signature(build_cmd).parameters
    kw = {k: params[k].default for k in ("seed", "dev", "test")}
    return lambda text: assign_split(text, **kw) == "test"


def protected_texts(data: Path) -> set[str]:
    """Normalised texts of the external test sets (infer_50, counterfactual-inhouse): never trained on."""
    out: set[str] = set()
    inf = data / "sr-llm" / "infer_50.csv"
    if inf.is_file():
        for r in read_srllm_csv(inf):
            out.update(normalize(t, "case") for t in (r.text, r.rewrite) if t)
    cf = data / "sr-llm" / "counterfactual-inhouse.csv"
    if cf.is_file():
        for row in read_counterfactual(cf):
            out.update(normalize(v, "case") for v in row.texts() if v)
    return out
