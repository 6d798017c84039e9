"""The upstream a recording FakeAI forwards to: httpx requests and responses over one pooled
asyncio transport per worker (``fakeai.modes.upstream_transport``; httpcore cost ~2 ms a request).

``Upstream.open`` sends a request and returns as soon as the upstream's status and headers are
in; the body is then read whole (``read_body``) or event by event (``sse_events``) as it arrives.
Connection failures become 502 and timeouts 504 (``fakeai.errors``), so a client always gets an
OpenAI-shaped answer.

``--upstream-timeout`` is a deadline, not httpx's per-read timeout (which an upstream trickling a
byte at a time never trips): status and headers, and a whole answer's body, must all arrive within
that many seconds of the request; a stream must deliver each complete event within that many
seconds of the previous one (an idle limit, so a long stream that keeps talking is never cut).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx

from fakeai.errors import UpstreamError, UpstreamTimeoutError
from fakeai.modes.base import Exchange
from fakeai.modes.upstream_transport import AsyncioTransport

__all__ = ["KEPT_RESPONSE_HEADERS", "SSESplitter", "Upstream", "UpstreamDropped", "kept_headers", "sse_events"]

# Response headers worth replaying; everything else (cookies, dates, servers, connection
# management, rate-limit state of someone's account) is left out of cassettes.
KEPT_RESPONSE_HEADERS = (
    "content-type",
    "x-request-id",
    "request-id",
    "openai-processing-ms",
    "openai-version",
    "openai-model",
    "x-should-retry",
    "retry-after",
)

# Request headers never forwarded: connection management (httpx sets its own), and encodings we
# pick ourselves so bodies arrive in a form we can store decoded.
_HOP_BY_HOP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "accept-encoding",
        "cookie",
        # FakeAI's own fault controls (the edge removes them when it runs; never the upstream's business)
        "x-fakeai-fault",
        "x-fakeai-fault-after",
        "x-fakeai-fault-attempts",
    }
)
_AUTH = frozenset({"authorization", "api-key", "x-api-key"})
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


class UpstreamDropped(Exception):
    """The upstream stopped in the middle of an answer (connection lost, timed out, truncated)."""


def kept_headers(headers: httpx.Headers) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_RESPONSE_HEADERS if name in headers}


def public_url(url: str) -> str:
    """The upstream URL without any user:password part (what a cassette may name)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Upstream:
    def __init__(self, base_url: str, *, api_key: str | None, timeout: float, key_header: str = "authorization") -> None:
        """``key_header``: how ``api_key`` (when set) is sent: ``authorization`` (Bearer, OpenAI) or
        ``x-api-key`` (Anthropic). Without ``api_key`` the client's own key headers are forwarded."""
        self.key_header = key_header
        self.base_url = base_url.rstrip("/")
        self.public_url = public_url(self.base_url)
        # "https://api.openai.com/v1" already carries the version prefix our paths start with.
        self._strip_v1 = self.base_url.endswith("/v1")
        self.api_key = api_key
        self.timeout = timeout
        # httpx's Request and Response, sent straight through the transport: AsyncClient.send's
        # layers (auth flow, redirects, cookie jar, URL and header merging) were a third of a
        # recording's CPU, and a recorder wants none of them (no redirects followed, no cookies).
        self.transport = AsyncioTransport(max_idle_per_origin=200, keepalive_expiry=30)
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._urls: dict[str, httpx.URL] = {}  # path -> parsed URL (a server sees a handful of paths)

    async def close(self) -> None:
        await self.transport.aclose()

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(self.url_for(path))
            if len(self._urls) < 1024:  # bounded: paths with ids in them are many
                self._urls[path] = url
        return url

    def url_for(self, path: str) -> str:
        """``https://api.openai.com/v1`` + ``/v1/models`` → ``.../v1/models``; routes outside /v1
        (``/v2/rerank``, ``/rerank``) go beside the base's /v1, not under it."""
        if self._strip_v1:
            if path == "/v1" or path.startswith("/v1/"):
                return self.base_url + path[3:]
            return self.base_url[:-3] + path
        return self.base_url + path

    def request_headers(self, exchange: Exchange) -> dict[str, str]:
        headers = {k: v for k, v in exchange.headers.items() if k not in _HOP_BY_HOP}
        if self.api_key:
            for name in _AUTH:
                headers.pop(name, None)
            if self.key_header == "x-api-key":
                headers["x-api-key"] = self.api_key
            else:
                headers["authorization"] = f"Bearer {self.api_key}"
        # Only encodings httpx decodes without optional packages, so stored bodies are plain.
        headers["accept-encoding"] = "gzip, identity"
        return headers

    def deadline(self) -> float:
        """When a request sent now must have its status, headers (and a whole body) in."""
        return asyncio.get_running_loop().time() + self.timeout

    async def open(self, exchange: Exchange, deadline: float) -> httpx.Response:
        """Send the request; return once status and headers are in (body not read yet)."""
        url = self._url(exchange.path)
        if exchange.query:
            url = url.copy_merge_params(exchange.query)
        request = httpx.Request(exchange.method, url, headers=self.request_headers(exchange),
                                content=exchange.body or None, extensions={"timeout": self._timeouts})
        try:
            async with asyncio.timeout_at(deadline):
                return await self.transport.handle_async_request(request)
        except (httpx.TimeoutException, TimeoutError):
            raise UpstreamTimeoutError(
                f"The upstream ({self.public_url}) did not answer within {self.timeout:g} seconds."
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"The upstream ({self.public_url}) could not be reached: {_reason(exc)}") from None

    async def read_body(self, response: httpx.Response, deadline: float) -> bytes:
        """The whole decoded body by the deadline; raises 502/504 if the upstream fails half-way."""
        try:
            async with asyncio.timeout_at(deadline):
                return await response.aread()
        except (httpx.TimeoutException, TimeoutError):
            raise UpstreamTimeoutError(
                f"The upstream ({self.public_url}) did not finish its answer within {self.timeout:g} seconds."
            ) from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"The upstream ({self.public_url}) failed mid-answer: {_reason(exc)}") from None
        finally:
            await response.aclose()


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


