"""Cassette writes on the loop's thread (SQLite): they never wait on the loop for a lock held
elsewhere, and the WAL they fill is checkpointed from a thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from fakeai.store import Database, upgrade_database
from fakeai.store import cassettes as store
from fakeai.store import sqlite_writer


@pytest.fixture
def sqlite_db(tmp_path: Path):  # noqa: ANN201
    url = "sqlite+aiosqlite:///" + str(tmp_path / "w.db")
    upgrade_database(url)
    database = Database(url)
    yield database, tmp_path / "w.db"
    store.close(database)
    asyncio.run(database.dispose())


def _cassette(i: int, size: int = 100) -> store.Cassette:
    return store.Cassette(key=f"{i:064x}", method="POST", path="/v1/chat/completions", request=b"{}", status=200,
                          body=bytes([i % 256]) * size)


def test_a_write_lock_held_elsewhere_does_not_stall_the_loop_and_the_write_lands_after_it(sqlite_db) -> None:  # noqa: ANN001
    db, path = sqlite_db
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another process's writer, say the CLI pruning
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(5)
        conn.execute("COMMIT")
        conn.close()

    async def run() -> tuple[float, int]:
        await store.insert(db, _cassette(1))  # the loop's writer is open and warm
        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(5)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        asyncio.get_running_loop().call_later(0.3, release.set)
        started = time.perf_counter()
        episode = await store.insert(db, _cassette(2))
        waited = time.perf_counter() - started
        ticker.cancel()
        holder.join()
        assert ticks >= 15  # the loop kept turning while the write waited (in a thread)
        return waited, episode

    waited, episode = asyncio.run(run())
    assert waited >= 0.25 and episode == 0
    assert asyncio.run(store.lookup(db, f"{2:064x}", 0)).body == bytes([2]) * 100


@pytest.mark.parametrize("every", [5, 10**9])
def test_the_wal_is_checkpointed_from_a_thread_every_so_many_commits(sqlite_db, monkeypatch, every: int) -> None:  # noqa: ANN001
    db, path = sqlite_db
    monkeypatch.setattr(sqlite_writer, "CHECKPOINT_COMMITS", every)
    before = path.stat().st_size

    async def run() -> None:
        for i in range(40):
            await store.insert(db, _cassette(i, 20_000))  # one at a time: one commit each
        await asyncio.sleep(0.3)  # the last checkpoint's thread

    asyncio.run(run())
    grown = path.stat().st_size - before
    if every == 5:
        assert grown > 500_000  # the rows reached the database file
    else:
        assert grown < 100_000  # nothing checkpoints them but the writer's schedule (the control)
    assert asyncio.run(store.count(db)) == 40
