"""The request gate, an ASGI middleware in front of every route: it gives each request an id, refuses what must
be refused before any work, and writes one JSON log line and the metrics of each request.

In order: the request id (the client's `X-Request-ID` when it is a short token, else a new one; echoed in the
answer's `X-Request-ID`); the API key (401 without `Authorization: Bearer <key>` on a guarded path); the body size
(413 when Content-Length is over the limit, or as soon as a chunked body passes it); the concurrency limit (429 with
`Retry-After` when `max_concurrency` requests are already in flight: a request counts until its last byte is sent,
so a streamed answer counts while it streams). /health, /ready, /metrics and the docs are never refused.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from srllm.serve.errors import error_response
from srllm.serve.logs import REQUEST_ID
from srllm.serve.metrics import Metrics

__all__ = ["RequestGate", "OPEN_PATHS"]

logger = logging.getLogger("srllm.serve")

OPEN_PATHS = frozenset({"/health", "/ready", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc",
                        "/openapi.json"})
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class BodyTooLarge(HTTPException):
    """Raised from receive() when a body without Content-Length passes the limit (FastAPI passes HTTPExceptions
    raised while reading the body on to the error handlers: a 413 JSON answer)."""

    def __init__(self):
        super().__init__(status_code=413, detail="the request body is too large")


class RequestGate:
    def __init__(self, app: ASGIApp, *, api_keys: list[str] | None, max_body_bytes: int, max_concurrency: int,
                 retry_after: int, metrics: Metrics):
        self.app = app
        self.api_keys = [k.encode() for k in api_keys or []]
        self.max_body_bytes, self.max_concurrency, self.retry_after = max_body_bytes, max_concurrency, retry_after
        self.metrics = metrics
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        request_id = given if _TOKEN.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        start, status = time.perf_counter(), [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            if scope["path"] in OPEN_PATHS:  # never refused, not counted against the limit
                await self.app(scope, receive, send_with_id)
                return
            refusal = self._refusal(headers)
            if refusal is not None:
                reason, response = refusal
                self.metrics.rejected.labels(reason=reason).inc()
                await response(scope, receive, send_with_id)
                return
            self.in_flight += 1
            self.metrics.in_flight.inc()
            try:
                await self.app(scope, self._limited(receive), send_with_id)
            finally:
                self.in_flight -= 1
                self.metrics.in_flight.dec()
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or ("other" if status[0] == 404 else scope["path"])
            self.metrics.requests.labels(route=route, method=scope["method"], status=str(status[0])).inc()
            self.metrics.latency.labels(route=route).observe(elapsed)
            logger.info("request", extra={"method": scope["method"], "path": scope["path"], "status": status[0],
                                          "duration_ms": round(elapsed * 1000, 2),
                                          "client": (scope.get("client") or ("?",))[0]})
            REQUEST_ID.reset(token)

    def _refusal(self, headers: dict[str, str]):
        """(metric reason, response) when the request must be refused now, else None."""
        if self.api_keys and not self._authorized(headers.get("authorization", "")):
            return "unauthorized", error_response(
                401, "missing or wrong API key: send 'Authorization: Bearer <key>' with a key the server was started "
                "with (--api-key or SRLLM_SERVE_API_KEY)", code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"})
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return "too_large", error_response(
                413, f"the request body is {int(length):,} bytes; the limit is {self.max_body_bytes:,} "
                "(--max-body-bytes). Send fewer or shorter texts per request", code="body_too_large")
        if self.in_flight >= self.max_concurrency:
            return "busy", error_response(
                429, f"the server is handling {self.in_flight} requests, its limit (--max-concurrency); retry after "
                f"{self.retry_after} s", code="too_many_requests", headers={"Retry-After": str(self.retry_after)})
        return None

    def _authorized(self, authorization: str) -> bool:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        given = key.strip().encode()
        # compare_digest against every key (no early exit): the time taken does not tell which key is near.
        return any([hmac.compare_digest(given, k) for k in self.api_keys])

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge()
            return message

        return receive_limited
