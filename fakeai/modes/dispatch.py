"""Which mode answers a request.

A controller hands over the raw ``Exchange`` and a thunk that produces the synthetic answer (None
for routes FakeAI does not synthesize, which record and replay still cover). Synthetic mode calls
the thunk; record forwards upstream and stores the exchange; replay answers from cassettes and
applies ``--on-miss`` when there is none. Every answer, errors included, carries
``x-fakeai-source`` (synthetic | replay | upstream); in record and replay modes also
``x-fakeai-request-hash`` (the cassette key). Pure synthetic mode does not compute the key: it
would be a fifth of a small request's cost, for a header nothing there uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fakeai.errors import FakeAIError, NotFoundError, UpstreamError
from fakeai.modes.base import Exchange, Reply
from fakeai.modes.keys import CanonicalRequest, KeyConfig, canonical_request
from fakeai.providers import anthropic_error_event, is_anthropic
from fakeai.modes.single_flight import RecordingLocks, ServerRecordingLocks
from fakeai.settings import Mode, OnMiss, Settings

if TYPE_CHECKING:
    from fakeai.metrics import Metrics
    from fakeai.modes.record import Recorder
    from fakeai.modes.replay import Replayer
    from fakeai.store import Database

__all__ = ["Dispatcher", "HASH", "SOURCE", "SyntheticThunk"]

SyntheticThunk = Callable[[], Awaitable[Reply]]

SOURCE = "x-fakeai-source"
HASH = "x-fakeai-request-hash"


_SYNTHETIC = {SOURCE: "synthetic"}

# Bodies past this size are hashed (sha256, multipart split) in a thread: a 100 MB upload is a few
# hundred milliseconds of CPU that would otherwise stall every stream of the worker.
THREADED_KEY_BYTES = 1024 * 1024


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        metrics: Metrics | None = None,
        recording_locks: RecordingLocks | None = None,
    ) -> None:
        self.settings = settings
        self.mode = Mode(settings.mode)
        self.db = db
        self.metrics = metrics
        self.keys = KeyConfig.from_settings(settings)
        # Recording with the client's own key (no --upstream-api-key): that key is the upstream's
        # to judge, so FakeAI's own key check stands aside. Indexed by "is this an Anthropic request".
        recording = self.mode is Mode.RECORD
        self.upstream_checks_keys = (
            recording and not settings.upstream_api_key,
            recording and not settings.anthropic_key_upstream,
        )
        self.recorder: Recorder | None = None  # OpenAI requests (--upstream)
        self.anthropic_recorder: Recorder | None = None  # Anthropic requests (--anthropic-upstream, else --upstream)
        # Synthetic mode answers routes it does not know with 404 itself; in record and replay the
        # catch-all route forwards or replays them, so they are real routes that need a key.
        self.synthetic_only = self.mode is Mode.SYNTHETIC
        self.replayer: Replayer | None = None
        # --on-miss record: one recording per key at a time (see single_flight.py)
        self.recording_locks: RecordingLocks = recording_locks or ServerRecordingLocks(None)

    def key_of(self, exchange: Exchange) -> CanonicalRequest:
        return canonical_request(
            exchange.method, exchange.path, exchange.query, exchange.headers, exchange.body, self.keys
        )

    async def handle(self, exchange: Exchange, synthetic: SyntheticThunk | None) -> Reply:
        if self.mode is Mode.SYNTHETIC:
            return await self.synthesize(exchange, synthetic)
        if len(exchange.body) > THREADED_KEY_BYTES:
            request = await asyncio.to_thread(self.key_of, exchange)
        else:
            request = self.key_of(exchange)
        if self.mode is Mode.RECORD:
            return await self.record(exchange, request)
        return await self.replay(exchange, request, synthetic)

    async def preview(self, exchange: Exchange, synthetic: SyntheticThunk | None) -> Reply | None:
        """An answer for an injected fault to damage, with no effect on cassettes: in replay the
        episode at the cursor (which stays where it is), else the synthetic answer (None when there
        is none). The upstream is never called and nothing is recorded."""
        if self.mode is Mode.REPLAY:
            assert self.replayer is not None, "replay needs start()"
            request = self.key_of(exchange)
            cassette = await self.replayer.peek(request.key)
            if cassette is not None:
                return await self.replayer.answer(exchange, cassette, {SOURCE: "replay", HASH: request.key})
        if synthetic is None:
            return None
        return await self.synthesize(exchange, synthetic)

    async def synthesize(
        self, exchange: Exchange, synthetic: SyntheticThunk | None, request: CanonicalRequest | None = None
    ) -> Reply:
        headers = {SOURCE: "synthetic", HASH: request.key} if request is not None else _SYNTHETIC
        if synthetic is None:
            raise NotFoundError(f"Invalid URL ({exchange.method} {exchange.path})", code="unknown_url", headers=headers)
        try:
            reply = await synthetic()
        except FakeAIError as exc:
            exc.headers.update(headers)
            raise
        reply.headers.update(headers)
        return reply

    async def record(
        self, exchange: Exchange, request: CanonicalRequest, on_recorded: Callable[[], None] | None = None
    ) -> Reply:
        headers = {SOURCE: "upstream", HASH: request.key}
        anthropic = is_anthropic(exchange.path, exchange.headers)
        recorder = self.anthropic_recorder if anthropic else self.recorder
        try:
            if recorder is None:  # only one provider's upstream is configured
                flag = "--anthropic-upstream (or --upstream)" if anthropic else "--upstream"
                raise UpstreamError(f"No upstream for {exchange.method} {exchange.path}: start FakeAI with {flag}.")
            reply = await recorder.forward(exchange, request, self._counter(exchange), on_recorded,
                                           key_held=on_recorded is not None)
        except FakeAIError as exc:
            exc.headers.update(headers)
            raise
        reply.headers.update(headers)
        return reply

    async def replay(self, exchange: Exchange, request: CanonicalRequest, synthetic: SyntheticThunk | None) -> Reply:
        assert self.replayer is not None, "replay needs start()"
        count = self._counter(exchange)
        cassette = await self.replayer.find(request.key)
        if cassette is not None:
            count("hits")
            return await self.replayer.answer(exchange, cassette, {SOURCE: "replay", HASH: request.key})
        on_miss = OnMiss(self.settings.on_miss)
        if on_miss is OnMiss.RECORD:  # counts a hit or a miss once it knows which (see there)
            return await self._record_once(exchange, request, count)
        count("misses")
        if on_miss is OnMiss.SYNTHETIC:
            return await self.synthesize(exchange, synthetic, request)
        raise await self.replayer.miss(exchange, request, {SOURCE: "replay", HASH: request.key})

    async def _record_once(self, exchange: Exchange, request: CanonicalRequest, count: Callable[[str], None]) -> Reply:
        """Record a miss unless an identical request is recording it right now: then wait for that
        recording and replay it (concurrent identical misses record one episode, not several).
        Counted as a hit when it is replayed after waiting (the recording it waited for may have
        answered its client before its write committed), as a miss when it records."""
        assert self.replayer is not None
        release = await self.recording_locks.acquire(request.key)
        try:
            cassette = await self.replayer.find(request.key)  # recorded while this request waited?
            if cassette is not None:
                release()
                count("hits")
                return await self.replayer.answer(exchange, cassette, {SOURCE: "replay", HASH: request.key})
            count("misses")
            reply = await self.record(exchange, request, on_recorded=release)  # released once stored
        except BaseException:
            release()
            raise
        self.replayer.forget(request.key)
        return reply

    def _counter(self, exchange: Exchange) -> Callable[[str], None]:
        metrics, endpoint = self.metrics, exchange.endpoint or exchange.path
        if metrics is None:
            return lambda name: None
        return lambda name: metrics.count(endpoint, name)

    async def start(self) -> None:
        """Open long-lived resources: the pooled upstream client, the replay cache."""
        settings = self.settings
        needs_upstream = settings.needs_upstream
        if self.mode is not Mode.SYNTHETIC and self.db is None:
            raise RuntimeError("record and replay need a database")
        if needs_upstream:
            from fakeai.modes.record import Recorder
            from fakeai.modes.upstream import Upstream

            # One recorder per provider, each with its own upstream and key header (Settings.check
            # guarantees at least one); both store into the same cassettes.
            if settings.upstream:
                upstream = Upstream(settings.upstream, api_key=settings.upstream_api_key, timeout=settings.upstream_timeout)
                self.recorder = Recorder(upstream, self.db, record_errors=settings.record_errors,  # type: ignore[arg-type]
                                         locks=self.recording_locks)
            if settings.anthropic_target:
                upstream = Upstream(
                    settings.anthropic_target,
                    api_key=settings.anthropic_key_upstream,
                    timeout=settings.upstream_timeout,
                    key_header="x-api-key",
                )
                self.anthropic_recorder = Recorder(
                    upstream, self.db, record_errors=settings.record_errors, error_event=anthropic_error_event,  # type: ignore[arg-type]
                    locks=self.recording_locks,
                )
        if self.mode is Mode.REPLAY:
            from fakeai.modes.replay import Replayer

            self.replayer = Replayer(self.db, speed=settings.replay_speed)  # type: ignore[arg-type]

    async def rewind(self) -> None:
        """Replay every stateful sequence from its first episode again (a replay server starting)."""
        if self.replayer is not None:
            await self.replayer.rewind()

    async def stop(self, grace: float = 10.0) -> None:
        """Close what ``start`` opened (and write replay's pending hit counts)."""
        if self.replayer is not None:
            await self.replayer.stop()
        for recorder in (self.recorder, self.anthropic_recorder):
            if recorder is not None:
                await recorder.stop(grace)
                await recorder.upstream.close()
        if self.db is not None and self.mode is not Mode.SYNTHETIC:
            from fakeai.store import cassettes

            cassettes.close(self.db)
