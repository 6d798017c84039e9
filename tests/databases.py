"""The two databases the store's tests run on: a fresh SQLite file, or a fresh PostgreSQL database.

PostgreSQL comes from ``FAKEAI_TEST_PG`` (a URL of a maintenance database; default the local
server's ``postgres`` database with trust authentication). Each test gets its own randomly named
database, created before and dropped (with its connections) after. Without a reachable server the
PostgreSQL variants are skipped with a reason that says so — unless ``FAKEAI_TEST_REQUIRE_PG=1``
(set by ``.ci/run``), which makes them fail instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Iterator
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
