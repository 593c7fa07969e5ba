"""Micro-batching: requests that arrive close together are served by one call of a batched function, so a model
does one pass for many requests and throughput grows with load.

    batcher = MicroBatcher(lambda key, items: model.predict(items), max_items=64, max_wait=0.005)
    future = batcher.submit(("predict",), ["text one", "text two"])   # from any thread
    results = future.result()                                         # or: await asyncio.wrap_future(future)

The rule: one worker thread takes the first waiting job, then keeps taking jobs until `max_wait` seconds have
passed since that first job arrived or at least `max_items` items are gathered; jobs are grouped by their key (only
items with the same key can share a call: the same options) and each group is one call of `run(key, items)`. A
job's items are never split across calls (one job larger than `max_items` is one call). When a call of several
jobs fails, each job is run alone, so an error reaches only the job that caused it. Calls run one at a time, in
the worker thread: the model is never used by two threads of this batcher at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

__all__ = ["MicroBatcher", "BatcherClosed"]


class BatcherClosed(RuntimeError):
    """Raised by submit() after close()."""


@dataclass
class _Job:
    key: Hashable
    items: list
    future: Future = field(default_factory=Future)
    arrived: float = field(default_factory=time.monotonic)


_STOP = object()


class MicroBatcher:
    """Gathers concurrent jobs into batched calls of `run(key, items) -> results` (one result per item)."""

    def __init__(self, run: Callable[[Hashable, list], Sequence], *, max_items: int = 64, max_wait: float = 0.005,
                 name: str = "batcher", on_batch: Callable[[str, int], None] | None = None):
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        if max_wait < 0:
            raise ValueError(f"max_wait must be >= 0, got {max_wait}")
        self.run, self.max_items, self.max_wait, self.name = run, max_items, max_wait, name
        self.on_batch = on_batch  # called with (name, items) for each call: metrics
        self._queue: queue.Queue = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name=f"srllm-{name}", daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, items: list) -> Future:
        """A Future of the results of `items` (a list, in order)."""
        job = _Job(key, list(items))
        with self._lock:  # no job may slip in behind the stop marker
            if self._closed:
                raise BatcherClosed(f"the {self.name} batcher is closed (the server is shutting down)")
            self._queue.put(job)
        return job.future

    def close(self, timeout: float | None = None) -> None:
        """Finish the jobs already submitted, then stop the worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)

    # -- the worker ----------------------------------------------------------------------------------------------
    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """`first` and the jobs that join it within the wait window; True when the stop marker was seen."""
        jobs, count, stop = [first], len(first.items), False
        deadline = first.arrived + self.max_wait
        while count < self.max_items:
            remaining = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                stop = True  # take what is already queued, then stop
                continue
            jobs.append(job)
            count += len(job.items)
        return jobs, stop

    def _work(self) -> None:
        stop = False
        while True:
            try:
                first = self._queue.get_nowait() if stop else self._queue.get()
            except queue.Empty:
                return
            if first is _STOP:
                stop = True
                continue
            jobs, saw_stop = self._gather(first)
            stop = stop or saw_stop
            groups: dict[Hashable, list[_Job]] = {}
            for job in jobs:
                groups.setdefault(job.key, []).append(job)
            for key, group in groups.items():
                self._call(key, group)

    def _run(self, key: Hashable, items: list) -> list:
        results = list(self.run(key, items))
        if len(results) != len(items):
            raise RuntimeError(f"{self.name}: run() returned {len(results)} results for {len(items)} items")
        return results

    def _call(self, key: Hashable, jobs: list[_Job]) -> None:
        jobs = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        if not jobs:
            return
        items = [item for j in jobs for item in j.items]
        if self.on_batch:
            self.on_batch(self.name, len(items))
        try:
            results = self._run(key, items)
        except Exception as e:  # handed to the callers, never lost
            if len(jobs) == 1:
                jobs[0].future.set_exception(e)
                return
            for job in jobs:  # isolate the culprit: each job alone
                try:
                    job.future.set_result(self._run(key, job.items))
                except Exception as e1:
                    job.future.set_exception(e1)
            return
        start = 0
        for job in jobs:
            job.future.set_result(results[start:start + len(job.items)])
            start += len(job.items)
