"""The cassette repository on a real SQLite file: episodes, lookups, bookkeeping, bulk insert."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from fakeai.store import Database, upgrade_database
from fakeai.store import cassettes as store


@pytest.fixture
def db(db_url):  # noqa: ANN201 - SQLite and PostgreSQL (see tests/databases.py)
    url = db_url
    upgrade_database(url)
    database = Database(url)
    yield database
    asyncio.run(database.dispose())


def make(key: str = "a" * 64, **fields) -> store.Cassette:  # noqa: ANN003
    values = {"method": "POST", "path": "/v1/chat/completions", "request": b'{"x":1}', "status": 200, "body": b"{}"}
    values.update(fields)
    return store.Cassette(key=key, **values)


def test_episodes_are_numbered_and_returned_in_order(db) -> None:  # noqa: ANN001
    async def run() -> None:
        assert await store.insert(db, make(body=b"first")) == 0
        events = [(12.5, b"data: 1\n\n"), (30.0, b"data: [DONE]\n\n")]
        assert await store.insert(db, make(body=None, stream=True, events=events)) == 1
        episodes = await store.lookup_episodes(db, "a" * 64)
        assert [c.episode for c in episodes] == [0, 1]
        assert episodes[0].body == b"first" and episodes[0].events is None
        assert episodes[1].events == events and episodes[1].body is None and episodes[1].stream
        assert episodes[1].size == len(b"data: 1\n\ndata: [DONE]\n\n")
        assert (await store.lookup(db, "a" * 64, 1)).events == events
        assert await store.lookup(db, "a" * 64, 2) is None
        assert await store.lookup_episodes(db, "b" * 64) == []

    asyncio.run(run())


def test_concurrent_inserts_of_one_key_get_distinct_episodes(db) -> None:  # noqa: ANN001
    async def run() -> None:
        numbers = await asyncio.gather(*[store.insert(db, make()) for _ in range(30)])
        assert sorted(numbers) == list(range(30))
        distinct = await asyncio.gather(*[store.insert(db, make(key=f"{i:064x}")) for i in range(30)])
        assert set(distinct) == {0}
        assert await store.count(db) == 60

    asyncio.run(run())


def test_inserts_sharing_a_transaction_keep_their_order_their_bytes_and_their_failures_apart(db) -> None:  # noqa: ANN001
    from sqlalchemy.exc import IntegrityError

    async def run() -> None:
        # Submitted together: the first write runs alone, the rest share the next transaction(s).
        same = [make(body=b"body %d" % i, duration_ms=i + 0.5) for i in range(12)]
        others = [make(key=f"{i:064x}", body=None, stream=True, events=[(1.0 * i, b"data: %d\n\n" % i)]) for i in range(12)]
        mixed = [c for pair in zip(same, others) for c in pair]
        episodes = await asyncio.gather(*[store.insert(db, c) for c in mixed])
        assert episodes == [n for i in range(12) for n in (i, 0)]  # one key's episodes in submission order
        stored = await store.lookup_episodes(db, "a" * 64)
        assert [(c.body, c.duration_ms) for c in stored] == [(b"body %d" % i, i + 0.5) for i in range(12)]
        assert stored[0].recorded_at is not None and stored[0].recorded_at.year >= 2026
        assert (await store.lookup(db, f"{7:064x}", 0)).events == [(7.0, b"data: 7\n\n")]
        # One cassette the database refuses (no method) fails alone; the others of its batch are stored.
        batch = [make(key=f"{100 + i:064x}") for i in range(6)]
        batch[3] = make(key=f"{103:064x}", method=None)
        results = await asyncio.gather(*[store.insert(db, c) for c in batch], return_exceptions=True)
        assert isinstance(results[3], IntegrityError)
        assert [r for i, r in enumerate(results) if i != 3] == [0] * 5
        assert await store.lookup(db, f"{103:064x}", 0) is None and await store.lookup(db, f"{104:064x}", 0)

    asyncio.run(run())


def test_touch_list_find_recent_and_delete(db) -> None:  # noqa: ANN001
    async def run() -> None:
        await store.insert(db, make(model="m1"))
        await store.insert(db, make(key="ab" + "0" * 62, model="m2", status=400, method="GET", path="/v1/models"))
        used = dt.datetime(2026, 1, 2, 3, 4, 5)
        await store.touch(db, {("a" * 64, 0): (3, used)})
        await store.touch(db, {("a" * 64, 0): (2, used)})
        (info,) = await store.list_cassettes(db, model="m1")
        assert (info.hits, info.last_used_at, info.stream) == (5, used, False)
        assert [i.status for i in await store.list_cassettes(db, status=400)] == [400]
        assert len(await store.list_cassettes(db, path="/v1/models")) == 1
        assert await store.find_keys(db, "a") == ["a" * 64, "ab" + "0" * 62]
        assert await store.find_keys(db, "AB") == ["ab" + "0" * 62]
        assert await store.recent_requests(db, "POST", "/v1/chat/completions") == [("a" * 64, b'{"x":1}')]
        assert await store.delete_cassettes(db) == 0  # no criterion, nothing deleted
        assert await store.delete_cassettes(db, keys=["a" * 64]) == 1
        future = dt.datetime.now() + dt.timedelta(days=1)
        assert await store.delete_cassettes(db, older_than=future) == 1
        assert await store.count(db) == 0

    asyncio.run(run())


def test_bulk_insert_keeps_episodes(db) -> None:  # noqa: ANN001
    async def run() -> None:
        items = (make(key=f"{i // 2:064x}", episode=i % 2, body=b"%d" % i) for i in range(1000))
        assert await store.bulk_insert(db, items, batch=300) == 1000
        episodes = await store.lookup_episodes(db, f"{7:064x}")
        assert [(c.episode, c.body) for c in episodes] == [(0, b"14"), (1, b"15")]

    asyncio.run(run())


def test_event_blob_round_trip() -> None:
    events = [(0.0, b"data: a\n\n"), (1.2345, b"event: x\ndata: b\n\n")]
    assert store.unpack_events(store.pack_events(events)) == [(0.0, b"data: a\n\n"), (1.234, b"event: x\ndata: b\n\n")]


def test_lookup_is_one_indexed_search(db) -> None:  # noqa: ANN001
    if db.postgres:
        from tests.databases import pg_admin_connection

        with pg_admin_connection(db.url) as conn:
            conn.execute("SET enable_seqscan = off")  # a tiny table would be scanned anyway; is the index usable?
            sql = str(store._BY_KEY.compile(dialect=__import__("sqlalchemy.dialects.postgresql", fromlist=["dialect"]).dialect()))
            plan = " ".join(r[0] for r in conn.execute("EXPLAIN " + sql.replace("%(key)s", "%s"), ("a" * 64,)))
        assert "Index Scan using uq_cassettes_key_episode" in plan, plan
        return
    import sqlite3

    path = db.url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        sql = str(store._BY_KEY.compile(compile_kwargs={"literal_binds": False})).replace(":key", "?")
        plan = " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, ("a" * 64,)))
    # The UNIQUE(key, episode) constraint's index (SQLite names it sqlite_autoindex_cassettes_N).
    assert plan.startswith("SEARCH cassettes USING INDEX") and "(key=?)" in plan, plan
    assert "SCAN" not in plan


def test_two_processes_recording_one_key_get_consecutive_episodes(db) -> None:  # noqa: ANN001
    # Two engines on one database stand for two replicas: no unique-key error, no lost write.
    async def run() -> None:
        other = Database(db.url)
        try:
            writes = [store.insert(d, make(body=b"%d" % i)) for i in range(40) for d in (db, other)]
            numbers = await asyncio.gather(*writes)
            assert sorted(numbers) == list(range(80))
            episodes = await store.lookup_episodes(db, "a" * 64)
            assert [c.episode for c in episodes] == list(range(80))
        finally:
            store.close(other)
            await other.dispose()

    asyncio.run(run())


def test_episode_cursor_advances_atomically_across_processes(db) -> None:  # noqa: ANN001
    async def run() -> None:
        other = Database(db.url)
        try:
            positions = await asyncio.gather(*[store.advance_cursor(d, "k" * 64) for _ in range(30) for d in (db, other)])
            assert sorted(positions) == list(range(60))
            assert await store.advance_cursor(other, "j" * 64) == 0  # each key its own cursor
            await store.reset_cursors(db)
            assert await store.advance_cursor(other, "k" * 64) == 0
        finally:
            store.close(other)
            await other.dispose()

    asyncio.run(run())
