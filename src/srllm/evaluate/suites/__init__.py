"""The evaluation suites (lm-evaluation-harness style): each is a small declarative entry (name, version, what it
needs, its datasets) plus a function `run(ctx) -> SuiteResult`, registered by its module and looked up by name."""

from __future__ import annotations

from collections.abc import Sequence

from srllm.errors import SrllmConfigError, did_you_mean
from srllm.evaluate.suites import counterfactual, detector, rewrite, safety, stereotypes  # noqa: F401 (they register)
from srllm.evaluate.suites.base import SUITES, EvalContext, Suite, SuiteResult, register_suite, sample_items

__all__ = ["Suite", "SuiteResult", "EvalContext", "SUITES", "register_suite", "get_suite", "resolve_suites",
           "sample_items"]


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        hint = did_you_mean(name, SUITES)
        raise SrllmConfigError(f"unknown suite '{name}'.{' ' + hint if hint else ''} Available: "
                               f"{', '.join(sorted(SUITES))}, all")
    return SUITES[name]


def resolve_suites(spec: str | Sequence[str]) -> list[Suite]:
    """'all', or names separated by commas, in registry order without repeats."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not names:
        raise SrllmConfigError(f"no suite given; available: {', '.join(SUITES)}, all")
    if "all" in names:
        return list(SUITES.values())
    return [get_suite(n) for n in dict.fromkeys(names)]
