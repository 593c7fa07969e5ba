"""Generation backends behind one interface: transformers in-process (batched, greedy by default), CTranslate2 int8
in-process (srllm.models.backends_ct2; `engine="ctranslate2"`, or `"auto"` on CPU) and any OpenAI-compatible chat
endpoint (vLLM, llama.cpp server, Ollama, ...). `generate` answers a batch of conversations; `stream` yields one
reply piece by piece (a TextIteratorStreamer in-process, server-sent events over HTTP)."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from srllm.errors import SrllmModelError

__all__ = ["GenerationConfig", "GenerationBackend", "TransformersBackend", "OpenAIBackend", "make_backend",
           "Messages", "SSE_DONE", "parse_sse_line", "delta_text", "ENGINES", "choose_engine"]

logger = logging.getLogger("srllm.models")  # notices: stderr on the command line, JSON in srllm serve

ENGINES = ("auto", "transformers", "ctranslate2")

Messages = list[dict[str, str]]


@dataclass
class GenerationConfig:
    max_new_tokens: int = 96
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    batch_size: int = 16
    repetition_penalty: float = 1.0
    # Sampling seed (temperature > 0), for reproducible samples: a local engine draws the whole batch from one RNG
    # seeded with it; a server (one request per conversation) gets seed + the conversation's index in the call.
    seed: int | None = None


class GenerationBackend(ABC):
    """Turns chat conversations into assistant replies."""

    name: str = "backend"

    @abstractmethod
    def generate(self, conversations: list[Messages], config: GenerationConfig | None = None) -> list[str]:
        """One reply per conversation, in order."""

    def stream(self, conversation: Messages, config: GenerationConfig | None = None) -> Iterator[str]:
        """The reply to one conversation in pieces whose concatenation is the reply. This default yields the
        whole reply at once; backends that can do better override it."""
        yield self.generate([conversation], config)[0]


SSE_DONE = object()  # what parse_sse_line returns for the stream's last event, `data: [DONE]`


def parse_sse_line(line: str):
    """The JSON payload of one server-sent-events `data:` line of an OpenAI-style stream; SSE_DONE for
    `data: [DONE]`; None for blank lines, comments and other fields. A `data:` line that is not JSON raises
    ValueError."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return SSE_DONE
    return json.loads(data) if data else None


def delta_text(chunk: dict) -> str:
    """The text a chat.completion.chunk adds ('' for role-only, empty or final chunks)."""
    choices = chunk.get("choices") or [{}]
    return (choices[0].get("delta") or {}).get("content") or ""


