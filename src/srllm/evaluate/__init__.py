"""Evaluation: metrics (`srllm.evaluate.metrics`), statistics (`srllm.evaluate.stats`), suites
(`srllm.evaluate.suites`, run with `run_eval`), judges (`srllm.evaluate.judges`), reports and comparisons.

Use the namespaces: `from srllm.evaluate import metrics, stats`; `run_eval(EvalConfig(suites="detox"))`."""

from srllm.evaluate import metrics, stats
from srllm.evaluate.metrics import METRICS, MetricResult, MetricSpec
from srllm.evaluate.runner import EvalConfig, run_eval

__all__ = ["METRICS", "EvalConfig", "MetricResult", "MetricSpec", "metrics", "run_eval", "stats"]
