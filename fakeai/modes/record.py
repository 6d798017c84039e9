"""Record mode: forward to the upstream, answer the client as the upstream answers, and store the
exchange — whole, or not at all.

A whole answer is read, returned, and stored while it goes out: the write (a thread hop and a
commit, ~0.4-0.6 ms) is not in the client's latency, which recording is meant to raise by under a
millisecond. The cassette is still written whole or not at all (one statement, one transaction).
Writes of one key run in the order their answers were given: the key's recording lock (the one
``--on-miss record`` uses, shared by the server's workers) is taken before the answer goes out and
released once the write commits, so an identical request answered later, by any worker, writes
after it and a sequence records its episodes in order. Shutdown waits for pending writes.
When a write fails (the database is down) the next answers wait for their write again, so clients
get the 503 and learn that nothing is being recorded, until a write succeeds.

A stream is relayed event by event as each event arrives (nothing is buffered for the client), with
each event's offset from the request's arrival kept; the cassette is written after the upstream's
last event, and only then does the client's stream end. A stream that breaks off gives the client an
SSE error event and stores nothing.

The upstream stream is read by a task of its own, started as soon as the upstream's headers are in,
so a client that leaves early (before the body starts, or as SDKs do right after ``data: [DONE]``,
before the upstream's end is seen) does not lose the recording: the answer is still read to its end,
the upstream response closed, and the cassette stored if the answer completes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING

from fakeai.modes.base import JSON, SSE_TYPE, Body, EventStream, Exchange, Reply, TaskSet
from fakeai.modes.keys import CanonicalRequest
from fakeai.modes.single_flight import RecordingLocks, ServerRecordingLocks
from fakeai.modes.upstream import Upstream, UpstreamDropped, kept_headers, sse_events
from fakeai.schemas import encode_json
from fakeai.store import cassettes as store

if TYPE_CHECKING:
    from fakeai.store import Database

__all__ = ["Recorder"]

log = logging.getLogger("fakeai.record")

Count = Callable[[str], None]  # count(outcome) for this request's endpoint
Done = Callable[[], None]  # told once when a recording is over


def _nothing() -> None:
    pass


async def _drain(queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
    while (event := await queue.get()) is not None:
        yield event


class Recorder:
    def __init__(
        self, upstream: Upstream, db: Database, *, record_errors: bool, error_event: Callable[[str], bytes] | None = None,
        locks: RecordingLocks | None = None,
    ) -> None:
        self.upstream = upstream
        self.locks = locks or ServerRecordingLocks(None)  # orders the writes of one key (see above)
        # How a broken-off stream tells the client, in its provider's framing (OpenAI's by default).
        self.error_event = error_event or _error_event
        self.db = db
        self.record_errors = record_errors
        self._pumps = TaskSet()
        self._store_failing = False  # the last write failed: answer only once stored (a 503 if it fails)

    async def forward(
        self, exchange: Exchange, request: CanonicalRequest, count: Count, on_recorded: Done | None = None,
        *, key_held: bool = False,
    ) -> Reply:
        """Answer ``exchange`` from the upstream and record it. Raises 502/504 before any byte.
        ``on_recorded`` is called once the recording is over (stored, or given up), also for a
        stream, whose recording ends after this returns. ``key_held``: the caller holds the key's
        recording lock until then (``--on-miss record``), so the write needs no ordering of its own."""
        done = on_recorded or _nothing
        try:
            deadline = self.upstream.deadline()
            try:
                response = await self.upstream.open(exchange, deadline)
            except Exception:
                count("upstream_errors")
                raise
            headers = kept_headers(response.headers)
            content_type = response.headers.get("content-type", "")
            store_it = response.status_code < 400 or self.record_errors
            if response.status_code >= 400:
                count("upstream_errors")
            if content_type.startswith(SSE_TYPE) and response.status_code < 400:
                queue: asyncio.Queue[bytes | None] = asyncio.Queue()
                # The pump starts now, not when the client first asks for a byte: a client that leaves
                # before the body starts would otherwise leave the upstream open and nothing recorded.
                self._track(self._pump(exchange, request, response, headers, store_it, count, queue, done),
                            exchange, request)
                return EventStream(
                    events=_drain(queue), status=response.status_code, media_type=content_type, headers=dict(headers)
                )
        except BaseException:
            done()
            raise
        try:
            body = await self.upstream.read_body(response, deadline)
        except Exception:
            count("upstream_errors")
            done()
            raise
        answer = Body(content=body, status=response.status_code, media_type=content_type or JSON, headers=dict(headers))
        if not store_it:
            done()
            return answer
        if not key_held:
            try:
                release = await self.locks.acquire(request.key)  # free unless a write of this key is pending
            except BaseException:
                done()
                raise
            done = _both(release, done)
        write = self._write(exchange, request, response.status_code, headers, body, count, done)
        if self._store_failing:
            await write  # answer only once stored: a 503 if this write fails too
        else:
            self._track(write, exchange, request)
        return answer

    async def _pump(self, exchange, request, response, headers, store_it, count, queue, done) -> None:  # noqa: ANN001, PLR0913
        # The upstream is read by its own task, not by the client's: an SDK closes the connection as
        # soon as it reads `data: [DONE]`, often before the upstream's end is seen, and a client may
        # leave before or during the stream. Either way the pump reads the answer to its end and
        # records it whole.
        events: list[tuple[float, bytes]] = []
        started = exchange.started or time.perf_counter()
        try:
            try:
                async for event in sse_events(response, idle=self.upstream.timeout):
                    events.append(((time.perf_counter() - started) * 1000.0, event))
                    queue.put_nowait(event)
            finally:
                await response.aclose()
            if store_it:
                await self._store(exchange, request, response.status_code, headers, events=events)
                count("recordings")
        except UpstreamDropped as exc:
            count("upstream_errors")
            log.warning("%s %s: %s; nothing recorded", exchange.method, exchange.path, exc)
            queue.put_nowait(self.error_event(f"The upstream ({self.upstream.public_url}) stream broke off: {exc}."))
        except Exception as exc:  # noqa: BLE001 - the client gets an error event, never a hang
            log.exception("%s %s: recording failed", exchange.method, exchange.path)
            queue.put_nowait(self.error_event(f"Recording the upstream's answer failed: {type(exc).__name__}."))
        finally:
            queue.put_nowait(None)
            done()

    def _track(self, work: Coroutine[object, object, None], exchange: Exchange, request: CanonicalRequest) -> None:
        """Run ``work`` (reading or storing a recording) past the request, waited for at shutdown."""
        task = asyncio.get_running_loop().create_task(work)
        self._pumps.track(task, f"the recording of {exchange.method} {exchange.path} ({request.key[:12]})")

    async def _write(self, exchange, request, status, headers, body, count, done) -> None:  # noqa: ANN001, PLR0913
        try:
            await self._store(exchange, request, status, headers, body=body)
        except BaseException:
            self._store_failing = True
            raise
        finally:
            done()
        self._store_failing = False
        count("recordings")

    async def stop(self, grace: float = 10.0) -> None:
        """Let streams still being read finish (bounded), so nothing whole is lost at shutdown."""
        await self._pumps.settle(grace)

    async def _store(self, exchange, request, status, headers, *, body=None, events=None) -> None:  # noqa: ANN001
        started = exchange.started or time.perf_counter()
        cassette = store.Cassette(
            duration_ms=(time.perf_counter() - started) * 1000.0,
            key=request.key,
            method=exchange.method,
            path=exchange.path,
            request=request.request,
            model=request.model,
            upstream=self.upstream.public_url,
            status=status,
            headers=headers,
            stream=events is not None,
            body=body,
            events=events,
        )
        await store.insert(self.db, cassette)


def _both(first: Done, then: Done) -> Done:
    def both() -> None:
        try:
            first()
        finally:
            then()

    return both


def _error_event(message: str) -> bytes:
    error = {"error": {"message": message, "type": "upstream_error", "param": None, "code": "bad_gateway"}}
    return b"data: " + encode_json(error) + b"\n\n"
