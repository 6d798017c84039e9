"""Engine creation (with the SQLite pragmas that let several workers share one file) and the
programmatic Alembic upgrade."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from importlib import resources

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from fakeai.settings import STATE_DIR

__all__ = ["Database", "alembic_config", "upgrade_database"]

BUSY_TIMEOUT_MS = 30_000


def _is_sqlite(url: str) -> bool:
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


def create_engine(url: str) -> AsyncEngine:
    _ensure_parent_dir(url)
    engine = create_async_engine(url, pool_pre_ping=False)
    if _is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """An engine and its session factory; one per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(self.engine, expire_on_commit=False)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(url: str):  # noqa: ANN201 - alembic.config.Config, imported lazily
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("fakeai._migrations")))
    # ConfigParser interpolation would choke on '%' in a URL.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# The newest Alembic revision in migrations/versions. A test checks it against Alembic's own head;
# knowing it here lets a server start skip importing Alembic when the database is already current.
SCHEMA_HEAD = "0005"


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


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision``. Synchronous: call it from a thread inside a loop.

    Several processes may start on one SQLite file at once (workers, a recorder beside a replayer):
    the upgrade runs under an exclusive lock file, and a database already at head is left alone
    without even importing Alembic.
    """
    _ensure_parent_dir(url)
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


def current_revision(url: str) -> str | None:
    """The revision the database is at (None when never migrated)."""
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext

    sync_url = make_url(url)
    if sync_url.drivername == "sqlite+aiosqlite":
        sync_url = sync_url.set(drivername="sqlite")
    engine = sa.create_engine(sync_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
