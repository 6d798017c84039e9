"""The two databases the store's tests run on: a fresh SQLite file, or a fresh PostgreSQL database.

PostgreSQL comes from ``FAKEAI_TEST_PG`` (a URL of a maintenance database; default the local
server's ``postgres`` database with trust authentication). Each test gets its own randomly named
database, created before and dropped (with its connections) after. Without a reachable server the
PostgreSQL variants are skipped with a reason that says so — unless ``FAKEAI_TEST_REQUIRE_PG=1``
(set by ``.ci/run``), which makes them fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("FAKEAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("FAKEAI_TEST_REQUIRE_PG", "").lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgresql")


def pg_admin_connection(url: str):  # noqa: ANN201 - a psycopg connection (autocommit)
    """A plain psycopg connection to the database of ``url`` (any driver name), for inspecting it."""
    return _admin_connect(url)


def _admin_connect(url: str = PG_ADMIN_URL):  # noqa: ANN202 - a psycopg connection
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname=parsed.database or "postgres",
        autocommit=True,
        connect_timeout=3,
        sslmode="disable" if (parsed.host or "127.0.0.1") in ("127.0.0.1", "localhost", "::1") else "prefer",
    )


@functools.cache
def pg_unreachable_reason() -> str | None:
    try:
        with _admin_connect() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any reason to skip is reported
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


def require_pg() -> None:
    """Skip (or, with FAKEAI_TEST_REQUIRE_PG=1, fail) when no PostgreSQL server is reachable."""
    reason = pg_unreachable_reason()
    if reason is None:
        return
    message = f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({reason}); set FAKEAI_TEST_PG to a server's URL"
    if REQUIRE_PG:
        pytest.fail(message + " (FAKEAI_TEST_REQUIRE_PG=1: required)", pytrace=False)
    pytest.skip(message)


def _async_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name).render_as_string(
        hide_password=False
    )


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A new empty PostgreSQL database for one test; yields its ``postgresql+asyncpg://`` URL."""
    require_pg()
    name = "fakeai_test_" + secrets.token_hex(6)
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _async_url(name)
    finally:
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database_url(backend: str, tmp_path: Path, name: str = "t") -> Iterator[str]:
    """A fresh database of ``backend``: an SQLite file under ``tmp_path`` or a PostgreSQL database."""
    if backend == "sqlite":
        yield "sqlite+aiosqlite:///" + str(tmp_path / f"{name}.db")
        return
    with pg_database() as url:
        yield url


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivateCluster:
    """A PostgreSQL server of a test's own (initdb + pg_ctl on a free port, trust authentication),
    for tests that stop and start the server: the shared one at 5432 is never restarted."""

    def __init__(self) -> None:
        import tempfile

        from fakeai.cassettes.server_process import free_port

        # Not under pytest's tmp_path: the server runs as the postgres user, who cannot enter root's.
        self.directory = Path(tempfile.mkdtemp(prefix="fakeai-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        import subprocess

        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True, timeout=120)

    def create(self) -> PrivateCluster:
        require_pg()
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            pytest.skip("no PostgreSQL server binaries (initdb) to run a private cluster")
        self.bin = bins[-1].parent
        if self.as_postgres:
            import shutil

            shutil.chown(self.directory, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        import shutil

        try:
            self.stop()
        except Exception:  # noqa: BLE001 - already stopped
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


T = TypeVar("T")


def on_store(url: str, work: Callable[..., Awaitable[T]], *args: object) -> T:
    """``work(database, *args)`` on a ``Database`` opened for ``url`` and disposed after: what a test reads
    (or fills) of a store that servers use."""
    from fakeai.store import Database

    async def run() -> T:
        database = Database(url)
        try:
            return await work(database, *args)
        finally:
            await database.dispose()

    return asyncio.run(run())


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 15.0) -> T:
    """``read()`` again until ``done(value)`` holds or ``timeout`` passes; the last value, for the
    caller to assert on. A recorder answers before its write commits (fakeai/modes/record.py), so a
    test that reads the store while the server runs waits here for the write instead of racing it."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


async def every_cassette(database) -> list:  # noqa: ANN001 - a fakeai.store.Database
    """Every stored episode of every key, in listing order (use with ``on_store``)."""
    from fakeai.store import cassettes as store

    return [await store.lookup(database, i.key, i.episode) for i in await store.list_cassettes(database)]
