"""The proxy's client of the upstream LLM (any OpenAI-compatible server), with its failures as HTTP errors: no
answer within `--upstream-timeout` (connect, or between two bytes of the answer) -> 504; unreachable or a 5xx ->
502; a 4xx (the client's request was wrong for the upstream, e.g. an unknown model) -> the same status with the
upstream's message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from srllm.models.backends import SSE_DONE, parse_sse_line
from srllm.serve.errors import ApiError
from srllm.serve.metrics import Metrics

__all__ = ["Upstream"]


class Upstream:
    def __init__(self, base_url: str, *, api_key: str | None, timeout: float, metrics: Metrics,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.base_url, self.timeout, self.metrics = base_url.rstrip("/"), timeout, metrics
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout),
                                        transport=transport)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _failure(self, e: Exception) -> ApiError:
        if isinstance(e, httpx.TimeoutException):
            self.metrics.upstream_errors.labels(kind="timeout").inc()
            return ApiError(504, f"the upstream LLM at {self.base_url} did not answer within {self.timeout:g} s "
                            "(--upstream-timeout)", code="upstream_timeout")
        self.metrics.upstream_errors.labels(kind="unreachable").inc()
        return ApiError(502, f"could not reach the upstream LLM at {self.base_url}: {type(e).__name__}: {e}",
                        code="upstream_unreachable")

    def _status_error(self, resp: httpx.Response) -> ApiError:
        self.metrics.upstream_errors.labels(kind="status").inc()
        try:
            message = resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = resp.text[:500]
        if 400 <= resp.status_code < 500:
            return ApiError(resp.status_code, f"the upstream LLM refused the request: {message}",
                            code="upstream_refused")
        return ApiError(502, f"the upstream LLM at {self.base_url} failed ({resp.status_code}): {message}",
                        code="upstream_error")

    async def get(self, path: str) -> dict:
        try:
            resp = await self.client.get(path)
        except httpx.HTTPError as e:
            raise self._failure(e) from e
        if resp.status_code != 200:
            raise self._status_error(resp)
        return resp.json()

    async def complete(self, body: dict) -> dict:
        """POST /chat/completions (not streamed): the upstream's JSON answer."""
        try:
            resp = await self.client.post("/chat/completions", json={**body, "stream": False})
        except httpx.HTTPError as e:
            raise self._failure(e) from e
        if resp.status_code != 200:
            raise self._status_error(resp)
        try:
            data = resp.json()
            data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            self.metrics.upstream_errors.labels(kind="bad_answer").inc()
            raise ApiError(502, f"the upstream LLM did not answer with a chat completion: {resp.text[:300]}",
                           code="upstream_error") from e
        return data

    async def open_stream(self, body: dict) -> AsyncIterator[dict]:
        """POST /chat/completions with stream: true. Waits for the upstream's status (so a failure is still an HTTP
        error), then returns an iterator of its chunks; closing the iterator closes the upstream connection."""
        request = self.client.build_request("POST", "/chat/completions", json={**body, "stream": True})
        try:
            resp = await self.client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise self._failure(e) from e
        if resp.status_code != 200:
            await resp.aread()
            await resp.aclose()
            raise self._status_error(resp)
        return self._chunks(resp)

    async def _chunks(self, resp: httpx.Response) -> AsyncIterator[dict]:
        try:
            async for line in resp.aiter_lines():
                try:
                    event = parse_sse_line(line)
                except json.JSONDecodeError as e:
                    raise ApiError(502, f"the upstream LLM sent a stream event that is not JSON: {line[:200]}",
                                   code="upstream_error") from e
                if event is SSE_DONE:
                    return
                if isinstance(event, dict) and "error" in event:
                    raise ApiError(502, f"the upstream LLM failed mid-stream: {event['error']}",
                                   code="upstream_error")
                if event is not None:
                    yield event
        except httpx.HTTPError as e:
            raise self._failure(e) from e
        finally:
            await resp.aclose()
