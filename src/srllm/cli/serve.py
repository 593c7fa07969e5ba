"""`srllm serve`: the guard over HTTP (a thin shell over srllm.serve)."""

from __future__ import annotations

from srllm.cli._app import app, friendly_errors
from srllm.cli.options import Flag, options_from
from srllm.serve.config import ServeConfig


@app.command("serve")
@friendly_errors
@options_from(ServeConfig, panel="Serving (srllm.serve.ServeConfig)", flags={
    "api_key": Flag(envvar="SRLLM_SERVE_API_KEY", show_default=False),
    "upstream_key": Flag(envvar="SRLLM_UPSTREAM_KEY", show_default=False),
    "base_url": Flag(envvar="SRLLM_BASE_URL"),
    "base_url_key": Flag(envvar="SRLLM_API_KEY", show_default=False),
    "prompt_actions": Flag("--prompt-action", metavar="CATEGORY=ACTION"),
    "answer_actions": Flag("--answer-action", metavar="CATEGORY=ACTION"),
    "llm": Flag("--llm/--no-llm"),
    "int8": Flag("--int8/--no-int8"),
    "screen": Flag("--screen/--no-screen"),
})
def serve_command(config: ServeConfig = None):
    """Serve the guard over HTTP: /v1/check, /v1/taxonomy, /health, /ready, /metrics, and OpenAI-compatible
    /v1/models and /v1/chat/completions with srllm's own model, or, with --upstream, as a guard proxy in front of
    any OpenAI-compatible LLM. Docs at /docs. Stop with Ctrl-C or SIGTERM: in-flight requests finish first."""
    from srllm.serve import run

    run(config)
