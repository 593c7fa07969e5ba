"""The OpenAI chat-completions shapes (request, answer, stream chunks, server-sent events) and the endpoint that
answers with srllm's own model (the generation backend behind the `llm` batcher).

What this endpoint supports: `messages` (text content, or content parts of which the text parts are read),
`max_tokens` / `max_completion_tokens` (at most --max-tokens; the default), `temperature` (default 0: greedy, where
OpenAI's default is 1), `top_p`, `seed`, `stream`. `n` > 1, `tools` and `logprobs` get 400. Token counts (`usage`)
are not reported, and `finish_reason` is always "stop" (the backend does not say whether it hit max_tokens).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from srllm.models.backends import GenerationConfig
from srllm.serve.engines import Engines, StreamSink, config_key
from srllm.serve.errors import ApiError

__all__ = ["ChatRequest", "ChatMessage", "completion", "chunk", "sse", "SSE_END", "message_text", "local_chat"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # other OpenAI fields are accepted (and passed on by the proxy)

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    n: int | None = Field(default=None, ge=1)

    def forwarded(self) -> dict:
        """The request as the client sent it (unset fields left out, other OpenAI fields kept)."""
        return self.model_dump(exclude_unset=True)


def message_text(content) -> str:
    """The text of a message's content: the string, or its text parts joined by line breaks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


def completion(model: str, content: str, *, finish_reason: str = "stop", extra: dict | None = None) -> dict:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                         "finish_reason": finish_reason}], **(extra or {})}


def chunk(base: dict, delta: dict, finish_reason: str | None = None, extra: dict | None = None) -> dict:
    """A chat.completion.chunk; `base` carries id, created and model."""
    return {**base, "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **(extra or {})}


def stream_base(model: str) -> dict:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model}


def sse(obj: dict) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


SSE_END = "data: [DONE]\n\n"


def sse_error(error: ApiError | Exception) -> str:
    """An error after the answer has started (its status is sent): an event the OpenAI client raises on."""
    status = getattr(error, "status", 500)
    message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
    return sse({"error": {"message": message, "type": "upstream_error" if status in (502, 504) else "server_error",
                          "code": getattr(error, "code", None)}})


def _generation_config(body: ChatRequest, limit: int, batch_size: int) -> GenerationConfig:
    if (body.n or 1) > 1:
        raise ApiError(400, "n > 1 is not supported: ask once per answer", code="unsupported")
    for name in ("tools", "functions", "logprobs"):
        if (body.model_extra or {}).get(name):
            raise ApiError(400, f"'{name}' is not supported by srllm's own model endpoint", code="unsupported")
    wanted = body.max_completion_tokens or body.max_tokens or limit
    if wanted > limit:
        raise ApiError(400, f"max_tokens is {wanted}; this server generates at most {limit} (--max-tokens)",
                       code="max_tokens_too_large")
    temperature = body.temperature or 0.0
    return GenerationConfig(max_new_tokens=wanted, temperature=temperature,
                            top_p=body.top_p if body.top_p is not None else 1.0, seed=body.seed,
                            batch_size=batch_size)


def _conversation(body: ChatRequest) -> list[dict[str, str]]:
    roles = {"developer": "system", "function": "tool"}
    return [{"role": roles.get(m.role, m.role), "content": message_text(m.content)} for m in body.messages]


async def local_chat(engines: Engines, body: ChatRequest, model_id: str, max_tokens: int):
    """The answer of srllm's own model: a completion dict, or (streaming) an async iterator of SSE lines."""
    if body.model not in (model_id, "default"):
        raise ApiError(404, f"this server serves the model '{model_id}', not '{body.model}' (see /v1/models)",
                       code="model_not_found")
    cfg = _generation_config(body, max_tokens, engines.config.generate_batch)
    conversation = _conversation(body)
    if not body.stream:
        reply = await asyncio.wrap_future(engines.llm.submit(("generate", config_key(cfg)), [conversation]))
        return completion(model_id, reply[0])
    sink = StreamSink(asyncio.get_running_loop())
    future = engines.llm.submit(("stream", config_key(cfg)), [(conversation, sink)])
    future.add_done_callback(lambda f: sink.put(f.exception()))  # a failure of the whole batch ends the stream too
    return _stream_local(sink, model_id)


async def _stream_local(sink: StreamSink, model_id: str) -> AsyncIterator[str]:
    base = stream_base(model_id)
    try:
        yield sse(chunk(base, {"role": "assistant", "content": ""}))
        while True:
            piece = await sink.pieces.get()
            if piece is None:
                break
            if isinstance(piece, Exception):
                yield sse_error(piece)
                return
            yield sse(chunk(base, {"content": piece}))
        yield sse(chunk(base, {}, "stop"))
        yield SSE_END
    finally:
        sink.cancelled.set()  # the client left (or the stream ended): stop generating
