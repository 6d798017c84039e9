"""Liveness and metrics; no key needed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, get

from fakeai.api.openapi import documented
from fakeai.api.replies import runtime_of
from fakeai.metrics import PROMETHEUS_CONTENT_TYPE
from fakeai.schemas import encode_json
from fakeai.schemas.health import Health, MetricsQuery

__all__ = ["health", "metrics", "prometheus_metrics"]

PROMETHEUS = PROMETHEUS_CONTENT_TYPE


@get("/health", sync_to_thread=False, **documented("Server", "Liveness", ok=Health, security=()))
def health() -> Response:
    body = Health(timestamp=datetime.now().isoformat(timespec="microseconds"))
    return Response(content=encode_json(body), media_type="application/json")


def _wants_prometheus(request: Request) -> bool:
    fmt = request.query_params.get("format")
    if fmt:
        return fmt.lower() in ("prometheus", "text", "openmetrics")
    accept = request.headers.get("accept", "")
    # Prometheus scrapers ask for text/plain or application/openmetrics-text; browsers and
    # JSON clients ask for application/json or */*.
    return ("text/plain" in accept or "openmetrics" in accept) and "application/json" not in accept


def _prometheus(request: Request) -> Response:
    return Response(content=runtime_of(request).metrics.to_prometheus(), media_type=PROMETHEUS)


@get(
    "/metrics",
    sync_to_thread=False,
    **documented(
        "Server",
        "Metrics (JSON, or Prometheus text for Accept: text/plain)",
        query=MetricsQuery,
        ok=dict[str, Any],
        ok_text="Prometheus text exposition format.",
        security=(),
    ),
)
def metrics(request: Request) -> Response:
    if _wants_prometheus(request):
        return _prometheus(request)
    return Response(content=encode_json(runtime_of(request).metrics.to_json()), media_type="application/json")


@get(
    "/prometheus/metrics",
    sync_to_thread=False,
    **documented("Server", "Metrics (Prometheus text)", ok_media="text/plain", security=()),
)
def prometheus_metrics(request: Request) -> Response:
    return _prometheus(request)
