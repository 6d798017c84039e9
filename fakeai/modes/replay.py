"""Replay mode: answer from cassettes, byte for byte, never touching the network.

Lookups are one indexed query, and the decoded episodes of recently used keys are kept in an
in-process LRU so a hot replay never pays the database round trip. Every ``CACHE_SECONDS`` one
query reads the version (episode count, highest row id) of every cached key and drops the keys
whose version changed: a cassette deleted through another process (``fakeai cassettes delete``,
another replica) is served by this worker for about that long at most, and an episode added
elsewhere to a cached key is seen within it. (Entries used to expire after that time instead; with
a thousand keys replayed a few times a second, most requests then re-read and re-decoded their
cassette, and replay ran at 0.6x synthetic.) Misses are never cached, so a key recorded anywhere is
replayed at once. If the check fails (database down) the whole cache is dropped.
Replay's bookkeeping (hits, last_used_at) is batched in memory and written every few seconds and at
shutdown, so answering never waits for a write.

Episodes: the n-th replay of a key serves episode n, then the last one keeps being served. The
cursor lives in the database (``episode_cursors``), advanced by one atomic statement per replay of a
key that has several episodes, so a stateful sequence (upload, list, delete, list) replays in order
whichever worker or replica each request lands on. Keys with one episode (nearly all) cost no write.
A replay server rewinds every cursor when it starts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fakeai.errors import CassetteNotFoundError
from fakeai.modes.base import Body, EventStream, Exchange, Reply
from fakeai.modes.keys import CanonicalRequest, decode_request, differences
from fakeai.store import cassettes as store

if TYPE_CHECKING:
    from fakeai.store import Database

__all__ = ["Replayer"]

log = logging.getLogger("fakeai.replay")

CACHE_KEYS = 4096  # decoded keys kept per worker
CACHE_BYTES = 256 * 1024 * 1024  # ... and at most this many body/event bytes
CACHE_SECONDS = 1.0  # ... checked against the database this often (how stale another process's delete can be)
FLUSH_SECONDS = 2.0
NEAREST_CANDIDATES = 500  # recorded requests compared against a miss


class Replayer:
    def __init__(self, db: Database, *, speed: float) -> None:
        self.db = db
        self.speed = speed
        self._cache: OrderedDict[str, tuple[store.Version, tuple[store.Cassette, ...]]] = OrderedDict()
        self._cache_bytes = 0
        self._checker: asyncio.Task | None = None
        self._uses: dict[tuple[str, int], tuple[int, dt.datetime]] = {}
        self._flusher: asyncio.Task | None = None

    # -- lookup ------------------------------------------------------------------------------

    async def episodes(self, key: str) -> tuple[store.Cassette, ...]:
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached[1]
        rows, version = await store.lookup_versioned(self.db, key)
        found = tuple(rows)
        if found:
            self._remember(key, version, found)
        return found

    def _remember(self, key: str, version: store.Version, found: tuple[store.Cassette, ...]) -> None:
        self.forget(key)
        self._cache[key] = (version, found)
        self._cache_bytes += sum(c.size for c in found)
        while self._cache and (len(self._cache) > CACHE_KEYS or self._cache_bytes > CACHE_BYTES):
            _, (_, dropped) = self._cache.popitem(last=False)
            self._cache_bytes -= sum(c.size for c in dropped)
        if self._checker is None or self._checker.done():
            self._checker = asyncio.get_running_loop().create_task(self._check_while_cached())

    def forget(self, key: str) -> None:
        """Drop a key from the cache (after this worker recorded a new episode of it)."""
        dropped = self._cache.pop(key, None)
        if dropped:
            self._cache_bytes -= sum(c.size for c in dropped[1])

    async def _check_while_cached(self) -> None:
        while self._cache:
            await asyncio.sleep(CACHE_SECONDS)
            await self.check()

    async def check(self) -> None:
        """Drop every cached key whose episodes changed in the database (one query for all)."""
        held = {key: version for key, (version, _) in self._cache.items()}
        try:
            now = await store.versions(self.db, list(held))
        except Exception:  # noqa: BLE001 - cannot tell what changed: serve nothing from memory
            log.warning("could not check the replay cache against the database; dropping it", exc_info=True)
            self._cache.clear()
            self._cache_bytes = 0
            return
        for key in [k for k, (version, _) in self._cache.items() if k in held and now.get(k) != version]:
            self.forget(key)

    async def find(self, key: str) -> store.Cassette | None:
        """The episode to serve for ``key`` now (advancing the shared cursor), or None."""
        found = await self.episodes(key)
        if not found:
            return None
        index = 0 if len(found) == 1 else await store.advance_cursor(self.db, key)
        cassette = found[min(index, len(found) - 1)]
        self._used(cassette)
        return cassette

    async def rewind(self) -> None:
        """Every key back to its first episode (a replay server starting)."""
        await store.reset_cursors(self.db)

    async def peek(self, key: str) -> store.Cassette | None:
        """The episode ``find`` would serve now, without moving the cursor or counting a use (an
        injected fault damages it instead of serving it)."""
        found = await self.episodes(key)
        if not found:
            return None
        index = 0 if len(found) == 1 else await store.cursor_position(self.db, key)
        return found[min(index, len(found) - 1)]

    # -- answering ---------------------------------------------------------------------------

    async def answer(self, exchange: Exchange, cassette: store.Cassette, headers: dict[str, str]) -> Reply:
        """The recorded answer; ``headers`` (source, hash) are added to the kept ones. At a speed
        above 0 a whole answer comes when the upstream's did (scaled), a stream's events likewise."""
        kept = {k: v for k, v in cassette.headers.items() if k != "content-type"}
        kept.update(headers)
        if cassette.events is None:
            if self.speed > 0 and cassette.duration_ms:
                started = exchange.started or time.perf_counter()
                delay = started + cassette.duration_ms / (1000.0 * self.speed) - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            return Body(content=cassette.body or b"", status=cassette.status, media_type=cassette.content_type, headers=kept)
        return EventStream(
            events=self._play(cassette.events, exchange.started or time.perf_counter()),
            status=cassette.status,
            media_type=cassette.content_type,
            headers=kept,
        )

    async def _play(self, events: list[tuple[float, bytes]], started: float) -> AsyncIterator[bytes]:
        if self.speed <= 0:
            for _, data in events:
                yield data
            return
        scale = 1.0 / (1000.0 * self.speed)  # recorded ms -> seconds at this speed
        for offset, data in events:
            delay = started + offset * scale - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            yield data

    async def miss(self, exchange: Exchange, request: CanonicalRequest, headers: dict[str, str]) -> CassetteNotFoundError:
        """The 404 for a request with no cassette, naming the nearest recorded request on the
        same endpoint and the fields in which it differs."""
        message = f"No cassette recorded for {exchange.method} {exchange.path} (request hash {request.key})."
        extra: dict = {"request_hash": request.key, "method": exchange.method, "path": exchange.path, "nearest": None}
        nearest = await self._nearest(exchange, request)
        if nearest is None:
            message += " Nothing is recorded on this endpoint; record it with --mode record (or --on-miss record)."
        else:
            key, differ = nearest
            shown = ", ".join(differ[:10]) + (" ..." if len(differ) > 10 else "")
            message += f" Nearest recorded request on this endpoint: {key[:12]}, which differs in: {shown}."
            extra["nearest"] = {"request_hash": key, "differs": differ}
        return CassetteNotFoundError(message, headers={**headers, "x-should-retry": "false"}, extra=extra)

    async def _nearest(self, exchange: Exchange, request: CanonicalRequest) -> tuple[str, list[str]] | None:
        candidates = await store.recent_requests(self.db, exchange.method, exchange.path, NEAREST_CANDIDATES)
        if not candidates:
            return None
        wanted = decode_request(request.request)
        best: tuple[int, str, list[str]] | None = None
        for key, stored in candidates:
            differ = differences(wanted, decode_request(stored), limit=50)
            if best is None or len(differ) < best[0]:
                best = (len(differ), key, differ)
                if len(differ) <= 1:
                    break
        assert best is not None
        return best[1], best[2]

    # -- bookkeeping -------------------------------------------------------------------------

    def _used(self, cassette: store.Cassette) -> None:
        slot = (cassette.key, cassette.episode)
        n, _ = self._uses.get(slot, (0, None))
        self._uses[slot] = (n + 1, dt.datetime.now(dt.UTC).replace(tzinfo=None))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await asyncio.shield(self.flush())  # a shutdown cancelling the sleep must not lose a batch

    async def flush(self) -> None:
        """Write the batched hits and last_used_at (called periodically and at shutdown)."""
        uses, self._uses = self._uses, {}
        if not uses:
            return
        try:
            await store.touch(self.db, uses)
        except Exception:  # noqa: BLE001 - bookkeeping must never break replay
            log.warning("could not update cassette hit counts", exc_info=True)

    async def stop(self) -> None:
        for task in (self._checker, self._flusher):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        await self.flush()
