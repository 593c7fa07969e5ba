"""Evaluation: metrics (`srllm.evaluate.metrics`), statistics (`srllm.evaluate.stats`), LM scoring
(`srllm.evaluate.lm_scoring`) and the FL threshold's calibration (`srllm.evaluate.fluency_calibration`).

Use the namespaces: `from srllm.evaluate import metrics, stats`."""

from srllm.evaluate import metrics, stats
from srllm.evaluate.metrics import METRICS, MetricResult, MetricSpec

__all__ = ["METRICS", "MetricResult", "MetricSpec", "metrics", "stats"]
