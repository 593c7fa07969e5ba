"""`srllm serve`: the guard as an HTTP service (check, taxonomy, health, metrics), an OpenAI-compatible endpoint
for srllm's own model, and a guard proxy in front of any OpenAI-compatible LLM. A thin shell over the Python API:

    from srllm.serve import ServeConfig, create_app, run
    run(ServeConfig(port=8000, api_key=["secret"]))           # what `srllm serve` does
    app = create_app(ServeConfig(upstream="http://localhost:8080/v1"))   # an ASGI app for any ASGI server
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from srllm.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app", "run"]


def create_app(config: ServeConfig | None = None, **kw):
    from srllm.serve.app import create_app as _create

    return _create(config, **kw)


def run(config: ServeConfig) -> None:
    """Serve until SIGINT/SIGTERM; then stop taking connections, let the in-flight requests finish (at most
    `shutdown_timeout` seconds) and exit."""
    import uvicorn

    from srllm.serve.logs import log_config

    threads = config.worker_threads()
    if threads:
        # Every thread that runs torch (the batchers', the streamer's) starts with this many: set before torch
        # loads, it is the initial value of each new thread, where torch.set_num_threads changes only the caller's.
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
    options = dict(host=config.host, port=config.port, log_config=log_config(config.log_level), access_log=False,
                   timeout_graceful_shutdown=config.shutdown_timeout)
    if config.workers == 1:
        uvicorn.run(create_app(config), **options)
        return
    # Several processes: uvicorn imports the app by name in each; the config and the shared metrics folder travel
    # in environment variables, set before any worker (or prometheus_client) starts.
    os.environ["SRLLM_SERVE_CONFIG"] = config.to_json()
    own_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own_dir = tempfile.mkdtemp(prefix="srllm-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_dir
    # uvicorn pings each worker and replaces one that does not answer within timeout_worker_healthcheck (5 s by
    # default), but a worker answers only once it has imported srllm (torch, transformers): on a busy machine that
    # takes longer, and the workers were killed and restarted forever. Loading the models comes later (/ready).
    import inspect

    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        options["timeout_worker_healthcheck"] = 300
    try:
        uvicorn.run("srllm.serve.app:app_from_env", factory=True, workers=config.workers, **options)
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)
