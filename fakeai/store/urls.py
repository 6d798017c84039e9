"""Reading database URLs without importing SQLAlchemy (~0.2-0.45 s of a start) where that is safe.

A synthetic server only needs the store for files, images and stored responses, and must not pay for
SQLAlchemy at start. The URLs it is given are nearly always the ones ``Settings.db_url`` makes of a
path (``sqlite+aiosqlite:///<absolute path>``); those are read here with one regular expression. Any
other URL (PostgreSQL, a query string, percent-escapes) goes to SQLAlchemy's ``make_url``, so its
reading (and its errors) stay SQLAlchemy's own.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from fakeai.settings import STATE_DIR

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["backend_and_database", "ensure_parent_dir", "is_postgres", "lazy_engine_ok", "sqlite_path"]

# What make_url reads as (drivername, database) when the URL has no host, no query and nothing to unquote:
# everything after "sqlite[+driver]:///" is the database, as SQLAlchemy's own pattern has it.
_PLAIN_SQLITE = re.compile(r"(sqlite(?:\+\w+)?):///([^?%\n]*)")


def _plain(url: str | URL) -> tuple[str, str] | None:
    if not isinstance(url, str):
        return None
    match = _PLAIN_SQLITE.fullmatch(url)
    return (match.group(1), match.group(2)) if match else None


def backend_and_database(url: str | URL) -> tuple[str, str | None]:
    """``make_url(url).get_backend_name()`` and ``.database``."""
    plain = _plain(url)
    if plain is not None:
        return "sqlite", plain[1]
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.get_backend_name(), parsed.database


def is_postgres(url: str | URL) -> bool:
    return backend_and_database(url)[0] == "postgresql"


def lazy_engine_ok(url: str) -> bool:
    """True when creating the async engine for ``url`` can be put off until first use without moving
    an error: a plain ``sqlite+aiosqlite`` file URL (aiosqlite is a dependency). Other URLs may name a
    driver that is missing or not async, which ``create_async_engine`` reports at once."""
    plain = _plain(url)
    return plain is not None and plain[0] == "sqlite+aiosqlite"


def sqlite_path(url: str | URL) -> str | None:
    """The absolute path of an SQLite file database (None: another backend, or in memory)."""
    backend, database = backend_and_database(url)
    if backend != "sqlite" or database in (None, "", ":memory:"):
        return None
    return os.path.abspath(database)


def ensure_parent_dir(url: str | URL) -> None:
    backend, path = backend_and_database(url)
    if backend == "sqlite" and path and path != ":memory:":
        parent = os.path.dirname(os.path.abspath(path)) or "."
        made = not os.path.isdir(parent)
        os.makedirs(parent, exist_ok=True)
        if made and os.path.basename(parent) == STATE_DIR:
            # FakeAI's own state directory (the default --db's) keeps itself out of git, as
            # .pytest_cache does: committing a project never sweeps the database in.
            with open(os.path.join(parent, ".gitignore"), "w", encoding="utf-8") as ignore:
                ignore.write("# made by FakeAI: local state, never committed\n*\n")
