"""The two crossings between Litestar and the modes: a request becomes an ``Exchange``, a
``Reply`` becomes a response (streams timed for metrics on the way out)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import InternalServerException

from fakeai.api.protocol import LEFT_KEY
from fakeai.edge import FAULT_HEADER
from fakeai.edge.faults import TruncatedBody
from fakeai.errors import ConnectionDropped, PayloadTooLargeError
from fakeai.metrics import Metrics
from fakeai.modes.base import Body, EventStream, Exchange, Reply
from fakeai.modes.engine import ARRIVAL, EngineStream
from fakeai.modes.synthetic import SyntheticContext
from fakeai.runtime import Runtime
from fakeai.schemas import decode_json

__all__ = ["answer", "answer_json", "endpoint_of", "read_exchange", "runtime_of", "to_response"]

STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def runtime_of(connection: ASGIConnection) -> Runtime:
    return connection.scope["fakeai_runtime"]  # put there by the app's outermost wrapper (app.py)


def endpoint_of(connection: ASGIConnection) -> str:
    """The metrics key: the route's template (so ids don't grow the key set)."""
    return connection.scope.get("path_template") or "unmatched"


def _base_url(scope: dict, headers: dict[str, str]) -> str:
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 8000)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


def raw_headers(scope: dict) -> dict[str, str]:
    """The request headers as a plain dict with lower-case names (ASGI already lower-cases them);
    a repeated header keeps its last value. Several times cheaper than Litestar's Headers."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def _receive_body(request: Request, limit: int) -> bytes:
    """The body straight from ASGI ``receive``, refused past ``limit`` bytes. Litestar's
    ``request.body()`` builds a ``Headers`` object and an async generator first: a few microseconds
    of a small JSON request's budget, for checks this one makes itself."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")  # what Litestar raises
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(f"Request body exceeds the limit of {limit} bytes.")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_exchange(request: Request, *, limit: int | None = None) -> Exchange:
    """Read the whole body (bounded) and capture the request as it came."""
    scope = request.scope
    started = scope["fakeai_started"]  # the arrival time, set by the app's outermost wrapper
    ARRIVAL.set(started)  # the engine clock counts queue time and TTFT from it (same task as the answer)
    if limit is None:
        body = await request.body()
    else:
        body = await _receive_body(request, limit)
    query = scope.get("query_string", b"")
    headers = raw_headers(scope)
    return Exchange(
        method=request.method,
        path=request.scope["path"],
        query=list(request.query_params.multi_items()) if query else [],
        headers=headers,
        body=body,
        base_url=_base_url(scope, headers),
        started=started,
        endpoint=endpoint_of(request),
    )


def drop_connection(scope: dict) -> None:
    """Close the client's connection now, mid-answer or before one (an injected fault).

    uvicorn's ``send`` is a method of its request cycle, which holds the transport; marking the
    cycle disconnected makes Litestar's later sends no-ops and keeps uvicorn from answering 500 in
    our place. Outside uvicorn (an in-process test client) there is no connection to close: the
    exception goes up to the test transport, which is the nearest thing to a dropped connection.
    """
    cycle = getattr(scope.get("fakeai_send"), "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionDropped("no connection to drop outside uvicorn")
    cycle.disconnected = True  # type: ignore[union-attr]
    transport.close()


class DropResponse(Response):
    """No answer at all: the connection closes (after ``partial`` bytes of a whole answer, if any)."""

    __slots__ = ("_start", "_partial")

    def __init__(self, start: dict | None = None, partial: bytes = b"") -> None:  # noqa: D107
        self._start = start
        self._partial = partial

    def to_asgi_response(self, *args: object, **kwargs: object) -> DropResponse:  # type: ignore[override]
        return self

    async def __call__(self, scope: dict, receive: object, send) -> None:  # noqa: ANN001
        if self._start is not None:
            await send(self._start)
            await send({"type": "http.response.body", "body": self._partial, "more_body": True})
        drop_connection(scope)


class _ChunkWriter:
    """One event as one HTTP/1.1 chunk, written straight to uvicorn's transport (``EngineStream.push``).

    Frames exactly as uvicorn's ``send`` does, so its final ``send`` (the closing chunk) finds the
    connection as it left it. Writes do not wait for the client to read: a step never blocks on one slow
    stream, and what one stream can have buffered is bounded by its answer. After the client left,
    writes are dropped, as uvicorn's ``send`` drops them.
    """

    __slots__ = ("_cycle", "_write", "count", "first")

    def __init__(self, cycle: Any) -> None:
        self._cycle = cycle
        self._write = cycle.transport.write
        self.count = 0
        self.first = 0.0

    @classmethod
    def of(cls, cycle: Any) -> _ChunkWriter | None:
        """For uvicorn's httptools cycle whose answer is chunked (the headers are out); else None."""
        if getattr(cycle, "chunked_encoding", None) is not True or getattr(cycle, "transport", None) is None:
            return None
        return cls(cycle)

    def __call__(self, event: bytes) -> None:
        if self._cycle.disconnected:
            return
        self._write(b"%x\r\n%b\r\n" % (len(event), event))
        if not self.count:
            self.first = time.perf_counter()
        self.count += 1


