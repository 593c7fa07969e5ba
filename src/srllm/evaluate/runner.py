"""`run_eval`: build the systems and judges, run the suites, write results.json (+ items.json, samples/) and the
reports. Judges and models load lazily, only when a suite needs them."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from srllm.atomic import write_json_atomic
from srllm.errors import SrllmConfigError
from srllm.evaluate import stats
from srllm.evaluate.suites import EvalContext, SuiteResult, resolve_suites
from srllm.evaluate.systems import NAMED_SYSTEMS, System, SystemSpec, named_spec

__all__ = ["EvalConfig", "run_eval", "RESULTS_FORMAT"]

RESULTS_FORMAT = "srllm-eval-results/1"


@dataclass
class EvalConfig:
    suites: str = field(default="all", metadata={
        "help": "Suites, comma-separated: detox, readability, counterfactual, stereotypes, safety, detector, or "
                "'all'."})
    model: str | None = field(default=None, metadata={
        "help": "Model under test: hub id, local path, or the model name at --base-url. Default: the embedded "
                "SmolLM2-135M-Instruct."})
    adapter: str | None = field(default="default", metadata={
        "help": "PEFT adapter: 'default' (shipped SR adapter for the embedded model), 'none', or a path/hub id."})
    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible endpoint serving --model."})
    api_key: str | None = field(default=None, metadata={"help": "API key for the endpoints."})
    baseline: str | None = field(default=None, metadata={
        "help": "Baseline to compare with: 'default' (embedded model), a hub id or path, or 'identity' (input "
                "returned unchanged; rewriting suites)."})
    baseline_adapter: str | None = field(default="none", metadata={"help": "Adapter of the baseline model."})
    baseline_base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible URL of the baseline."})
    systems: str | None = field(default=None, metadata={
        "help": "Several systems in one run instead of model + baseline, comma-separated, in table order: "
                f"{', '.join(NAMED_SYSTEMS)} (zero-shot/few-shot: --model without adapter; adapter, pipeline: "
                "--model + --adapter; pipeline: the whole `srllm check`; reference: the first human reference)."})
    compare_to: str = field(default="identity,zero-shot,few-shot", metadata={
        "help": "With --systems: the baselines; every other system is compared with each of them (paired)."})
    pipeline_options: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "RewriteConfig options of the pipeline system, e.g. retry_samples=0 (default: as shipped)."})
    split: str = field(default="test", metadata={
        "help": "Split of the built-in rewriting sets (detox, readability): test, or dev (ParaDetox dev pairs, "
                "the SR_LLM train_500 dev rows, neutral dev texts) to choose adapters and policies on."})
    data: list[Path] = field(default_factory=list, metadata={
        "help": "Extra CMD .jsonl / SR_LLM .csv files for the detox and detector suites."})
    out: Path = field(default=Path("eval-out"), metadata={
        "help": "Output folder: results.json, report.html, report.md, items.json, samples/, cache/ (re-running "
                "resumes generation)."})
    limit: int | None = field(default=None, metadata={
        "help": "At most N items per dataset (a seeded sample) for a quick run."})
    suite_limits: dict[str, int] = field(default_factory=dict, metadata={
        "help": "Per-suite or per-dataset item limits that override --limit (a dataset's wins over its suite's), e.g. "
                "counterfactual=40, paradetox-neutral=128 (YAML: {counterfactual: 40})."})
    threads: int | None = field(default=None, metadata={
        "help": "torch CPU threads (1 is often fastest for small models on a busy shared CPU)."})
    max_new_tokens: int | None = field(default=None, metadata={"help": "Cap on every generation's new tokens."})
    seed: int = field(default=0, metadata={"help": "Seed for sampling, bootstrap and torch."})
    n_resamples: int = field(default=stats.DEFAULT_RESAMPLES, metadata={
        "help": "Bootstrap resamples for the 95% CIs and paired tests."})
    batch_size: int = field(default=16, metadata={"help": "Generation batch size."})
    detector: str | None = field(default=None, metadata={"help": "Detector heads folder (default: shipped)."})
    policy: str | None = field(default=None, metadata={"help": "Taxonomy policy YAML for the detector."})
    judge: str = field(default="default", metadata={
        "help": "Response judge of the safety suite (reads prompt and response): 'default' (the shipped srllm "
                "response judge), a folder with judge.json, 'llama-guard' (meta-llama/Llama-Guard-3-1B), any hub id "
                "or path of a guard model or classifier, or openai:MODEL@URL."})
    llm_judge_url: str | None = field(default=None, metadata={
        "help": "OpenAI-compatible URL of an LLM judge for knowledge retention (optional)."})
    llm_judge_model: str | None = field(default=None, metadata={"help": "Model name at --llm-judge-url."})
    progress: bool = field(default=True, metadata={"help": "Show progress bars."})

    def __post_init__(self):
        if self.limit is not None and self.limit < 1:
            raise SrllmConfigError(f"--limit must be at least 1, got {self.limit}")
        for name, n in self.suite_limits.items():
            if int(n) < 1:
                raise SrllmConfigError(f"--limit-for {name}={n}: a limit must be at least 1")
        if self.threads is not None and self.threads < 1:
            raise SrllmConfigError(f"--threads must be at least 1, got {self.threads}")
        if self.n_resamples < 10:
            raise SrllmConfigError(f"--n-resamples must be at least 10 for a usable CI, got {self.n_resamples}")
        if self.batch_size < 1:
            raise SrllmConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
        self.out = Path(self.out)
        self.data = [Path(p) for p in self.data]
        for p in self.data:
            if not p.is_file():
                raise SrllmConfigError(f"--data {p}: no such file")
        if self.split not in ("test", "dev"):
            raise SrllmConfigError(f"--split {self.split!r}: the rewriting sets have the splits test and dev")
        if self.systems is not None:
            if self.baseline is not None or self.baseline_base_url:
                raise SrllmConfigError("--systems names every system of the run; drop --baseline (use e.g. "
                                       "--systems adapter,zero-shot)")
            for name in [*self.system_names(), *_names(self.compare_to)]:
                named_spec(name)  # an unknown name: "did you mean ...?"
        if self.pipeline_options:  # checked here, before any model loads
            if "pipeline" not in self.system_names():
                raise SrllmConfigError("--pipeline-option sets an option of the pipeline system; add pipeline to "
                                       "--systems (e.g. --systems identity,adapter,pipeline)")
            from srllm.config import coerce, field_types
            from srllm.errors import did_you_mean
            from srllm.rewrite import RewriteConfig

            known = field_types(RewriteConfig)
            options = {}
            for key, value in self.pipeline_options.items():
                if key not in known:
                    raise SrllmConfigError(f"--pipeline-option {key}: not a RewriteConfig option. "
                                           f"{did_you_mean(key, known, n=1)} Options: {', '.join(known)}"
                                           .replace(".  ", ". "))
                # a flag's value is text ('0'); a YAML file's is typed already
                options[key] = coerce(value, known[key], f"--pipeline-option {key}", text=isinstance(value, str))
            self.pipeline_options = options
            RewriteConfig(**self.pipeline_options)

    def system_names(self) -> list[str]:
        names = _names(self.systems or "")
        if self.systems is not None and not names:
            raise SrllmConfigError(f"--systems {self.systems!r} names no system; available: {', '.join(NAMED_SYSTEMS)}")
        return names

    def system_specs(self) -> list[SystemSpec]:
        if self.systems is not None:
            return [named_spec(n, model=self.model, adapter=self.adapter, base_url=self.base_url, api_key=self.api_key,
                               rewrite_options=self.pipeline_options) for n in self.system_names()]
        specs = [SystemSpec("model", self.model, self.adapter, self.base_url, self.api_key)]
        if self.baseline is not None or self.baseline_base_url:
            specs.append(SystemSpec("baseline", self.baseline, self.baseline_adapter, self.baseline_base_url,
                                    self.api_key))
        return specs


def _names(spec: str) -> list[str]:
    return list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))


def _jsonable(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _factories(cfg: EvalConfig) -> dict:
    def judge():
        from srllm.detect import Detector
        from srllm.evaluate.judges import SafetyJudge

        return SafetyJudge(Detector(heads=cfg.detector, policy=cfg.policy))

    def refusal():
        from srllm.evaluate.judges import RefusalClassifier

        return RefusalClassifier.load()

    def response_judge():
        from srllm.evaluate.guard_judges import make_response_judge

        return make_response_judge(cfg.judge, api_key=cfg.api_key)

    def encoder():
        from srllm.models import load_sentence_encoder

        return load_sentence_encoder()

    def fluency():
        from srllm.models.lm_scoring import fl_scorer

        return fl_scorer()

    return {"judge_factory": judge, "refusal_factory": refusal, "response_judge_factory": response_judge,
            "encoder_factory": encoder, "fluency_factory": fluency}


def _seed_everything(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def run_eval(cfg: EvalConfig, *, systems: list[System] | None = None, write_reports: bool = True,
             **factories) -> dict:
    """Run the configured suites and write results.json (and reports); returns the results dict. Tests inject
    `systems` and `judge_factory=` / `refusal_factory=` / `encoder_factory=` / `fluency_factory=`."""
    suites = resolve_suites(cfg.suites)
    all_suites = resolve_suites("all")
    datasets = {d for s in all_suites for d in s.datasets} | {p.stem for p in cfg.data}
    unknown = sorted(set(cfg.suite_limits) - {s.name for s in all_suites} - datasets)
    if unknown:
        raise SrllmConfigError(f"--limit-for names unknown suite(s) or dataset(s) {', '.join(unknown)}; suites: "
                               f"{', '.join(s.name for s in all_suites)}; datasets: {', '.join(sorted(datasets))}")
    dataset_limits = {k: v for k, v in cfg.suite_limits.items() if k in datasets}
    _seed_everything(cfg.seed)
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    systems = systems or [System.from_spec(s, batch_size=cfg.batch_size, max_new_tokens=cfg.max_new_tokens)
                          for s in cfg.system_specs()]
    llm_judge = None
    if cfg.llm_judge_url:
        from srllm.evaluate.judges import LLMJudge
        from srllm.models import OpenAIBackend

        llm_judge = LLMJudge(OpenAIBackend(base_url=cfg.llm_judge_url, model=cfg.llm_judge_model,
                                           api_key=cfg.api_key))
    ctx = EvalContext(systems=systems, **{**_factories(cfg), **factories}, llm_judge=llm_judge,
                      data_files=cfg.data, limit=cfg.limit, dataset_limits=dataset_limits, split=cfg.split,
                      compare_to=tuple(_names(cfg.compare_to)) if cfg.systems is not None else None,
                      seed=cfg.seed, n_resamples=cfg.n_resamples,
                      cache_dir=cfg.out / "cache", progress=cfg.progress)
    results = {"format": RESULTS_FORMAT, "created": datetime.now(UTC).isoformat(timespec="seconds"),
               "srllm_version": _version(), "config": {k: v for k, v in asdict(cfg).items() if k != "api_key"},
               "systems": {s.label: s.name for s in systems}, "suites": {}}
    items, rendered = {}, {}
    for suite in suites:
        t0 = time.perf_counter()
        res: SuiteResult = suite.run(replace(ctx, limit=cfg.suite_limits.get(suite.name, cfg.limit)))
        results["suites"][suite.name] = {
            "version": suite.version, "description": suite.description, "seconds": round(time.perf_counter() - t0, 1),
            "notes": res.notes, "results": res.rows, "comparisons": res.comparisons, "tables": res.tables}
        items.update({f"{suite.name}/{k}": v for k, v in res.items.items()})
        rendered[suite.name] = res
        if res.samples:
            from srllm.data import write_jsonl_atomic

            write_jsonl_atomic(cfg.out / "samples" / f"{suite.name}.jsonl", res.samples)
        # after every suite: a crash keeps what finished
        write_json_atomic(cfg.out / "results.json", results, default=_jsonable)
    write_json_atomic(cfg.out / "items.json", items, default=_jsonable)
    if write_reports:
        from srllm.evaluate.report import render_html, render_markdown

        (cfg.out / "report.md").write_text(render_markdown(results), "utf-8")
        (cfg.out / "report.html").write_text(render_html(results, {k: v.plots for k, v in rendered.items()}),
                                             "utf-8")
    return results


def _version() -> str:
    from srllm import __version__

    return __version__
