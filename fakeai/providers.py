"""Which provider's wire a request speaks, and Anthropic's error shape.

FakeAI serves two providers side by side: OpenAI (every route, the default) and Anthropic (the
Messages API, and any ``/v1`` request carrying ``anthropic-version``, which the ``anthropic`` SDK sends
on every call). The provider decides the error shape, the upstream a recorder forwards to and the
key header it sends; everything below (planners, tokenizer, prompt cache, clock, cassettes) is shared.

``render_anthropic_error`` is the one function that renders an Anthropic error body: the HTTP error
handlers, the recorder's stream error event and the edge layer (faults, rate limits) all use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = [
    "ANTHROPIC_MATCHED_HEADERS",
    "ANTHROPIC_PATH",
    "anthropic_error_event",
    "anthropic_error_type",
    "is_anthropic",
    "render_anthropic_error",
]

ANTHROPIC_PATH = "/v1/messages"  # /v1/messages, /v1/messages/count_tokens, /v1/messages/batches...
ANTHROPIC_VERSION = "anthropic-version"
# Request headers that change an Anthropic answer, so they are part of the cassette key.
ANTHROPIC_MATCHED_HEADERS = ("anthropic-beta", "anthropic-version")

# Anthropic's documented status → error type (https://docs.anthropic.com/en/api/errors).
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_encode = msgspec.json.Encoder().encode


def is_anthropic(path: str, headers: Mapping[str, str]) -> bool:
    """True for Anthropic's routes and for any request an Anthropic client sent (``headers`` lower-cased)."""
    return path.startswith(ANTHROPIC_PATH) or ANTHROPIC_VERSION in headers


def anthropic_error_type(status: int) -> str:
    known = _TYPES.get(status)
    if known is not None:
        return known
    return "invalid_request_error" if status < 500 else "api_error"


def render_anthropic_error(
    status: int,
    message: str,
    error_type: str | None = None,
    *,
    request_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """``{"type": "error", "error": {"type", "message"}, "request_id"}`` as bytes; ``error_type``
    defaults to the one Anthropic uses for ``status`` (400 invalid_request_error, 401
    authentication_error, 403 permission_error, 404 not_found_error, 413 request_too_large, 429
    rate_limit_error, 500 api_error, 529 overloaded_error). ``extra`` keys go inside ``error``."""
    error: dict[str, Any] = {"type": error_type or anthropic_error_type(status), "message": message}
    if extra:
        error.update(extra)
    body: dict[str, Any] = {"type": "error", "error": error}
    if request_id is not None:
        body["request_id"] = request_id
    return _encode(body)


def anthropic_error_event(message: str, error_type: str = "api_error") -> bytes:
    """An error in the middle of an Anthropic stream (``event: error``), as the API sends it."""
    return b"event: error\ndata: " + render_anthropic_error(500, message, error_type) + b"\n\n"
