"""The error body every OpenAI-compatible route answers with (``fakeai.errors`` builds it); here so
the OpenAPI document can describe it like any other answer."""

from __future__ import annotations

import msgspec

__all__ = ["ErrorDetail", "ErrorResponse"]


class ErrorDetail(msgspec.Struct, kw_only=True):
    message: str
    type: str  # invalid_request_error | rate_limit_error | server_error | upstream_error | ...
    param: str | None
    code: str | None


class ErrorResponse(msgspec.Struct, kw_only=True):
    """``{"error": {"message", "type", "param", "code"}}``; a replay miss adds keys to ``error``."""

    error: ErrorDetail
