"""Prometheus metrics of the server (GET /metrics, text format).

Each app has its own registry, so several apps can live in one process (tests). With several workers
(`srllm serve --workers N`) the command sets PROMETHEUS_MULTIPROC_DIR before the workers start; each worker then
writes its values to files there and /metrics, whichever worker answers it, adds up every worker's values.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    """The counters and histograms the routes, the request gate and the batchers update."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("srllm_requests", "HTTP requests answered, by route, method and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("srllm_request_duration_seconds", "Time from request to the end of the answer.",
                                 ["route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("srllm_requests_in_flight", "Requests being handled now.", registry=r,
                               multiprocess_mode="livesum")
        self.rejected = Counter("srllm_requests_rejected", "Requests refused before any work: unauthorized, "
                                "too_large, busy (429), not_ready (503).", ["reason"], registry=r)
        self.texts = Counter("srllm_texts_checked", "Texts the detector judged, by where they came from: check "
                             "(/v1/check texts), prompt and answer (the proxy's sentences).", ["source"], registry=r)
        self.unsafe = Counter("srllm_texts_unsafe", "Texts flagged, by source and category (a text flagged in two "
                              "categories counts in both); divide by srllm_texts_checked for the unsafe rate.",
                              ["source", "category"], registry=r)
        self.actions = Counter("srllm_actions", "What was done with each text: kept, rewritten, reframed, edited, "
                               "failed (/v1/check); passed, flagged, rewritten, blocked (proxy).", ["source", "action"],
                               registry=r)
        self.batch = Histogram("srllm_batch_items", "Items per call of a model (micro-batching).", ["engine"],
                               buckets=_BATCH_BUCKETS, registry=r)
        self.upstream_errors = Counter("srllm_upstream_errors", "Upstream failures: timeout, unreachable, status.",
                                       ["kind"], registry=r)

    def observe_batch(self, engine: str, items: int) -> None:
        self.batch.labels(engine=engine).observe(items)

    def count_texts(self, source: str, flagged_lists: list[list[str]], actions: list[str]) -> None:
        """One call per request: the flagged categories of each text and the action taken on it."""
        self.texts.labels(source=source).inc(len(flagged_lists))
        for flagged in flagged_lists:
            for category in flagged:
                self.unsafe.labels(source=source, category=category).inc()
        for action in actions:
            self.actions.labels(source=source, action=action).inc()

    def render(self) -> tuple[bytes, str]:
        """(body, content type) of GET /metrics."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
