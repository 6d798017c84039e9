"""``GET /health`` and ``GET /metrics``."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["Health", "MetricsQuery"]


class Health(msgspec.Struct, kw_only=True):
    status: str = "healthy"
    timestamp: str  # ISO-8601, local time, microseconds


class MetricsQuery(msgspec.Struct, kw_only=True):
    """``?format=`` picks the Prometheus text instead of JSON (as ``Accept: text/plain`` does)."""

    format: Literal["json", "prometheus", "text", "openmetrics"] | None = None
