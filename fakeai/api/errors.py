"""The one place errors become HTTP answers, in the shape of the provider the request speaks:
OpenAI's ``{"error": {"message", "type", "param", "code"}}``, or on Anthropic requests (see
``fakeai.providers``) Anthropic's ``{"type": "error", "error": {"type", "message"}, "request_id"}``."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from fakeai.api.replies import endpoint_of, runtime_of
from fakeai.errors import FakeAIError, StoreUnavailableError
from fakeai.providers import render_anthropic_error
from fakeai.schemas import encode_json

__all__ = ["EXCEPTION_HANDLERS"]

log = logging.getLogger("fakeai")

# Litestar's own HTTP errors, reworded the way OpenAI words them.
_HTTP_CODES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "unknown_url"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def _answer(request: Request, status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    try:
        runtime_of(request).metrics.observe(endpoint_of(request), None, status)
    except Exception:  # noqa: BLE001 - metrics must never turn an error into a worse one
        pass
    scope = request.scope
    if scope.get("fakeai_anthropic"):
        error = body["error"]
        extra = {k: v for k, v in error.items() if k not in _OPENAI_ONLY}
        content = render_anthropic_error(
            status, error["message"], request_id=scope.get("fakeai_request_id"), extra=extra
        )
    else:
        content = encode_json(body)
    return Response(content=content, status_code=status, media_type="application/json", headers=headers)


# OpenAI's error fields Anthropic's shape has no place for; any others (a cassette miss's request hash
# and nearest recorded request) are kept inside ``error``.
_OPENAI_ONLY = frozenset({"message", "type", "param", "code"})


def _domain_error(request: Request, exc: FakeAIError) -> Response:
    if exc.status_code >= 500 and "x-fakeai-fault" not in exc.headers:  # an injected fault is no failure of ours
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return _answer(request, exc.status_code, exc.to_dict(), exc.headers or None)


def _http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    error_type, code = _HTTP_CODES.get(status, ("invalid_request_error" if status < 500 else "server_error", None))
    if status == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
    elif status == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}."
    elif status == 413:
        message = "Request body too large."
    else:
        message = exc.detail or "Bad request"
    param = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict):
            param = first.get("key")
            message = f"{message}: {first.get('message', '')}".rstrip(": ")
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    headers = {"allow": ", ".join(sorted(exc.headers.get("allow", "").split(", ")))} if exc.headers else None
    return _answer(request, status, body, headers if headers and headers["allow"] else None)


def _unexpected(request: Request, exc: Exception) -> Response:
    from fakeai.store.faults import is_unavailable  # not store.engine: that would import SQLAlchemy

    if is_unavailable(exc):
        # The database is down or restarting: a retryable 503 (the SDKs retry on it), not a bug.
        log.warning("%s %s: database unavailable: %s", request.method, request.url.path, _one_line(exc))
        return _domain_error(request, StoreUnavailableError())
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    body = {
        "error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }
    return _answer(request, 500, body)


EXCEPTION_HANDLERS = {FakeAIError: _domain_error, HTTPException: _http_error, Exception: _unexpected}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
