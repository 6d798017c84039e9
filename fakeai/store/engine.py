"""Engines, migrations, and every difference between the two databases FakeAI runs on.

- **SQLite** (the default, one file): WAL, busy_timeout and synchronous=NORMAL pragmas so several
  workers share the file; migrations under a lock file; one writer at a time serialises episodes.
- **PostgreSQL** (``postgresql+asyncpg://``): a pool per worker process (``pool_size`` +
  ``max_overflow``), a short connect timeout so an unreachable server fails fast; migrations under
  an advisory lock (several replicas starting at once upgrade exactly once); transaction-scoped
  advisory locks serialise the writers of one cassette key across processes and hosts.

The rest of ``fakeai.store`` is dialect-blind: it asks this module for the few things that differ
(``key_lock``, ``upsert``, ``sync_engine``) and otherwise writes plain SQLAlchemy Core.
"""

from __future__ import annotations

import zlib
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from fakeai.store.database import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE
from fakeai.store.upgrade import BUSY_TIMEOUT_MS, SCHEMA_HEAD
from fakeai.store.urls import ensure_parent_dir, is_postgres

__all__ = [
    "alembic_config",
    "current_revision",
    "key_lock",
    "sync_engine",
    "sync_url",
    "upgrade_postgres",
    "upsert",
]

CONNECT_TIMEOUT_S = 5  # an unreachable PostgreSQL fails a request (503) or a start this fast
POOL_TIMEOUT_S = 30  # waiting for a free pooled connection longer than this is a 503, not a hang
MIGRATION_LOCK = 0x46414B45_41490001  # pg_advisory_xact_lock key of `upgrade` ("FAKEAI" + 1)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
    # WAL lets readers run beside the one writer; busy_timeout makes a second writer wait
    # instead of failing with "database is locked"; NORMAL is durable enough under WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_LOOPBACK = {"127.0.0.1", "localhost", "::1", None, ""}


def _asyncpg_args(url: str) -> dict[str, Any]:
    """asyncpg's connect arguments: a short connect timeout, and no TLS to a loopback server unless the
    URL asks for it (``?ssl=require``): asyncpg would otherwise try TLS first on every new connection
    (its default is "prefer"), which buys nothing on one machine and costs a handshake per connect."""
    parsed = make_url(url)
    args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S, "server_settings": {"application_name": "fakeai"}}
    if parsed.host in _LOOPBACK and not ({"ssl", "sslmode"} & set(parsed.query)):
        args["ssl"] = False
    return args


def create_engine(
    url: str, *, pool_size: int = DEFAULT_POOL_SIZE, max_overflow: int = DEFAULT_MAX_OVERFLOW
) -> AsyncEngine:
    ensure_parent_dir(url)
    if is_postgres(url):
        # No pre-ping (a round trip per checkout): a connection that died with the server raises a
        # disconnect error, SQLAlchemy then drops every pooled connection and the next request
        # connects afresh, so the server recovers from a PostgreSQL restart by itself.
        return create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=POOL_TIMEOUT_S,
            pool_recycle=1800,
            connect_args=_asyncpg_args(url),
        )
    engine = create_async_engine(url, pool_pre_ping=False)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


# -- what differs inside a transaction ------------------------------------------------------------

RECORD_LOCKS = 0x4641  # first half of the two-int advisory lock keys that serialise one cassette key


def key_lock(conn: Connection, namespace: int, key: str) -> None:
    """Serialise the transactions working on ``key`` until they commit, across processes and hosts.

    PostgreSQL: a transaction-scoped advisory lock on (namespace, crc32 of the key) — a collision
    only makes two unrelated keys wait for each other. SQLite needs nothing: it runs one writing
    transaction at a time for the whole file."""
    if conn.dialect.name == "postgresql":
        slot = zlib.crc32(key.encode()) - 2**31  # int4 range
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :slot)"), {"ns": namespace, "slot": slot})


def upsert(conn: Connection):  # noqa: ANN201 - the dialect's insert(), which has on_conflict_do_update
    """The ``insert`` construct with ``ON CONFLICT ... DO UPDATE`` of this connection's dialect."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


# -- synchronous access (migrations, `fakeai cassettes`) -------------------------------------------


def sync_url(url: str) -> URL:
    """The synchronous twin of an async URL (``sqlite+aiosqlite`` → ``sqlite``, ``postgresql+asyncpg``
    → ``postgresql+psycopg``); credentials and query are kept."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_driver_name() in ("aiomysql", "asyncmy"):
        return parsed.set(drivername=backend)
    return parsed


def _sqlite_busy_timeout(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
    # A running server may be writing (WAL); wait for it instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def sync_engine(url: str, **kwargs: Any) -> Engine:
    """A synchronous engine on the same database (SQLite waits for a busy writer; PostgreSQL gives
    up connecting after ``CONNECT_TIMEOUT_S``)."""
    target = sync_url(url)
    if target.get_backend_name() == "postgresql":
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "fakeai"}
        if target.host in _LOOPBACK and not ({"ssl", "sslmode"} & set(target.query)):
            connect_args["sslmode"] = "disable"  # as for asyncpg: no TLS on one machine unless asked
        kwargs.setdefault("connect_args", connect_args)
    engine = create_sync_engine(target, **kwargs)
    if target.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_busy_timeout)
    return engine


def alembic_config(url: str):  # noqa: ANN201 - alembic.config.Config, imported lazily
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("fakeai._migrations")))
    # ConfigParser interpolation would choke on '%' in a URL.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _revision_on(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade_postgres(url: str, revision: str) -> None:
    """``upgrade_database`` on PostgreSQL: one transaction under the migration advisory lock.

    Through asyncpg, as the server itself connects (a server process never loads libpq)."""
    import asyncio

    asyncio.run(_upgrade_postgres_async(url, revision))


async def _upgrade_postgres_async(url: str, revision: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool, connect_args=_asyncpg_args(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            await conn.run_sync(_upgrade_on, url, revision)
    finally:
        await engine.dispose()


def _upgrade_on(conn: Connection, url: str, revision: str) -> None:
    if revision == "head" and _revision_on(conn) == SCHEMA_HEAD:
        return
    from alembic import command

    config = alembic_config(url)
    config.attributes["connection"] = conn  # env.py migrates on it, inside this transaction
    command.upgrade(config, revision)


def current_revision(url: str) -> str | None:
    """The revision the database is at (None when never migrated)."""
    if is_postgres(url):
        import asyncio

        async def read() -> str | None:
            engine = create_async_engine(url, poolclass=NullPool, connect_args=_asyncpg_args(url))
            try:
                async with engine.connect() as conn:
                    return await conn.run_sync(_revision_on)
            finally:
                await engine.dispose()

        return asyncio.run(read())
    engine = sync_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _revision_on(conn)
    finally:
        engine.dispose()
