"""An httpx transport for the recorder: HTTP/1.1 on asyncio, responses parsed by httptools.

Why not httpx's default transport (httpcore over anyio, h11 in pure Python): forwarding one small
chat request through it cost ~2 ms of CPU on the development VM, against ~0.4 ms for the same
exchange over a plain asyncio connection, and recording is meant to add under a millisecond.
httpx itself stays the client above this: request building, content decoding (gzip), the
``httpx.Response`` the recorder reads, the exception tree the upstream layer maps to 502/504.

Scope: what an upstream of FakeAI speaks. HTTP/1.1, plain or TLS (verified with httpx's own SSL
context), keep-alive with a pool of idle connections per origin, bodies by Content-Length, chunked,
or read until the connection closes. Not: proxies (the client has ``trust_env=False``), HTTP/2,
upgrades, ``Expect: 100-continue``. Deadlines are the caller's (``asyncio.timeout_at`` in
``fakeai.modes.upstream``); only connecting honours httpx's connect timeout here.

Errors raised (all ``httpx.TransportError``)::

    ConnectError / ConnectTimeout    could not open the connection
    RemoteProtocolError              not HTTP, or the connection ended before the whole response
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any

import httptools
import httpx

__all__ = ["AsyncioTransport"]

_HIGH_WATER = 1 << 20  # body bytes buffered before the socket stops being read (the reader is slow)
_LOW_WATER = 1 << 16
_NO_BODY_STATUS = frozenset({204, 304})


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: the socket's protocol and the httptools parser's callbacks at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future | None = None
        self._paused = False
        self.expect_body = True
        self._begin()

    def _begin(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.until_close = False  # a body with neither length nor chunking ends with the connection
        self.got_bytes = False
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.error: str | None = None  # a RemoteProtocolError's message
        self._informational = False  # inside a 1xx response (skipped: the real one follows)

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = f"invalid HTTP response from the upstream: {exc}"
            self.close()
        if self.buffered > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        return None  # close the transport (connection_lost follows)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete and self.error is None:
            if self.head_done and self.until_close:
                self.complete = True
            elif self.head_done or self.got_bytes:
                self.error = "the upstream closed the connection before the whole response was sent"
            else:
                self.error = "the upstream closed the connection without sending a response"
        self._wake()

    # -- httptools callbacks ----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            self.headers = []
            self._informational = True
            return
        self.status = status
        self.head_done = True
        if not self.expect_body:
            # A HEAD answer: nothing follows, though its headers may give a length the parser
            # would then wait for; the connection is not reused.
            self.complete = True
            return
        framed = any(n.lower() in (b"content-length", b"transfer-encoding") for n, _ in self.headers)
        self.until_close = not framed and status not in _NO_BODY_STATUS

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self.keep_alive = self.expect_body and self.parser.should_keep_alive()

    # -- used by the transport --------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until more of the response arrives or the connection ends."""
        self._waiter = self.loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def take(self) -> bytes | None:
        if not self.chunks:
            return None
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self._paused and self.buffered < _LOW_WATER and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and not self.chunks and self.error is None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Body(httpx.AsyncByteStream):
    """A response body as it arrives; the connection goes back to the pool once it is read whole."""

    def __init__(self, owner: AsyncioTransport, origin: tuple, conn: _Connection, request: httpx.Request) -> None:
        self._owner, self._origin, self._conn, self._request = owner, origin, conn, request
        self._closed = False

    async def __aiter__(self):  # noqa: ANN204
        conn = self._conn
        while True:
            chunk = conn.take()
            if chunk is not None:
                yield chunk
                continue
            if conn.complete:
                return
            if conn.error is not None:
                raise httpx.RemoteProtocolError(conn.error, request=self._request)
            await conn.wait()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._conn.reusable():
            self._owner._release(self._origin, self._conn)
        else:
            self._conn.close()


class AsyncioTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_idle_per_origin: int = 200, keepalive_expiry: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        """``ssl_context``: how https upstreams are verified (default: httpx's, the certifi CAs)."""
        self._idle: dict[tuple, deque[_Connection]] = {}
        self._max_idle = max_idle_per_origin
        self._expiry = keepalive_expiry
        self._ssl = ssl_context
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        tls = url.scheme == "https"
        origin = (url.scheme, url.host, url.port or (443 if tls else 80))
        body = await request.aread()
        head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
        head += [b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw]
        if body and "content-length" not in request.headers:
            head.append(b"content-length: %d\r\n" % len(body))
        head.append(b"\r\n")
        message = b"".join(head) + body
        for attempt in range(2):
            conn = self._take(origin)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, request)
            conn.expect_body = request.method != "HEAD"
            try:
                conn.transport.write(message)  # type: ignore[union-attr]
                while not conn.head_done:
                    if conn.error is not None:
                        raise httpx.RemoteProtocolError(conn.error, request=request)
                    await conn.wait()
            except httpx.RemoteProtocolError:
                conn.close()
                # A kept-alive connection the upstream closed while idle: nothing was answered,
                # so the request was not seen; send it once more on a new connection.
                if reused and attempt == 0 and not conn.got_bytes:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            return httpx.Response(
                conn.status,
                headers=conn.headers,
                stream=_Body(self, origin, conn, request),
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": b""},
                request=request,
            )
        raise AssertionError("unreachable")

    def _take(self, origin: tuple) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self._expiry:
                conn._begin()
                return conn
            conn.close()
        return None

    def _release(self, origin: tuple, conn: _Connection) -> None:
        idle = self._idle.setdefault(origin, deque())
        if self._closed or len(idle) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        idle.append(conn)

    async def _connect(self, origin: tuple, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        conn = _Connection(loop)
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context(trust_env=False)
                self._ssl.set_alpn_protocols(["http/1.1"])
            context = self._ssl
        timeout: Any = request.extensions.get("timeout", {}).get("connect")
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(lambda: conn, host, port, ssl=context,
                                             server_hostname=host if context else None)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc),
                                     request=request) from None
        return conn

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
