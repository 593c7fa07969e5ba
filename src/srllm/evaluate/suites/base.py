"""What every suite shares: the context it runs in (`EvalContext`), what it returns (`SuiteResult`) and the registry
it enters itself in (`register_suite`). Lookup by name lives in the package (`srllm.evaluate.suites`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srllm.errors import SrllmConfigError
from srllm.evaluate import stats
from srllm.evaluate.metrics import MetricResult, summarize, summarize_corpus

__all__ = ["Suite", "SuiteResult", "EvalContext", "SUITES", "register_suite", "sample_items"]


@dataclass
class EvalContext:
    """Everything a suite may use. Judges and scorers are built lazily by the runner (or injected by tests)."""

    systems: list  # list[System]; by default the first is the system under test, the others its baselines
    judge_factory: Callable[[], object] | None = None  # -> SafetyJudge
    refusal_factory: Callable[[], object] | None = None  # -> RefusalClassifier
    response_judge_factory: Callable[[], object] | None = None  # -> ResponseJudge (reads prompt and response)
    encoder_factory: Callable[[], object] | None = None  # sentence encoder for SIM
    fluency_factory: Callable[[], object] | None = None  # texts -> perplexities
    llm_judge: object | None = None  # optional LLMJudge for knowledge retention
    data_files: list[Path] = field(default_factory=list)
    limit: int | None = None
    dataset_limits: dict[str, int] = field(default_factory=dict)  # per dataset name; override `limit`
    split: str = "test"  # split of the built-in rewriting sets ("test" or "dev")
    compare_to: tuple[str, ...] | None = None  # labels every other system is compared with (see `pairs`)
    seed: int = stats.DEFAULT_SEED
    n_resamples: int = stats.DEFAULT_RESAMPLES
    cache_dir: Path | None = None
    progress: bool = True
    _built: dict = field(default_factory=dict, repr=False)

    def _get(self, key: str, factory):
        if key not in self._built:
            if factory is None:
                raise SrllmConfigError(f"this suite needs a {key}, and none was configured")
            self._built[key] = factory()
        return self._built[key]

    @property
    def judge(self):
        return self._get("judge", self.judge_factory)

    @property
    def refusal(self):
        return self._get("refusal classifier", self.refusal_factory)

    @property
    def response_judge(self):
        return self._get("response judge", self.response_judge_factory)

    @property
    def encoder(self):
        return self._get("sentence encoder", self.encoder_factory)

    @property
    def fluency(self):
        return self._get("fluency scorer", self.fluency_factory)

    def sample(self, items: Sequence, *, default: int | None = None, dataset: str | None = None) -> list:
        limit = self.dataset_limits.get(dataset, self.limit) if dataset else self.limit
        return sample_items(items, limit if limit is not None else default, self.seed)

    def pairs(self, labels: Sequence[str]) -> list[tuple[str, str]]:
        """(baseline, system) pairs to compare among `labels` (the systems with values, in system order): with
        `compare_to`, every other system (human references aside) against each of those baselines; otherwise the
        first against each of the others."""
        labels = list(labels)
        if self.compare_to is None:
            return [(base, labels[0]) for base in labels[1:]]
        refs = {s.label for s in self.systems if getattr(s, "kind", None) == "reference"}
        bases = [b for b in labels if b in self.compare_to]
        return [(b, s) for s in labels if s not in self.compare_to and s not in refs for b in bases]


def sample_items(items: Sequence, limit: int | None, seed: int) -> list:
    """A seeded random subset of `limit` items, in their original order (all items when limit is None). Subsets
    are nested: the items of a smaller limit are among those of a larger one (same seed)."""
    items = list(items)
    if limit is None or limit >= len(items):
        return items
    keep = np.sort(np.random.default_rng(seed).permutation(len(items))[: max(0, limit)])
    return [items[i] for i in keep]


@dataclass
class SuiteResult:
    """Numbers, comparisons, plots and notes of one suite run."""

    rows: list[dict] = field(default_factory=list)  # {"dataset", "system", **MetricResult}
    comparisons: list[dict] = field(default_factory=list)
    tables: dict[str, dict] = field(default_factory=dict)  # name -> {"columns": [...], "rows": [[...]]}
    plots: list[tuple[str, str]] = field(default_factory=list)  # (title, base64 PNG)
    notes: list[str] = field(default_factory=list)
    items: dict[str, dict] = field(default_factory=dict)  # "dataset/system/metric" -> {"ids", "values"}
    samples: list[dict] = field(default_factory=list)  # per-item texts (inputs, outputs), written to samples/

    def add(self, dataset: str, system: str, result: MetricResult, *, ids: Sequence[str] | None = None,
            values: Sequence[float] | None = None) -> MetricResult:
        self.rows.append({"dataset": dataset, "system": system, **result.to_dict()})
        if values is not None:
            self.items[f"{dataset}/{system}/{result.name}"] = {
                "ids": list(ids) if ids is not None else list(range(len(values))),
                "values": [round(float(v), 6) for v in values]}
        return result

    def add_mean(self, ctx: EvalContext, dataset: str, system: str, name: str, values, *, ids=None,
                 **kw) -> MetricResult:
        res = summarize(name, values, n_resamples=ctx.n_resamples, seed=ctx.seed, **kw)
        return self.add(dataset, system, res, ids=ids, values=values)

    def add_corpus(self, ctx: EvalContext, dataset: str, system: str, name: str, of_indices, n: int,
                   **kw) -> MetricResult:
        return self.add(dataset, system, summarize_corpus(name, of_indices, n, n_resamples=ctx.n_resamples,
                                                          seed=ctx.seed, **kw))

    def compare(self, ctx: EvalContext, dataset: str, metric: str, a: str, b: str, values_a=None, values_b=None,
                *, of_indices_a=None, of_indices_b=None, n: int | None = None) -> dict:
        """B vs A on the same items: paired bootstrap always; paired t-test and Wilcoxon for per-item values."""
        row = {"dataset": dataset, "metric": metric, "a": a, "b": b}
        if of_indices_a is not None:
            boot = stats.paired_bootstrap(statistic_a=of_indices_a, statistic_b=of_indices_b, n=n,
                                          n_resamples=ctx.n_resamples, seed=ctx.seed)
            row.update(paired_bootstrap=boot.to_dict())
        else:
            row.update(stats.compare_paired(values_a, values_b, n_resamples=ctx.n_resamples, seed=ctx.seed))
            boot = stats.PairedComparison(**row["paired_bootstrap"])
        row["delta"], row["significant"] = boot.delta, boot.significant()
        self.comparisons.append(row)
        return row


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    version: str
    run: Callable[[EvalContext], SuiteResult]
    datasets: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # "generation", "lm", "judge", "refusal", "encoder", "fluency"


SUITES: dict[str, Suite] = {}


def register_suite(name: str, *, description: str, version: str, datasets: Sequence[str] = (),
                   needs: Sequence[str] = ()):
    def deco(fn: Callable[[EvalContext], SuiteResult]):
        SUITES[name] = Suite(name, description, version, fn, tuple(datasets), tuple(needs))
        return fn

    return deco