class SSESplitter:
    """Cuts a byte stream into whole SSE events (terminator included) as chunks arrive.

    Incremental: each chunk is scanned once (plus the three bytes before it, where a terminator may
    straddle two chunks), so one very large event costs linear time, not a rescan per chunk."""

    __slots__ = ("_buffer", "_scanned")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already searched for a terminator

    def feed(self, chunk: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += chunk
        events: list[bytes] = []
        start = 0
        position = max(self._scanned - 3, 0)
        while (match := _EVENT_END.search(buffer, position)) is not None:
            events.append(bytes(buffer[start : match.end()]))
            start = position = match.end()
        if start:
            del buffer[:start]
        self._scanned = len(buffer)
        return events

    @property
    def pending(self) -> bytes:
        """What arrived after the last whole event."""
        return bytes(self._buffer)


async def sse_events(response: httpx.Response, idle: float | None = None) -> AsyncIterator[bytes]:
    """Each SSE event of ``response`` as soon as its terminating blank line arrives, as the exact
    bytes the upstream sent (terminator included). Raises ``UpstreamDropped`` if the stream breaks
    off — including ending in the middle of an event, which only a truncated stream does — or, with
    ``idle``, when no whole event arrives for that many seconds (bytes trickling in do not count)."""
    splitter = SSESplitter()
    loop = asyncio.get_running_loop()
    chunks = response.aiter_bytes()
    next_event_by = loop.time() + idle if idle is not None else None
    try:
        while True:
            try:
                async with asyncio.timeout_at(next_event_by):
                    chunk = await anext(chunks, None)
            except TimeoutError:
                raise UpstreamDropped(f"the upstream sent no whole event for {idle:g} seconds") from None
            if chunk is None:
                break
            events = splitter.feed(chunk)
            if events and idle is not None:
                next_event_by = loop.time() + idle
            for event in events:
                yield event
    except httpx.TimeoutException as exc:
        raise UpstreamDropped("the upstream stopped sending events (timeout)") from exc
    except httpx.HTTPError as exc:
        raise UpstreamDropped(f"the upstream stream broke off: {_reason(exc)}") from exc
    finally:
        await chunks.aclose()
    if splitter.pending.strip():
        raise UpstreamDropped("the upstream stream ended in the middle of an event")
