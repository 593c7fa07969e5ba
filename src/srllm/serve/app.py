"""The FastAPI app of `srllm serve`: the routes, over the same Python API as `srllm check` (srllm.guard.Guard, the
taxonomy, the generation backends), with micro-batching in between (srllm.serve.engines).

    GET  /health                liveness: the process answers
    GET  /ready                 200 once the models are loaded, else 503
    GET  /metrics               Prometheus text format
    GET  /v1/taxonomy           the active categories (policy applied) and the detector's thresholds
    POST /v1/check              {"text": ...} or {"texts": [...]}: the JSON lines of `srllm check`
    GET  /v1/models             the served model (proxy: the upstream's list)
    POST /v1/chat/completions   OpenAI chat completions (stream or not): srllm's model, or the guard proxy
    GET  /docs                  OpenAPI docs
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from srllm.serve.chat import ChatRequest, local_chat
from srllm.serve.config import ServeConfig
from srllm.serve.engines import Engines
from srllm.serve.errors import ApiError, install_error_handlers
from srllm.serve.gate import RequestGate
from srllm.serve.metrics import Metrics

__all__ = ["create_app", "CheckRequest"]

logger = logging.getLogger("srllm.serve")


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, description="One text; the answer is one result.")
    texts: list[str] | None = Field(default=None, description="Several texts; the answer is {\"results\": [...]}.")
    ids: list[str] | None = Field(default=None, description="Ids of `texts` (default: a hash of each text).")
    rewrite: bool = Field(default=True, description="false: detection only (the LLM is never called).")
    spans: bool = Field(default=True, description="false: leave out the flagged word spans (faster).")

    @model_validator(mode="after")
    def _one_form(self):
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either 'text' (one string) or 'texts' (a list of strings), not both or neither")
        if self.ids is not None and (self.texts is None or len(self.ids) != len(self.texts)):
            raise ValueError("'ids' needs 'texts' and one id per text")
        return self


class Server:
    """What the routes share: the config, the models behind their batchers, the metrics, the proxy."""

    def __init__(self, config: ServeConfig, metrics: Metrics, *, detector=None, backend=None,
                 upstream_transport=None):
        self.config, self.metrics = config, metrics
        self.engines = Engines(config, on_batch=metrics.observe_batch, detector=detector, backend=backend)
        self.proxy = None
        if config.upstream:
            from srllm.serve.guard_proxy import GuardProxy
            from srllm.serve.upstream import Upstream

            upstream = Upstream(config.upstream, api_key=config.upstream_key, timeout=config.upstream_timeout,
                                metrics=metrics, transport=upstream_transport)
            self.proxy = GuardProxy(self.engines, upstream, config, metrics)

    def require_ready(self) -> None:
        if not self.engines.ready.is_set():
            state = f"loading the models failed: {self.engines.load_error}" if self.engines.load_error else \
                "the models are still loading"
            raise ApiError(503, f"not ready: {state} (GET /ready)", code="not_ready",
                           headers={"Retry-After": str(self.config.retry_after)})

    def log_texts(self, what: str, texts: list[str]) -> None:
        if self.config.log_texts:
            logger.info(what, extra={"texts": texts})


def create_app(config: ServeConfig | None = None, *, detector=None, backend=None,
               upstream_transport=None) -> FastAPI:
    """The ASGI app. `detector` and `backend` replace the models the config names (srllm.serve.engines.Engines);
    `upstream_transport` is the httpx transport the proxy reaches --upstream with (default: the network)."""
    config = config or ServeConfig()
    metrics = Metrics()
    server = Server(config, metrics, detector=detector, backend=backend, upstream_transport=upstream_transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        server.engines.start_loading()
        yield
        # uvicorn calls this after the in-flight requests have finished (or --shutdown-timeout passed).
        await asyncio.to_thread(server.engines.close, config.shutdown_timeout)
        if server.proxy is not None:
            await server.proxy.upstream.aclose()
        logger.info("stopped")

    app = FastAPI(title="srllm serve", version=_version(), lifespan=lifespan,
                  description="Detect unsafe text and rewrite it benignly; an OpenAI-compatible endpoint and a guard "
                              "proxy in front of any OpenAI-compatible LLM.")
    app.state.srllm = server
    install_error_handlers(app)
    app.add_middleware(RequestGate, api_keys=config.api_key, max_body_bytes=config.max_body_bytes,
                       max_concurrency=config.max_concurrency, retry_after=config.retry_after, metrics=metrics)

    @app.get("/health", summary="Liveness: the process answers")
    async def health():
        return {"status": "ok"}

    @app.get("/ready", summary="Readiness: 200 once the models are loaded")
    async def ready():
        if server.engines.ready.is_set():
            return {"status": "ready", "llm": getattr(server.engines.backend, "name", None),
                    "upstream": config.upstream}
        status = "failed" if server.engines.load_error else "loading"
        return JSONResponse({"status": status, "error": server.engines.load_error}, status_code=503,
                            headers={"Retry-After": str(config.retry_after)})

    @app.get("/metrics", summary="Prometheus metrics (text format)")
    async def metrics_route():
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/v1/taxonomy", summary="The active categories and the detector's thresholds")
    async def taxonomy():
        server.require_ready()
        detector = server.engines.guard.detector
        return {"categories": detector.taxonomy.rows(), "detector": {"categories": detector.categories,
                                                                     "thresholds": detector.thresholds}}

    @app.post("/v1/check", summary="Detect (and rewrite) unsafe texts: the JSON of `srllm check`")
    async def check(body: CheckRequest):
        texts = [body.text] if body.text is not None else body.texts
        _check_limits(texts, config)
        server.require_ready()
        if body.rewrite and not config.llm:
            raise ApiError(400, "this server was started with --no-llm: send \"rewrite\": false (detection only)",
                           code="no_llm")
        for i, t in enumerate(texts):
            server.engines.guard.validate(t, where={"field": "text" if body.text is not None else f"texts[{i}]"})
        server.log_texts("check", texts)
        engines = server.engines
        results = await asyncio.wrap_future(engines.detector.submit(("check", body.spans), texts))
        unsafe = [i for i, r in enumerate(results) if r.unsafe]
        if body.rewrite and unsafe:
            rewritten = await asyncio.wrap_future(engines.rewriter.submit((body.spans,), [texts[i] for i in unsafe]))
            for i, r in zip(unsafe, rewritten, strict=True):
                results[i] = r
        if body.ids is not None:
            results = [r.model_copy(update={"id": i}) for r, i in zip(results, body.ids, strict=True)]
        thresholds = engines.guard.detector.thresholds
        metrics.count_texts("check", [[c for c, p in r.categories.items() if r.unsafe and p >= thresholds.get(c, 2)]
                                      for r in results], [r.action for r in results])
        out = [r.model_dump(mode="json") for r in results]
        server.log_texts("check outputs", [r["output"] for r in out])
        return JSONResponse(out[0] if body.text is not None else {"results": out})

    @app.get("/v1/models", summary="The model this server answers with (the proxy: the upstream's models)")
    async def models():
        if server.proxy is not None:
            return await server.proxy.upstream.get("/models")
        return {"object": "list", "data": [{"id": config.model_id, "object": "model", "created": _STARTED,
                                            "owned_by": "srllm"}]}

    @app.post("/v1/chat/completions", summary="OpenAI chat completions (srllm's model, or the guard proxy)")
    async def chat_completions(body: ChatRequest, request: Request):
        server.require_ready()
        if server.proxy is None and not config.llm:
            raise ApiError(400, "this server was started with --no-llm: it has no model to answer with",
                           code="no_llm")
        server.log_texts("chat", [m.model_dump_json() for m in body.messages])
        if server.proxy is not None:
            result = await (server.proxy.stream(body) if body.stream else server.proxy.complete(body))
        else:
            result = await local_chat(server.engines, body, config.model_id, config.max_tokens)
        if isinstance(result, dict):
            server.log_texts("chat answer", [result["choices"][0]["message"].get("content") or ""])
            return JSONResponse(result)
        return StreamingResponse(result, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


_STARTED = int(time.time())


def _check_limits(texts: list[str], config: ServeConfig) -> None:
    if len(texts) > config.max_batch:
        raise ApiError(413, f"{len(texts)} texts in one request; the limit is {config.max_batch} (--max-batch). "
                       "Split the batch", code="batch_too_large")
    for i, t in enumerate(texts):
        if len(t) > config.max_chars:
            raise ApiError(413, f"texts[{i}] is {len(t):,} characters; the limit is {config.max_chars:,} "
                           "(--max-chars). Split it into paragraphs", code="text_too_long")


def _version() -> str:
    from srllm import __version__

    return __version__


def app_from_env() -> FastAPI:
    """The app of a worker process: uvicorn imports it by name (`srllm serve --workers N`); the config comes in
    the SRLLM_SERVE_CONFIG environment variable."""
    import os

    return create_app(ServeConfig.from_json(os.environ["SRLLM_SERVE_CONFIG"]))
