"""``Database``: an engine and its session factory, one per process; the engine may come on first use.

Apart from ``engine`` (which imports SQLAlchemy) so that a synthetic server can hold a ``Database``
from its start and load SQLAlchemy only when a request needs the store (files, images by URL, stored
responses): ``lazy=True``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from fakeai.store.urls import is_postgres, lazy_engine_ok

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

__all__ = ["DEFAULT_MAX_OVERFLOW", "DEFAULT_POOL_SIZE", "Database"]

DEFAULT_POOL_SIZE = 5  # PostgreSQL connections kept per worker process ...
DEFAULT_MAX_OVERFLOW = 10  # ... and how many more it may open under a burst


class Database:
    """An engine and its session factory; one per process.

    ``lazy=True`` puts off creating the engine (and importing SQLAlchemy) until ``engine`` or
    ``sessions`` is first read, for the plain SQLite file URLs where that cannot move an error (see
    ``urls.lazy_engine_ok``); any other URL gets its engine at once, as without ``lazy``.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_overflow: int = DEFAULT_MAX_OVERFLOW,
        lazy: bool = False,
    ) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self._pool = (pool_size, max_overflow)
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        # Requests run on one loop, but the store is also used from threads (asyncio.to_thread):
        # whoever comes first creates the one engine, the others wait for it.
        self._lock = threading.Lock()
        if not (lazy and lazy_engine_ok(url)):
            self._create()

    @property
    def engine(self) -> AsyncEngine:
        engine = self._engine
        return engine if engine is not None else self._create()[0]

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        sessions = self._sessions
        return sessions if sessions is not None else self._create()[1]

    def _create(self) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
        with self._lock:
            if self._engine is None:
                from sqlalchemy.ext.asyncio import async_sessionmaker

                from fakeai.store.engine import create_engine

                pool_size, max_overflow = self._pool
                engine = create_engine(self.url, pool_size=pool_size, max_overflow=max_overflow)
                self._sessions = async_sessionmaker(engine, expire_on_commit=False)
                self._engine = engine  # last: a reader that sees the engine also sees its sessions
            return self._engine, self._sessions  # type: ignore[return-value]

    async def dispose(self) -> None:
        if self._engine is not None:  # a lazy engine never created has nothing to close
            await self._engine.dispose()
