"""A chat-completions client for annotation: JSON mode where the endpoint has one, a shared rate limit, and
exponential back-off with jitter on 429, 5xx and connection errors (honouring Retry-After) for up to `max_wait`
seconds, so a server that restarts mid-run only delays the job.

`srllm.models.backends.OpenAIBackend` generates text; this client also needs the HTTP status, Retry-After, the
`usage` counts and `response_format`, so it speaks to the endpoint itself (same URL layout and auth header).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import httpx

from srllm.errors import SrllmModelError

__all__ = ["ChatClient", "Reply", "RateLimiter", "RequestRejected", "backoff_delay", "JSON_MODES"]

JSON_MODES = ("json_schema", "json_object", "none")  # tried in this order; a 400/422 steps down one


class RequestRejected(SrllmModelError):
    """The endpoint refused this one request for good (a 4xx other than 401/403/404/408/429)."""


@dataclass
class Reply:
    content: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class RateLimiter:
    """At most `rpm` request starts per minute, spread evenly (one every 60/rpm seconds); thread-safe."""

    def __init__(self, rpm: float | None, *, clock=time.monotonic, sleep=time.sleep):
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next, self._lock, self._clock, self._sleep = 0.0, threading.Lock(), clock, sleep

    def acquire(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 5.0, retry_after: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): base * 2^attempt capped at `cap`, with "equal
    jitter" (half fixed, half random), and never less than the server's Retry-After."""
    delay = min(cap, base * 2 ** attempt)
    delay = delay / 2 + (rng or random).uniform(0, delay / 2)
    return max(delay, retry_after or 0.0)


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return float(resp.headers.get("retry-after", ""))
    except ValueError:
        return None


class ChatClient:
    """POST {base_url}/chat/completions with retries. `json_mode` is the first response_format tried."""

    def __init__(self, *, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout: float = 300.0, rpm: float | None = None, max_wait: float = 300.0,
                 json_mode: str = "json_schema", schema: dict | None = None, sleep=time.sleep):
        if json_mode not in JSON_MODES:
            raise SrllmModelError(f"unknown json mode {json_mode!r}; use one of {', '.join(JSON_MODES)}")
        self.base_url = base_url.rstrip("/")
        self.model = model or "default"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.limiter = RateLimiter(rpm)
        self.max_wait, self.schema, self._sleep = max_wait, schema, sleep
        self.json_mode = json_mode
        self._mode_lock = threading.Lock()
        self.retries = 0  # transient failures retried (all threads)

    def _response_format(self, mode: str) -> dict | None:
        if mode == "json_schema" and self.schema:
            return {"type": "json_schema", "json_schema": {"name": "annotation", "schema": self.schema}}
        return {"type": "json_object"} if mode in ("json_schema", "json_object") else None

    def _step_down(self, mode: str) -> bool:
        """Use the next JSON mode (after the server refused `mode`); False when there is none left."""
        with self._mode_lock:
            if self.json_mode == mode:
                i = JSON_MODES.index(mode)
                if i + 1 >= len(JSON_MODES):
                    return False
                self.json_mode = JSON_MODES[i + 1]
            return True

    def complete(self, messages: list[dict], *, temperature: float = 0.0, seed: int | None = None,
                 max_tokens: int = 384) -> Reply:
        """One completion. Transient failures are retried with back-off for up to max_wait seconds, then
        SrllmModelError; a request the endpoint refuses for good raises RequestRejected."""
        first_failure, attempt = None, 0
        while True:
            mode = self.json_mode
            body = {"model": self.model, "messages": messages, "temperature": temperature, "max_tokens": max_tokens}
            if seed is not None:
                body["seed"] = seed
            if (fmt := self._response_format(mode)) is not None:
                body["response_format"] = fmt
            self.limiter.acquire()
            wait_hint, problem = None, None
            try:
                resp = self.http.post("/chat/completions", json=body)
            except httpx.TransportError as e:  # refused, reset, timed out: the server may be restarting
                problem = f"could not reach {self.base_url}/chat/completions: {type(e).__name__}: {e}"
            else:
                if resp.status_code == 200:
                    return self._reply(resp)
                text = resp.text[:300]
                if resp.status_code in (401, 403, 404):
                    raise SrllmModelError(f"{self.base_url}/chat/completions answered {resp.status_code}: {text}. "
                                          "Check --base-url, --model and --api-key")
                if resp.status_code in (400, 422) and mode != "none" and self._step_down(mode):
                    continue  # the endpoint may not know response_format: try the next JSON mode
                if resp.status_code in (408, 429) or resp.status_code >= 500:
                    problem, wait_hint = f"{self.base_url} answered {resp.status_code}: {text}", _retry_after(resp)
                else:
                    raise RequestRejected(f"{self.base_url}/chat/completions answered {resp.status_code}: {text}")
            now = time.monotonic()
            first_failure = first_failure or now
            if now - first_failure > self.max_wait:
                raise SrllmModelError(f"gave up after {self.max_wait:.0f} s of retries: {problem}. Re-run the same "
                                      "command to resume (finished records are kept)")
            self.retries += 1
            self._sleep(backoff_delay(attempt, retry_after=wait_hint))
            attempt += 1

    def _reply(self, resp: httpx.Response) -> Reply:
        try:
            data = resp.json()
            content = data["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise RequestRejected(f"{self.base_url} did not return a chat completion: {resp.text[:300]}") from e
        usage = data.get("usage") or {}
        return Reply(content, usage.get("prompt_tokens"), usage.get("completion_tokens"))

    def close(self) -> None:
        self.http.close()
