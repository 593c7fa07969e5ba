"""The models of one server process and the micro-batchers in front of them (srllm.serve.batching).

Three batchers, each with its own worker thread:
- `detector`: detection only. Key ("check", spans) -> `Guard.check(texts, rewrite=False)` (CheckResults, the JSON of
  `srllm check`); key ("verdict",) -> `Guard.detector.predict(texts)` (Verdicts with their flagged categories, for
  the proxy).
- `rewrite`: key (spans,) -> `Guard.check(texts, rewrite=True)` for texts the detector flagged.
- `llm`: the generation engine. Key ("generate", config) -> `backend.generate(conversations, config)`; key
  ("stream", config) -> `backend.stream(...)` of each conversation in turn, its pieces handed to a `StreamSink`.
  The Guard's rewriter generates through this batcher too (`BatchedBackend`), so rewrites and chat completions
  share batches and the model is used by one thread.
Models load in a background thread (`start_loading`); /ready reports when they are in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Hashable

from srllm.models.backends import GenerationBackend, GenerationConfig, Messages
from srllm.serve.batching import MicroBatcher
from srllm.serve.config import ServeConfig
from srllm.serve.usage import TokenCounter

__all__ = ["Engines", "BatchedBackend", "StreamSink", "config_key"]

logger = logging.getLogger("srllm.serve")


def config_key(cfg: GenerationConfig) -> tuple:
    """A GenerationConfig as a hashable batch key (requests batch together only with the same options)."""
    return dataclasses.astuple(cfg)


class StreamSink:
    """Carries a streamed reply from the generation thread to the request's event loop. `pieces` gets each piece,
    then None at the end, or the exception that stopped it. The request sets `cancelled` when its client left."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop, self.pieces = loop, asyncio.Queue()
        self.cancelled = threading.Event()

    def put(self, item) -> None:
        self.loop.call_soon_threadsafe(self.pieces.put_nowait, item)


class BatchedBackend(GenerationBackend):
    """A GenerationBackend whose generate() goes through the server's `llm` batcher."""

    def __init__(self, engines: Engines):
        self.engines = engines
        self.name = "batched"

    def generate(self, conversations: list[Messages], config: GenerationConfig | None = None) -> list[str]:
        cfg = config or GenerationConfig()
        return self.engines.llm.submit(("generate", config_key(cfg)), conversations).result()


class Engines:
    """`detector` (a srllm.detect.Detector or anything with its interface) and `backend` (a GenerationBackend)
    replace the models the config names, e.g. an application's own detector, or test doubles."""

    def __init__(self, config: ServeConfig, *, on_batch=None, detector=None, backend: GenerationBackend | None = None):
        from srllm.guard import Guard

        self.config = config
        self.ready = threading.Event()
        self.load_error: str | None = None
        self._given_backend = backend
        self.backend: GenerationBackend | None = None  # the real one, loaded by load()
        self.counter: TokenCounter | None = None  # counts the `usage` of chat completions (srllm.serve.usage)
        rewrite_config = None
        if config.rewrite_config:
            from srllm.config import load_config
            from srllm.rewrite import RewriteConfig

            rewrite_config = load_config(RewriteConfig, config.rewrite_config)
        self.guard = Guard(detector=detector, encoder=config.encoder, policy=config.policy,
                           quantize="int8" if config.int8 else None, encoder_engine=config.encoder_engine,
                           screen=config.screen,
                           backend=BatchedBackend(self) if config.llm else None, rewrite_config=rewrite_config,
                           max_chars=config.max_chars)
        wait_d, wait_g = config.batch_wait_ms / 1000, config.generate_wait_ms / 1000
        self.detector = MicroBatcher(self._detect, max_items=config.detect_batch, max_wait=wait_d, name="detector",
                                     on_batch=on_batch)
        self.rewriter = MicroBatcher(self._rewrite, max_items=config.generate_batch, max_wait=wait_g, name="rewrite",
                                     on_batch=on_batch)
        self.llm = MicroBatcher(self._generate, max_items=config.generate_batch, max_wait=wait_g, name="llm",
                                on_batch=on_batch)

    # -- loading -------------------------------------------------------------------------------------------------
    def start_loading(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="srllm-load", daemon=True)
        thread.start()
        return thread

    def load(self) -> None:
        try:
            self.guard.detector.predict(["warm up"])  # loads the encoder and heads, and runs them once
            if self.config.llm and self._given_backend is not None:
                self.backend = self._given_backend
            elif self.config.llm:
                from srllm.models.backends import make_backend

                self.backend = make_backend(model=self.config.model, adapter=self.config.adapter,
                                            base_url=self.config.base_url, api_key=self.config.base_url_key)
            if self.backend is not None:
                self.counter = TokenCounter.for_backend(self.backend)
            self.ready.set()
            logger.info("models loaded", extra={"llm": getattr(self.backend, "name", None)})
        except Exception as e:  # /ready reports it; the process stays up so the error can be read
            self.load_error = f"{type(e).__name__}: {e}"
            logger.exception("loading the models failed")

    def close(self, timeout: float | None = None) -> None:
        """Finish the queued work, then stop the workers (the rewriter first: it feeds the llm batcher)."""
        for batcher in (self.detector, self.rewriter, self.llm):
            batcher.close(timeout)

    # -- the batched calls (worker threads) ----------------------------------------------------------------------
    def _detect(self, key: Hashable, texts: list[str]) -> list:
        if key[0] == "verdict":
            return self.guard.detector.predict(texts)
        return self.guard.check(texts, rewrite=False, spans=key[1])

    def _rewrite(self, key: Hashable, texts: list[str]) -> list:
        return self.guard.check(texts, rewrite=True, spans=key[0])

    def _generate(self, key: Hashable, items: list) -> list:
        kind, fields = key
        cfg = GenerationConfig(*fields)
        if kind == "generate":
            return self.backend.generate(items, cfg)
        for conversation, sink in items:  # ("stream", cfg): one conversation after the other
            pieces = self.backend.stream(conversation, cfg)
            try:
                for piece in pieces:
                    if sink.cancelled.is_set():
                        break
                    sink.put(piece)
                sink.put(None)
            except Exception as e:  # handed to the request that streams
                sink.put(e)
            finally:
                pieces.close()
        return [None] * len(items)
