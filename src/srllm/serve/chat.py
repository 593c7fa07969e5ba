"""The OpenAI chat-completions shapes (request, answer, stream chunks, server-sent events) and the endpoint that
answers with srllm's own model (the generation backend behind the `llm` batcher).

What this endpoint supports: `messages` (text content, or content parts of which the text parts are read),
`max_tokens` / `max_completion_tokens` (at most --max-tokens; the default), `temperature` (default 0: greedy, where
OpenAI's default is 1), `top_p`, `seed`, `stream`, `stream_options: {"include_usage": true}`. `n` > 1, `tools` and
`logprobs` get 400. Answers carry `usage` (prompt_tokens, completion_tokens, total_tokens; counted with the model's
tokenizer, srllm.serve.usage) and finish_reason "length" when the reply was cut at max_tokens, else "stop"; a
stream sends them as OpenAI does: the finish chunk, then, with include_usage, a last chunk with empty `choices`
and the usage (every chunk before it has `"usage": null`). A backend without a tokenizer (`--base-url`) reports
no usage and always "stop".
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

__all__ = ["ChatRequest", "ChatMessage", "completion", "chunk", "usage_chunk", "sse", "SSE_END", "message_text",
           "local_chat"]


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


def usage_chunk(base: dict, usage: dict) -> dict:
    """The last chunk of a stream asked with stream_options.include_usage: no choices, the usage."""
    return {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}


def include_usage(body: ChatRequest) -> bool:
    options = (body.model_extra or {}).get("stream_options")
    return bool(body.stream and isinstance(options, dict) and options.get("include_usage"))


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
        reply = (await asyncio.wrap_future(engines.llm.submit(("generate", config_key(cfg)), [conversation])))[0]
        usage, finish = _usage(engines, conversation, reply, cfg)
        return completion(model_id, reply, finish_reason=finish, extra=usage and {"usage": usage})
    sink = StreamSink(asyncio.get_running_loop())
    future = engines.llm.submit(("stream", config_key(cfg)), [(conversation, sink)])
    future.add_done_callback(lambda f: sink.put(f.exception()))  # a failure of the whole batch ends the stream too
    return _stream_local(sink, model_id, lambda reply: _usage(engines, conversation, reply, cfg), include_usage(body))


def _usage(engines: Engines, conversation: list[dict], reply: str, cfg: GenerationConfig) -> tuple[dict | None, str]:
    """(usage, finish_reason); (None, "stop") when the backend has no tokenizer to count with."""
    if engines.counter is None:
        return None, "stop"
    return engines.counter.usage(conversation, reply, cfg.max_new_tokens)


async def _stream_local(sink: StreamSink, model_id: str, count, with_usage: bool) -> AsyncIterator[str]:
    base = stream_base(model_id)
    extra = {"usage": None} if with_usage else None  # OpenAI's shape: null on every chunk but the last
    pieces = []
    try:
        yield sse(chunk(base, {"role": "assistant", "content": ""}, extra=extra))
        while True:
            piece = await sink.pieces.get()
            if piece is None:
                break
            if isinstance(piece, Exception):
                yield sse_error(piece)
                return
            pieces.append(piece)
            yield sse(chunk(base, {"content": piece}, extra=extra))
        usage, finish = count("".join(pieces))
        yield sse(chunk(base, {}, finish, extra=extra))
        if with_usage and usage is not None:
            yield sse(usage_chunk(base, usage))
        yield SSE_END
    finally:
        sink.cancelled.set()  # the client left (or the stream ended): stop generating