class EventStreamResponse(Response):
    """A stream of events as a bare ASGI app (``BodyResponse``'s streaming twin), timed for metrics.

    Litestar's ``Stream`` runs the body in an anyio task group beside a disconnect listener and wraps
    every event in its own send; at a few hundred concurrent streams that per-stream machinery and
    per-event hop were a tenth of the worker's CPU. Here the events are sent from the request's own
    task, through the server's raw ``send`` once the headers are out (nothing after the start message
    needs app.py's wrapper), and a plain asyncio task listens for the client leaving: it cancels the
    request's task, so the encoder's and the engine's ``finally`` blocks run (an abort), as before.
    """

    __slots__ = ("_start", "_reply", "_metrics", "_endpoint", "_started")

    def __init__(self, reply: EventStream, headers: dict[str, str], metrics: Metrics, endpoint: str,
                 started: float) -> None:  # noqa: D107
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self._start = {"type": "http.response.start", "status": reply.status, "headers": raw}
        self._reply, self._metrics, self._endpoint, self._started = reply, metrics, endpoint, started

    def to_asgi_response(self, *args: object, **kwargs: object) -> EventStreamResponse:  # type: ignore[override]
        return self

    async def __call__(self, scope: dict, receive, send) -> None:  # noqa: ANN001
        task = asyncio.current_task()
        left = False

        def client_left() -> None:
            nonlocal left
            left = True
            task.cancel()  # type: ignore[union-attr]

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            client_left()

        raw_send = scope.get("fakeai_send") or send
        cycle = getattr(raw_send, "__self__", None)  # uvicorn's request cycle, whose send this is
        listener = None
        if LEFT_KEY in scope and not getattr(cycle, "disconnected", True):
            scope[LEFT_KEY] = client_left  # our uvicorn protocol calls it when the connection is lost
        else:  # another server (or already gone): wait for ASGI's disconnect message instead
            listener = asyncio.get_running_loop().create_task(listen())
        events = self._reply.events
        first = 0.0
        count = 0
        try:
            await send(self._start)
            writer = _ChunkWriter.of(cycle) if type(events) is EngineStream and events.pushable else None
            if writer is not None:  # the engine's step writes the tokens (see EngineStream)
                try:
                    await events.push(writer)
                finally:
                    count, first = writer.count, writer.first
            else:
                async for event in events:
                    await raw_send({"type": "http.response.body", "body": event, "more_body": True})
                    if not count:
                        first = time.perf_counter()
                    count += 1  # one clock read per stream, not per event: this loop is the per-token hot path
            await raw_send({"type": "http.response.body", "body": b"", "more_body": False})
        except ConnectionDropped:  # a stream_cut fault: close the connection with no end of the stream
            drop_connection(scope)
        except asyncio.CancelledError:
            if not left:
                raise
            task.uncancel()  # type: ignore[union-attr] # the client left: the answer simply ends
            close = getattr(events, "aclose", None)
            if close is not None:  # left while a send waited: end the encoder now (the engine counts an abort)
                await close()
        finally:
            if listener is None:
                scope[LEFT_KEY] = None
            else:
                listener.cancel()
            if count:
                last = time.perf_counter() - self._started
                reply = self._reply
                self._metrics.observe(self._endpoint, last, reply.status)
                self._metrics.observe_stream(self._endpoint, first - self._started, last, reply.stats.tokens, count)


