"""Replay's episode cursor, cache and batched bookkeeping, on a real SQLite file."""

from __future__ import annotations

import asyncio
import time

import pytest

from fakeai.errors import CassetteNotFoundError
from fakeai.modes.base import Body, EventStream, Exchange
from fakeai.modes.keys import canonical_request
from fakeai.modes.replay import Replayer
from fakeai.store import Database, upgrade_database
from fakeai.store import cassettes as store


@pytest.fixture
def db(db_url):  # noqa: ANN201 - SQLite and PostgreSQL (see tests/databases.py)
    url = db_url
    upgrade_database(url)
    database = Database(url)
    yield database
    store.close(database)
    asyncio.run(database.dispose())


def exchange(body: bytes) -> Exchange:
    return Exchange(method="POST", path="/v1/x", headers={"content-type": "application/json"}, body=body, started=time.perf_counter())


def test_episodes_in_order_then_the_last_again(db) -> None:  # noqa: ANN001
    async def run() -> None:
        request = canonical_request("POST", "/v1/x", [], {}, b'{"a": 1}')
        for n in range(2):
            await store.insert(db, store.Cassette(key=request.key, method="POST", path="/v1/x", request=request.request, status=200, body=b"%d" % n))
        replayer = Replayer(db, speed=0)
        served = [(await replayer.find(request.key)).body for _ in range(4)]
        assert served == [b"0", b"1", b"1", b"1"]
        await replayer.stop()  # writes the batched hits
        hits = {(i.episode, i.hits) for i in await store.list_cassettes(db)}
        assert hits == {(0, 1), (1, 3)}
        assert await Replayer(db, speed=0).find("f" * 64) is None

    asyncio.run(run())


def test_answers_keep_status_headers_and_events(db) -> None:  # noqa: ANN001
    async def run() -> None:
        events = [(0.0, b"data: 1\n\n"), (30.0, b"data: [DONE]\n\n")]
        await store.insert(db, store.Cassette(key="s" * 64, method="POST", path="/v1/x", request=b"{}", status=200, stream=True, events=events, headers={"content-type": "text/event-stream; charset=utf-8", "x-request-id": "req_1"}))
        await store.insert(db, store.Cassette(key="e" * 64, method="POST", path="/v1/x", request=b"{}", status=429, body=b'{"error": {}}', duration_ms=50.0))
        fast, real = Replayer(db, speed=0), Replayer(db, speed=1)
        reply = await fast.answer(exchange(b"{}"), await fast.find("s" * 64), {"x-fakeai-source": "replay"})
        assert isinstance(reply, EventStream) and reply.media_type == "text/event-stream; charset=utf-8"
        assert reply.headers == {"x-request-id": "req_1", "x-fakeai-source": "replay"}
        assert [e async for e in reply.events] == [b"data: 1\n\n", b"data: [DONE]\n\n"]  # speed: bench/timing.py
        arrived = exchange(b"{}")
        slow = await real.answer(arrived, await real.find("s" * 64), {})
        assert len([e async for e in slow.events]) == 2
        assert time.perf_counter() - arrived.started >= 0.025  # the last event's 30 ms offset, from arrival
        found = await real.find("e" * 64)
        started = time.perf_counter()
        error = await real.answer(exchange(b"{}"), found, {})
        assert isinstance(error, Body) and error.status == 429 and error.content == b'{"error": {}}'
        assert time.perf_counter() - started >= 0.045  # the recorded 50 ms, at speed 1
        for replayer in (fast, real):
            await replayer.stop()

    asyncio.run(run())


def test_miss_names_the_nearest_request(db) -> None:  # noqa: ANN001
    async def run() -> None:
        recorded = canonical_request("POST", "/v1/x", [], {}, b'{"model": "m", "n": 1, "keep": true}')
        await store.insert(db, store.Cassette(key=recorded.key, method="POST", path="/v1/x", request=recorded.request, status=200, body=b"{}"))
        far = canonical_request("POST", "/v1/x", [], {}, b'{"model": "z", "n": 3}')
        await store.insert(db, store.Cassette(key=far.key, method="POST", path="/v1/x", request=far.request, status=200, body=b"{}"))
        wanted = canonical_request("POST", "/v1/x", [], {}, b'{"model": "m", "n": 2, "keep": true}')
        error = await Replayer(db, speed=0).miss(exchange(b""), wanted, {"x-fakeai-source": "replay"})
        assert isinstance(error, CassetteNotFoundError) and error.status_code == 404
        assert error.extra["nearest"] == {"request_hash": recorded.key, "differs": ["body.n"]}
        assert error.headers == {"x-fakeai-source": "replay", "x-should-retry": "false"}
        assert f"POST /v1/x (request hash {wanted.key})" in error.message and "body.n" in error.message

    asyncio.run(run())


def test_cache_serves_from_memory_and_drops_only_changed_keys_when_checked(db) -> None:  # noqa: ANN001
    async def run() -> None:
        keys = {}
        for name in ("kept", "deleted", "grown"):
            request = canonical_request("POST", "/v1/x", [], {}, b'{"name": "%s"}' % name.encode())
            keys[name] = request
            await store.insert(db, store.Cassette(key=request.key, method="POST", path="/v1/x", request=request.request, status=200, body=name.encode()))
        replayer = Replayer(db, speed=0)
        for request in keys.values():
            assert (await replayer.find(request.key)) is not None
        # Changes made by another process: one key deleted, another given a second episode.
        await store.delete_cassettes(db, keys=[keys["deleted"].key])
        grown = keys["grown"]
        await store.insert(db, store.Cassette(key=grown.key, method="POST", path="/v1/x", request=grown.request, status=200, body=b"grown again"))
        assert (await replayer.find(keys["deleted"].key)).body == b"deleted"  # still the cached copy
        await replayer.check()
        assert keys["kept"].key in replayer._cache  # unchanged: not read again
        assert await replayer.find(keys["deleted"].key) is None
        assert [c.body for c in await replayer.episodes(grown.key)] == [b"grown", b"grown again"]
        await replayer.stop()

    asyncio.run(run())


def test_the_cache_checks_itself_every_cache_seconds(db, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr("fakeai.modes.replay.CACHE_SECONDS", 0.05)

    async def run() -> None:
        request = canonical_request("POST", "/v1/x", [], {}, b'{"a": "b"}')
        await store.insert(db, store.Cassette(key=request.key, method="POST", path="/v1/x", request=request.request, status=200, body=b"x"))
        replayer = Replayer(db, speed=0)
        assert await replayer.find(request.key) is not None
        await store.delete_cassettes(db, keys=[request.key])
        for _ in range(100):
            await asyncio.sleep(0.05)
            if request.key not in replayer._cache:
                break
        assert await replayer.find(request.key) is None
        await replayer.stop()

    asyncio.run(run())
