"""``upgrade_database``: bring a schema up to date, as every server does at start.

Apart from ``engine`` so that the common start — an SQLite file already at head — reads one row with
the standard ``sqlite3`` module and imports neither Alembic nor SQLAlchemy. A new database, one that
needs upgrading, any other revision and PostgreSQL go through Alembic as before.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3

from fakeai.store.urls import ensure_parent_dir, is_postgres, sqlite_path

__all__ = ["BUSY_TIMEOUT_MS", "SCHEMA_HEAD", "sqlite_revision", "upgrade_database"]

BUSY_TIMEOUT_MS = 30_000

# The newest Alembic revision in migrations/versions. A test checks it against Alembic's own head;
# knowing it here lets a server start skip importing Alembic when the database is already current.
SCHEMA_HEAD = "0007"


def sqlite_revision(path: str) -> str | None:
    """The revision an SQLite file is at (None: no file, never migrated, or unreadable)."""
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

    Several processes may start on one database at once (workers, replicas, a recorder beside a
    replayer) and exactly one upgrades it: on SQLite under an exclusive lock file (a database
    already at head is left alone without even importing Alembic or SQLAlchemy); on PostgreSQL
    inside one transaction holding an advisory lock (the DDL is transactional, so a replica waiting
    on the lock then finds the schema at head and does nothing).
    """
    ensure_parent_dir(url)
    if is_postgres(url):
        from fakeai.store.engine import upgrade_postgres

        upgrade_postgres(url, revision)
        return
    path = sqlite_path(url)
    if path is not None and revision == "head" and sqlite_revision(path) == SCHEMA_HEAD:
        return
    from alembic import command  # only when there is work to do

    from fakeai.store.engine import alembic_config

    if path is None:
        command.upgrade(alembic_config(url), revision)
        return
    with open(path + ".migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if revision != "head" or sqlite_revision(path) != SCHEMA_HEAD:
                command.upgrade(alembic_config(url), revision)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
