"""The two crossings between Litestar and the modes: a request becomes an ``Exchange``, a
``Reply`` becomes a response (streams timed for metrics on the way out)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.response import Stream

from fakeai.errors import PayloadTooLargeError
from fakeai.metrics import Metrics
from fakeai.modes.base import Body, EventStream, Exchange, Reply
from fakeai.runtime import Runtime

__all__ = ["endpoint_of", "read_exchange", "runtime_of", "to_response"]

STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def runtime_of(connection: ASGIConnection) -> Runtime:
    return connection.scope["app"].state.runtime


def endpoint_of(connection: ASGIConnection) -> str:
    """The metrics key: the route's template (so ids don't grow the key set)."""
    return connection.scope.get("path_template") or "unmatched"


def _base_url(request: Request) -> str:
    host = request.headers.get("host")
    if not host:
        server = request.scope.get("server") or ("127.0.0.1", 8000)
        host = f"{server[0]}:{server[1]}"
    return f"{request.scope.get('scheme', 'http')}://{host}"


async def read_exchange(request: Request, *, limit: int | None = None) -> Exchange:
    """Read the whole body (bounded) and capture the request as it came."""
    started = time.perf_counter()
    request.scope["fakeai_started"] = started  # type: ignore[typeddict-unknown-key]
    body = await request.body()
    if limit is not None and len(body) > limit:
        raise PayloadTooLargeError(f"Request body of {len(body)} bytes exceeds the limit of {limit} bytes.")
    query = request.scope.get("query_string", b"")
    return Exchange(
        method=request.method,
        path=request.scope["path"],
        query=list(request.query_params.multi_items()) if query else [],
        headers=dict(request.headers),
        body=body,
        base_url=_base_url(request),
        started=started,
        endpoint=endpoint_of(request),
    )


async def _timed(events: AsyncIterator[bytes], reply: EventStream, metrics: Metrics, endpoint: str, started: float):
    first = last = 0.0
    count = 0
    try:
        async for event in events:
            yield event
            if not count:
                first = time.perf_counter()
            count += 1  # one clock read per stream, not per event: this loop is the per-token hot path
    finally:
        last = time.perf_counter()
        if count:
            metrics.observe(endpoint, last - started, reply.status)
            metrics.observe_stream(endpoint, first - started, last - started, reply.stats.tokens, count)


def to_response(request: Request, reply: Reply) -> Response:
    runtime = runtime_of(request)
    endpoint = endpoint_of(request)
    started = request.scope.get("fakeai_started") or time.perf_counter()
    if isinstance(reply, Body):
        runtime.metrics.observe(endpoint, time.perf_counter() - started, reply.status, reply.tokens)
        # The content type goes in as a header: Litestar would append a second "; charset=" to a
        # text/* media type that already carries one (as replayed upstream answers do).
        return Response(
            content=reply.content,
            status_code=reply.status,
            media_type=reply.media_type,
            headers={"content-type": reply.media_type, **reply.headers},
        )
    headers = {**STREAM_HEADERS, "content-type": reply.media_type, **reply.headers}
    return Stream(
        content=_timed(reply.events, reply, runtime.metrics, endpoint, started),
        status_code=reply.status,
        media_type=reply.media_type,
        headers=headers,
    )
