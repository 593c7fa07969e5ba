"""The guard proxy's chat completion: check the user's last message, forward the request to the upstream LLM, check
its answer, and return an ordinary chat completion with the verdicts in an extra `srllm` field. The policy and the
streaming rule are in srllm.serve.proxy.

The `srllm` field: `{"prompt": {"action", "flagged", "sentences", ["forwarded"]}, "answer": {...} or null}`;
`action` is passed, flagged, rewritten or blocked; `sentences` has one entry per checked sentence; `forwarded` is
the user message as it was sent upstream, when it was rewritten. A blocked prompt is never forwarded: the answer
is the refusal, with finish_reason "content_filter". In a streamed answer the field comes with the last chunk.
Tool calls and other non-text parts of an answer pass through unchecked. The upstream's `usage` is passed on as it
is (streamed: its last chunk, when the client asked with stream_options.include_usage): it counts the prompt as
forwarded and the answer before the proxy rewrote or cut it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from srllm.serve.chat import (
    SSE_END,
    ChatRequest,
    chunk,
    completion,
    message_text,
    sse,
    sse_error,
    stream_base,
    usage_chunk,
)
from srllm.serve.config import ServeConfig
from srllm.serve.engines import Engines
from srllm.serve.errors import ApiError
from srllm.serve.metrics import Metrics
from srllm.serve.proxy import PROXY_ACTION, ActionTable, Screened, SentenceBuffer, split_sentences
from srllm.serve.upstream import Upstream

__all__ = ["GuardProxy"]


def _same_spacing(original: str, new: str) -> str:
    """`new` with the whitespace around `original` (a sentence keeps its place in the text)."""
    stripped = original.strip()
    start = original.index(stripped)
    return original[:start] + new.strip() + original[start + len(stripped):]


class GuardProxy:
    def __init__(self, engines: Engines, upstream: Upstream, config: ServeConfig, metrics: Metrics):
        self.engines, self.upstream, self.config, self.metrics = engines, upstream, config, metrics
        self.prompt_table = ActionTable(config.prompt_actions)
        self.answer_table = ActionTable(config.answer_actions)

    def refusal(self, flagged: list[str]) -> str:
        return self.config.refusal.replace("{categories}", ", ".join(flagged) or "unsafe content")

    async def screen(self, sentences: list[str], table: ActionTable, into: Screened, source: str) -> str:
        """Check `sentences`, act on each by `table`, record it in `into`; the text to release. Stops after a
        blocked sentence (its refusal is the last thing released)."""
        todo = [i for i, s in enumerate(sentences) if s.strip()]
        if not todo:
            into.text += "".join(sentences)
            return "".join(sentences)
        verdicts = dict(zip(todo, await asyncio.wrap_future(self.engines.detector.submit(
            ("verdict",), [sentences[i].strip() for i in todo])), strict=True))
        actions = {i: table.decide(v.flagged) for i, v in verdicts.items()}
        to_rewrite = [i for i in todo if actions[i] == "rewrite"]
        rewrites = {}
        if to_rewrite:
            rewrites = dict(zip(to_rewrite, await asyncio.wrap_future(self.engines.rewriter.submit(
                (False,), [sentences[i].strip() for i in to_rewrite])), strict=True))
        released, checked = "", []
        for i, sentence in enumerate(sentences):
            if i not in verdicts:  # whitespace between sentences
                released += sentence
                into.text += sentence
                continue
            verdict, action, rewrite = verdicts[i], actions[i], rewrites.get(i)
            out = sentence
            if rewrite is not None:
                if rewrite.action == "failed":  # no safe rewrite: block (srllm check's advice for 'failed')
                    action = "block"
                else:
                    out = _same_spacing(sentence, rewrite.output)
            if action == "block":
                out = self.refusal(verdict.flagged)
            into.add(out, action, verdict.flagged, verdict.severity, rewrite.action if rewrite else None)
            released += out
            checked.append((verdict.flagged, PROXY_ACTION[action]))
            if action == "block":
                break
        self.metrics.count_texts(source, [f for f, _ in checked], [a for _, a in checked])
        return released

    async def _prompt(self, body: ChatRequest) -> tuple[Screened, dict]:
        """The prompt's report, and the request to forward (the last user message rewritten where it was)."""
        forwarded, prompt = body.forwarded(), Screened()
        users = [i for i, m in enumerate(body.messages) if m.role == "user"]
        text = message_text(body.messages[users[-1]].content) if users else ""
        if text.strip():
            await self.screen(split_sentences(text)[0], self.prompt_table, prompt, "prompt")
            if prompt.action == "rewrite":
                forwarded["messages"][users[-1]]["content"] = prompt.text
        return prompt, forwarded

    def _prompt_report(self, prompt: Screened) -> dict:
        report = prompt.report()
        if prompt.action == "rewrite":
            report["forwarded"] = prompt.text
        return report

    @staticmethod
    def _one_answer(body: ChatRequest) -> None:
        if (body.n or 1) > 1:
            raise ApiError(400, "the guard proxy checks one answer per request: n must be 1", code="unsupported")

    async def complete(self, body: ChatRequest) -> dict:
        self._one_answer(body)
        prompt, forwarded = await self._prompt(body)
        if prompt.blocked:
            return completion(body.model, self.refusal(prompt.blocked_by), finish_reason="content_filter",
                              extra={"srllm": {"prompt": self._prompt_report(prompt), "answer": None}})
        data = await self.upstream.complete(forwarded)
        choice = data["choices"][0]
        answer, content = Screened(), (choice.get("message") or {}).get("content")
        if isinstance(content, str) and content:
            await self.screen(split_sentences(content)[0], self.answer_table, answer, "answer")
            choice["message"]["content"] = answer.text
            if answer.blocked:
                choice["finish_reason"] = "content_filter"
        data["srllm"] = {"prompt": self._prompt_report(prompt), "answer": answer.report()}
        return data

    async def stream(self, body: ChatRequest) -> AsyncIterator[str]:
        """Checks the prompt and opens the upstream stream now (their failures are still HTTP errors), then
        returns the guarded stream of SSE lines."""
        self._one_answer(body)
        prompt, forwarded = await self._prompt(body)
        if prompt.blocked:
            return self._refused_stream(body.model, prompt)
        chunks = await self.upstream.open_stream(forwarded)
        return self._guarded_stream(chunks, prompt, body.model)

    async def _refused_stream(self, model: str, prompt: Screened) -> AsyncIterator[str]:
        base = stream_base(model)
        yield sse(chunk(base, {"role": "assistant", "content": self.refusal(prompt.blocked_by)}))
        yield sse(chunk(base, {}, "content_filter", extra={"srllm": {"prompt": self._prompt_report(prompt),
                                                                       "answer": None}}))
        yield SSE_END

    async def _guarded_stream(self, chunks: AsyncIterator[dict], prompt: Screened, model: str) -> AsyncIterator[str]:
        answer, buffer, base, finish, usage = Screened(), SentenceBuffer(), None, None, None
        try:
            async for event in chunks:
                base = base or {"id": event.get("id"), "created": event.get("created"), "model": event.get("model")}
                if not event.get("choices") and event.get("usage"):  # stream_options.include_usage: the last one
                    usage = event["usage"]
                    continue
                choice = (event.get("choices") or [{}])[0]
                delta = dict(choice.get("delta") or {})
                text = delta.pop("content", None) or ""
                if delta:  # the role, tool calls: passed on at once
                    yield sse(chunk(base, delta))
                finish = choice.get("finish_reason") or finish
                if text:
                    released = await self.screen(buffer.feed(text), self.answer_table, answer, "answer")
                    if released:
                        yield sse(chunk(base, {"content": released}))
                    if answer.blocked:
                        break
            if not answer.blocked:
                released = await self.screen(buffer.flush(), self.answer_table, answer, "answer")
                if released:
                    yield sse(chunk(base, {"content": released}))
            report = {"srllm": {"prompt": self._prompt_report(prompt), "answer": answer.report()}}
            yield sse(chunk(base or stream_base(model), {}, "content_filter" if answer.blocked else finish or "stop",
                            extra=report))
            if usage is not None:
                yield sse(usage_chunk(base or stream_base(model), usage))
            yield SSE_END
        except ApiError as e:
            yield sse_error(e)
        finally:
            await chunks.aclose()