class BodyResponse(Response):
    """A whole answer as a bare ASGI app: two ``send`` calls and nothing else.

    A ``Response`` subclass only so handlers keep their ``-> Response`` annotation (Litestar then
    calls ``to_asgi_response``, which here returns the object itself). Building a Litestar
    ``Response`` and its ASGI twin cost ~30 us per request; this costs ~3.
    """

    __slots__ = ("_start", "_body")

    def __init__(self, content: bytes, status: int, media_type: str, headers: dict[str, str]) -> None:  # noqa: D107
        raw = [(b"content-type", media_type.encode("latin-1")), (b"content-length", str(len(content)).encode())]
        raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items() if k != "content-type"]
        self._start = {"type": "http.response.start", "status": status, "headers": raw}
        self._body = {"type": "http.response.body", "body": content}

    def to_asgi_response(self, *args: object, **kwargs: object) -> BodyResponse:  # type: ignore[override]
        return self

    async def __call__(self, scope: object, receive: object, send) -> None:  # noqa: ANN001
        await send(self._start)
        await send(self._body)


def to_response(request: Request, reply: Reply) -> Response:
    runtime = runtime_of(request)
    endpoint = endpoint_of(request)
    started = request.scope["fakeai_started"]
    if isinstance(reply, Body):
        runtime.metrics.observe(endpoint, time.perf_counter() - started, reply.status, reply.tokens)
        headers = reply.headers
        media_type = headers.get("content-type", reply.media_type)
        response = BodyResponse(reply.content, reply.status, media_type, headers)
        if isinstance(reply, TruncatedBody):  # a stream_cut fault on a whole answer
            return DropResponse(response._start, reply.content[: reply.cut_at])
        return response
    headers = {**STREAM_HEADERS, "content-type": reply.media_type, **reply.headers}  # a replayed type stays as sent
    return EventStreamResponse(reply, headers, runtime.metrics, endpoint, started)


Synthesize = Callable[[SyntheticContext, Exchange], Awaitable[Reply]]


async def answer(request: Request, synthesize: Synthesize | None, *, limit_body: bool = False) -> Response:
    """A controller's whole job: read the request, let the active mode answer (``synthesize`` is
    called only in synthetic mode, or on a replay miss with ``--on-miss synthetic``), respond."""
    runtime = runtime_of(request)
    exchange = await read_exchange(request, limit=runtime.settings.max_body_bytes if limit_body else None)
    thunk = None if synthesize is None else (lambda: synthesize(runtime.synthetic, exchange))
    edge = runtime.edge
    if edge.active or FAULT_HEADER in exchange.headers:  # rate limits and faults (fakeai/edge)
        try:
            reply = await edge.handle(exchange, thunk)
        except ConnectionDropped:  # a disconnect or timeout fault
            return DropResponse()
    else:
        reply = await runtime.dispatcher.handle(exchange, thunk)
    return to_response(request, reply)


async def answer_json(
    request: Request, decoder: msgspec.json.Decoder, create: Callable[[SyntheticContext, Any], Awaitable[Reply]]
) -> Response:
    """``answer`` for a JSON body: parsed (400 with ``param`` when invalid) only when synthesizing,
    since record and replay work on the raw bytes."""
    return await answer(
        request, lambda ctx, exchange: create(ctx, decode_json(exchange.body, decoder.type, decoder)), limit_body=True
    )
