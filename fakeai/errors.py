"""The domain errors, each carrying the OpenAI error it becomes.

Every layer raises these; only ``fakeai.api.errors`` turns them into HTTP answers, so the
status, ``type`` and ``code`` of an error are decided here, once::

    FakeAIError                      500 server_error
    ├── InvalidRequestError          400 invalid_request_error   (param names the field)
    │   ├── PayloadTooLargeError     413 invalid_request_error   request_too_large
    │   └── JSONTooDeepError         400 invalid_request_error   (JSON nested past the decoder's limit)
    ├── AuthenticationError          401 invalid_request_error   invalid_api_key
    ├── PermissionDeniedError        403 invalid_request_error
    ├── NotFoundError                404 invalid_request_error   not_found
    │   ├── ModelNotFoundError       404                         model_not_found
    │   └── CassetteNotFoundError    404                         cassette_not_found
    ├── MethodNotAllowedError        405 invalid_request_error   method_not_allowed
    ├── ConflictError                409 invalid_request_error
    ├── RateLimitError               429 requests | tokens       rate_limit_exceeded (engine queue: rate_limit_error)
    ├── InsufficientQuotaError       429 insufficient_quota      insufficient_quota
    ├── OverloadedError              503 server_error            (Anthropic: 529 overloaded_error)
    ├── NotImplementedYetError       501 server_error            not_implemented
    ├── StoreUnavailableError        503 server_error            database_unavailable (retry-after)
    └── UpstreamError                502 upstream_error          bad_gateway
        └── UpstreamTimeoutError     504 upstream_error          gateway_timeout

``ConnectionDropped`` is not an answer: it asks the HTTP layer to close the connection without one
(or in the middle of one), as an injected fault does.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "CassetteNotFoundError",
    "ConflictError",
    "ConnectionDropped",
    "InsufficientQuotaError",
    "OverloadedError",
    "RateLimitError",
    "FakeAIError",
    "InvalidRequestError",
    "JSONTooDeepError",
    "MethodNotAllowedError",
    "ModelNotFoundError",
    "NotFoundError",
    "NotImplementedYetError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "StoreUnavailableError",
    "UpstreamError",
    "UpstreamTimeoutError",
]


class FakeAIError(Exception):
    status_code: int = 500
    error_type: str = "server_error"
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers = headers or {}
        # Extra keys merged into the error object (e.g. the nearest cassette on a miss).
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "param": self.param,
            "code": self.code,
        }
        error.update(self.extra)
        return {"error": error}


class InvalidRequestError(FakeAIError):
    status_code = 400
    error_type = "invalid_request_error"


class JSONTooDeepError(InvalidRequestError):
    """Objects or arrays nested past what the decoder (Python's recursion limit) reads: the client's 400.

    Raised wherever a request's JSON is read or walked (decoding, the cassette key), from the
    ``RecursionError`` that depth causes, so no such body ever becomes a 500.
    """

    def __init__(self, what: str = "the JSON body of your request", param: str | None = None) -> None:
        super().__init__(
            f"We could not parse {what}: objects or arrays are nested too deeply "
            "(a few hundred levels at most).",
            param=param,
        )


class PayloadTooLargeError(InvalidRequestError):
    status_code = 413
    default_code = "request_too_large"


class AuthenticationError(FakeAIError):
    status_code = 401
    error_type = "invalid_request_error"
    default_code = "invalid_api_key"


class PermissionDeniedError(FakeAIError):
    status_code = 403
    error_type = "invalid_request_error"


class NotFoundError(FakeAIError):
    status_code = 404
    error_type = "invalid_request_error"
    default_code = "not_found"


class ModelNotFoundError(NotFoundError):
    default_code = "model_not_found"


class CassetteNotFoundError(NotFoundError):
    default_code = "cassette_not_found"


class MethodNotAllowedError(FakeAIError):
    status_code = 405
    error_type = "invalid_request_error"
    default_code = "method_not_allowed"


class ConflictError(FakeAIError):
    status_code = 409
    error_type = "invalid_request_error"


class NotImplementedYetError(FakeAIError):
    status_code = 501
    default_code = "not_implemented"


class UpstreamError(FakeAIError):
    status_code = 502
    error_type = "upstream_error"
    default_code = "bad_gateway"


class UpstreamTimeoutError(UpstreamError):
    status_code = 504
    default_code = "gateway_timeout"


class StoreUnavailableError(FakeAIError):
    """The database cannot be reached (refused, restarting, out of connections): retry shortly."""

    status_code = 503
    error_type = "server_error"
    default_code = "database_unavailable"
    retry_after_seconds = 1

    def __init__(self, message: str = "The database is unavailable; retry shortly.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("retry-after", str(self.retry_after_seconds))
        self.headers.setdefault("x-should-retry", "true")


class RateLimitError(FakeAIError):
    """Over a rate limit. ``kind`` is OpenAI's ``type`` (requests | tokens); ``limit`` names what was
    hit for metrics (requests, tokens, too_large, injected)."""

    status_code = 429
    default_code = "rate_limit_exceeded"

    def __init__(self, message: str, *, kind: str = "rate_limit_error", limit: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.error_type = kind  # the edge's limits say requests | tokens, as OpenAI does; the engine's queue does not
        self.limit = limit or kind


class InsufficientQuotaError(FakeAIError):
    status_code = 429
    error_type = "insufficient_quota"
    default_code = "insufficient_quota"
    limit = "quota"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(
            message
            or "You exceeded your current quota, please check your plan and billing details. For more information "
            "on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            **kwargs,
        )
        self.headers.setdefault("x-should-retry", "false")  # waiting cannot help


class OverloadedError(FakeAIError):
    status_code = 503
    error_type = "server_error"
    default_code = None


class ConnectionDropped(Exception):
    """Close the client's connection now, without (the rest of) an answer."""
