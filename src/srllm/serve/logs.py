"""Structured logs: one JSON object per line on stderr, each with the id of the request it belongs to.

Texts are never logged by the server unless `--log-texts`: request lines carry the method, path, status, duration
and client address; the routes add the texts only when the option is on (`log_texts`).
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar

__all__ = ["REQUEST_ID", "JsonFormatter", "log_config", "logger"]

REQUEST_ID: ContextVar[str | None] = ContextVar("srllm_request_id", default=None)
logger = logging.getLogger("srllm.serve")

# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into the JSON object.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time (UTC, ISO 8601), level, logger, message, request_id, and `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id":
                out[key] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def log_config(level: str = "info") -> dict:
    """A logging.config.dictConfig for uvicorn and srllm: JSON lines on stderr; uvicorn's access log is off (the
    server writes its own request lines, with the request id)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "srllm": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
        },
    }