class _StopFlag:
    """A StoppingCriteria (a callable over the generated ids) that stops every sequence once `event` is set."""

    def __init__(self, event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


class TransformersBackend(GenerationBackend):
    """In-process generation with transformers (and an optional PEFT adapter)."""

    def __init__(self, *, model=None, tokenizer=None, model_name: str | None = None, adapter: str | None = None,
                 dtype: str = "float32"):
        if model is None:
            from srllm.models.loading import load_causal_lm

            model, tokenizer = load_causal_lm(model_name, adapter=adapter, dtype=dtype)
        if tokenizer is None:
            raise SrllmModelError("TransformersBackend(model=...) also needs tokenizer=...")
        self.model, self.tokenizer = model, tokenizer
        self.name = f"transformers:{model_name or getattr(model.config, '_name_or_path', 'model')}" + (
            f"+{adapter}" if adapter else "")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def prompt_text(self, conversation: Messages) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
        # Models without a chat template (tiny test models, base LMs): a plain role-prefixed transcript.
        return "".join(f"{m['role']}: {m['content']}\n" for m in conversation) + "assistant:"

    def _generate_kwargs(self, cfg: GenerationConfig) -> dict:
        kwargs = dict(max_new_tokens=cfg.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                      repetition_penalty=cfg.repetition_penalty)
        if cfg.temperature > 0:
            kwargs.update(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs

    @staticmethod
    @contextmanager
    def _seeded(cfg: GenerationConfig):
        """A seeded sample must not move the caller's global RNG: fork it for the duration."""
        import torch

        if cfg.temperature > 0 and cfg.seed is not None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed)
                yield
        else:
            yield

    def generate(self, conversations: list[Messages], config: GenerationConfig | None = None) -> list[str]:
        import torch

        cfg = config or GenerationConfig()
        tok = self.tokenizer
        tok.padding_side = "left"  # decoder-only models continue from the right edge
        replies: list[str] = []
        kwargs = self._generate_kwargs(cfg)
        with self._seeded(cfg), torch.inference_mode():
            for i in range(0, len(conversations), cfg.batch_size):
                prompts = [self.prompt_text(c) for c in conversations[i:i + cfg.batch_size]]
                enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
                enc = enc.to(self.model.device)  # a model moved to a GPU (srllm.integrations.ray) takes GPU inputs
                out = self.model.generate(**enc, **kwargs)
                new = out[:, enc["input_ids"].shape[1]:]
                replies.extend(tok.batch_decode(new, skip_special_tokens=True))
        return replies

    def stream(self, conversation: Messages, config: GenerationConfig | None = None) -> Iterator[str]:
        """generate() runs in a thread and feeds a TextIteratorStreamer; closing this iterator early stops the
        generation at its next token. The pieces join to what generate() returns for the same conversation."""
        import threading

        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        cfg = config or GenerationConfig()
        enc = self.tokenizer([self.prompt_text(conversation)], return_tensors="pt", add_special_tokens=False)
        enc = enc.to(self.model.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop, failed = threading.Event(), []

        def run():
            try:
                with self._seeded(cfg), torch.inference_mode():
                    self.model.generate(**enc, **self._generate_kwargs(cfg), streamer=streamer,
                                        stopping_criteria=StoppingCriteriaList([_StopFlag(stop)]))
            except Exception as e:  # re-raised in the consumer's thread below
                failed.append(e)
                streamer.end()

        thread = threading.Thread(target=run, name="srllm-stream", daemon=True)
        thread.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            stop.set()
            thread.join()
        if failed:
            raise SrllmModelError(f"generation failed: {failed[0]}") from failed[0]


class OpenAIBackend(GenerationBackend):
    """Any server that speaks the OpenAI chat-completions API (`POST {base_url}/chat/completions`)."""

    def __init__(self, *, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0, max_concurrency: int = 8):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.model = model or "default"
        self.name = f"openai:{self.base_url}:{self.model}"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.max_concurrency = max_concurrency

    def _body(self, conversation: Messages, cfg: GenerationConfig, index: int = 0) -> dict:
        body = {"model": self.model, "messages": conversation, "max_tokens": cfg.max_new_tokens,
                "temperature": cfg.temperature, "top_p": cfg.top_p}
        if cfg.seed is not None:
            # OpenAI, vLLM and llama.cpp server accept it; copies of one prompt in a call must not get one sample
            body["seed"] = cfg.seed + index
        return body

    def _one(self, conversation: Messages, cfg: GenerationConfig, index: int = 0) -> str:
        import httpx

        try:
            resp = self.client.post("/chat/completions", json=self._body(conversation, cfg, index))
        except httpx.HTTPError as e:
            raise SrllmModelError(f"could not reach {self.base_url}/chat/completions: {e}") from e
        if resp.status_code != 200:
            raise SrllmModelError(f"{self.base_url}/chat/completions answered {resp.status_code}: {resp.text[:300]}")
        try:
            return resp.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError) as e:
            raise SrllmModelError(f"{self.base_url} did not return a chat completion: {resp.text[:300]}") from e

    def stream(self, conversation: Messages, config: GenerationConfig | None = None) -> Iterator[str]:
        """The server's own stream (`stream: true`), passed through piece by piece."""
        import httpx

        body = {**self._body(conversation, config or GenerationConfig()), "stream": True}
        try:
            with self.client.stream("POST", "/chat/completions", json=body) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise SrllmModelError(f"{self.base_url}/chat/completions answered {resp.status_code}: "
                                          f"{resp.text[:300]}")
                for line in resp.iter_lines():
                    event = parse_sse_line(line)
                    if event is SSE_DONE:
                        return
                    if event is not None and delta_text(event):
                        yield delta_text(event)
        except httpx.HTTPError as e:
            raise SrllmModelError(f"could not stream from {self.base_url}/chat/completions: {e}") from e
        except ValueError as e:
            raise SrllmModelError(f"{self.base_url} sent a stream event that is not JSON: {e}") from e

    def generate(self, conversations: list[Messages], config: GenerationConfig | None = None) -> list[str]:
        from concurrent.futures import ThreadPoolExecutor

        cfg = config or GenerationConfig()
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            return list(pool.map(lambda c, i: self._one(c, cfg, i), conversations, range(len(conversations))))


def choose_engine(engine: str, *, model_dir: str, adapter: str | None) -> str:
    """The engine `auto` stands for: ctranslate2 for a local model (and local adapter) on a machine without CUDA
    when ctranslate2 is installed, else transformers. A named engine is returned as it is."""
    import os

    from srllm.errors import SrllmConfigError

    if engine not in ENGINES:
        raise SrllmConfigError(f"unknown engine '{engine}'; engines: {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    import importlib.util

    if importlib.util.find_spec("ctranslate2") is None:
        return "transformers"
    if not os.path.isdir(model_dir) or (adapter and not os.path.isdir(adapter)):
        return "transformers"  # a hub id: converting it offline would need the download first
    import torch

    return "transformers" if torch.cuda.is_available() else "ctranslate2"


def make_backend(*, model: str | None = None, adapter: str | None = "default", base_url: str | None = None,
                 api_key: str | None = None, engine: str = "transformers") -> GenerationBackend:
    """The backend for a model option: an OpenAI-compatible server when base_url is set, else an in-process engine
    (`engine`: auto | transformers | ctranslate2; see choose_engine). When CTranslate2 is missing or cannot load
    the model, one warning line is printed and transformers is used."""
    if base_url:
        return OpenAIBackend(base_url=base_url, model=model, api_key=api_key)
    from srllm.models.loading import is_embedded_llm, resolve_adapter, resolve_llm

    adapter = resolve_adapter(adapter, model_is_default=is_embedded_llm(model))
    if choose_engine(engine, model_dir=resolve_llm(model), adapter=adapter) == "ctranslate2":
        try:
            from srllm.models.backends_ct2 import CTranslate2Backend

            return CTranslate2Backend(model_name=model, adapter=adapter)
        except Exception as e:  # noqa: BLE001 - any failure of the optional engine falls back to transformers
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            logger.warning(
                f"srllm: warning: the ctranslate2 engine is unavailable ({reason}); using transformers")
    return TransformersBackend(model_name=model, adapter=adapter)
