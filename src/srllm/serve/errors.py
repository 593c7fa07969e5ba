"""Errors as JSON, in the OpenAI shape every OpenAI client reads: `{"error": {"message", "type", "code"}}`.

A user's mistake is a 4xx with a message that says what was wrong and what to do (bad JSON or fields 422, a
request the server cannot serve as asked 400, too large 413, too many at once 429); a failure of the upstream LLM
is 502 or 504; only a bug of the server is a 500, and its answer carries the request id to find it in the logs.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from srllm.errors import SrllmConfigError, SrllmDataError, SrllmModelError
from srllm.serve.batching import BatcherClosed
from srllm.serve.logs import REQUEST_ID

__all__ = ["ApiError", "error_response", "install_error_handlers"]

logger = logging.getLogger("srllm.serve")

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
          405: "invalid_request_error", 413: "request_too_large", 422: "invalid_request_error",
          429: "rate_limit_error", 502: "upstream_error", 503: "unavailable", 504: "upstream_timeout"}


class ApiError(Exception):
    """An HTTP error with a message for the client."""

    def __init__(self, status: int, message: str, *, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


def error_response(status: int, message: str, *, code: str | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": _TYPES.get(status, "server_error"), "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _location(loc) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def validation_message(exc: RequestValidationError) -> str:
    """One readable line per problem: 'messages.0.role: Input should be 'system', 'user' or 'assistant''."""
    lines = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            pos = err.get("loc", ("body", "?"))[-1]
            detail = (err.get("ctx") or {}).get("error", "")
            lines.append(f"the body is not valid JSON ({detail} at character {pos}); send a JSON object with "
                         "Content-Type: application/json")
        elif tuple(err.get("loc", ())) == ("body",) and err.get("type") in ("model_attributes_type", "dict_type"):
            lines.append("the body must be a JSON object, sent with Content-Type: application/json")
        elif err.get("type") == "missing":
            lines.append(f"{_location(err['loc'])}: this field is required")
        else:
            lines.append(f"{_location(err['loc'])}: {err.get('msg', 'invalid value')}")
    return "; ".join(lines) or "the request is not valid"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, code=exc.code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return error_response(422, validation_message(exc), code="invalid_request")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        message = {404: f"no such endpoint: {request.method} {request.url.path} (see /docs)",
                   405: f"{request.method} is not allowed on {request.url.path} (see /docs)",
                   413: "the request body is too large"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(SrllmDataError)
    async def _data(request: Request, exc: SrllmDataError):
        return error_response(422, str(exc), code="invalid_text")

    @app.exception_handler(SrllmConfigError)
    async def _config(request: Request, exc: SrllmConfigError):
        return error_response(400, str(exc), code="invalid_option")

    @app.exception_handler(SrllmModelError)
    async def _model(request: Request, exc: SrllmModelError):
        logger.error("model error", extra={"error": str(exc)})
        return error_response(502, f"the LLM failed: {exc}", code="model_error")

    @app.exception_handler(BatcherClosed)
    async def _closing(request: Request, exc: BatcherClosed):
        return error_response(503, "the server is shutting down; retry on another instance", headers={
            "Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        logger.exception("unhandled error")
        return error_response(500, f"internal server error (request id {REQUEST_ID.get()}); this is a bug of the "
                              "server, not of your request")
