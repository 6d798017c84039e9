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

import errno
import fcntl
import os
import socket
import sqlite3
import zlib
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from fakeai.settings import STATE_DIR

__all__ = [
    "Database",
    "alembic_config",
    "current_revision",
    "is_postgres",
    "is_unavailable",
    "key_lock",
    "sync_engine",
    "sync_url",
    "upgrade_database",
    "upsert",
]

BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 5  # an unreachable PostgreSQL fails a request (503) or a start this fast
POOL_TIMEOUT_S = 30  # waiting for a free pooled connection longer than this is a 503, not a hang
DEFAULT_POOL_SIZE = 5  # PostgreSQL connections kept per worker process ...
DEFAULT_MAX_OVERFLOW = 10  # ... and how many more it may open under a burst
MIGRATION_LOCK = 0x46414B45_41490001  # pg_advisory_xact_lock key of `upgrade` ("FAKEAI" + 1)


def is_postgres(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _ensure_parent_dir(url: str) -> None:
    if _is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path)) or "."
            made = not os.path.isdir(parent)
            os.makedirs(parent, exist_ok=True)
            if made and os.path.basename(parent) == STATE_DIR:
                # FakeAI's own state directory (the default --db's) keeps itself out of git, as
                # .pytest_cache does: committing a project never sweeps the database in.
                with open(os.path.join(parent, ".gitignore"), "w", encoding="utf-8") as ignore:
                    ignore.write("# made by FakeAI: local state, never committed\n*\n")


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
    _ensure_parent_dir(url)
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
    if _is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """An engine and its session factory; one per process."""

    def __init__(
        self, url: str, *, pool_size: int = DEFAULT_POOL_SIZE, max_overflow: int = DEFAULT_MAX_OVERFLOW
    ) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self.engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(self.engine, expire_on_commit=False)

    async def dispose(self) -> None:
        await self.engine.dispose()


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


# -- faults of the database itself ------------------------------------------------------------------

_CONNECTION_ERRNOS = {
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH,
    errno.ETIMEDOUT, errno.EPIPE,
}  # fmt: skip
_ASYNCPG_UNAVAILABLE = (
    "PostgresConnectionError",  # 08xxx
    "CannotConnectNowError",  # 57P03: starting up / shutting down
    "AdminShutdownError",  # 57P01: terminated by a shutdown
    "CrashShutdownError",
    "TooManyConnectionsError",  # 53300
    "ConnectionDoesNotExistError",  # the connection was closed under the query
    "InterfaceError",
)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) means the database cannot be reached right now —
    refused, reset, restarting, out of connections, timed out — rather than a bug: the request
    that needed it gets a retryable 503 instead of a 500."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (TimeoutError, sa_exc.TimeoutError, socket.gaierror, ConnectionError)):
            return True
        if isinstance(current, OSError) and (
            current.errno in _CONNECTION_ERRNOS or "Multiple exceptions" in str(current)
        ):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if type(current).__module__.startswith("asyncpg") and any(
            cls.__name__ in _ASYNCPG_UNAVAILABLE for cls in type(current).__mro__
        ):
            return True
        pending.extend((getattr(current, "orig", None), current.__cause__, current.__context__))
    return False


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


# The newest Alembic revision in migrations/versions. A test checks it against Alembic's own head;
# knowing it here lets a server start skip importing Alembic when the database is already current.
SCHEMA_HEAD = "0007"


def _sqlite_path(url: str) -> str | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return os.path.abspath(parsed.database)


def _sqlite_revision(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return row[0] if row else None


def _revision_on(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision``. Synchronous: call it from a thread inside a loop.

    Several processes may start on one database at once (workers, replicas, a recorder beside a
    replayer) and exactly one upgrades it: on SQLite under an exclusive lock file (a database
    already at head is left alone without even importing Alembic); on PostgreSQL inside one
    transaction holding an advisory lock (the DDL is transactional, so a replica waiting on the lock
    then finds the schema at head and does nothing).
    """
    _ensure_parent_dir(url)
    if is_postgres(url):
        _upgrade_postgres(url, revision)
        return
    path = _sqlite_path(url)
    if path is not None and revision == "head" and _sqlite_revision(path) == SCHEMA_HEAD:
        return
    from alembic import command  # only when there is work to do

    if path is None:
        command.upgrade(alembic_config(url), revision)
        return
    with open(path + ".migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if revision != "head" or _sqlite_revision(path) != SCHEMA_HEAD:
                command.upgrade(alembic_config(url), revision)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _upgrade_postgres(url: str, revision: str) -> None:
    # Through asyncpg, as the server itself connects (a server process never loads libpq).
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
