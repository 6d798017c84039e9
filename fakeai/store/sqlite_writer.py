"""SQLite writes on the event loop's own thread, handed to a worker thread only when they would wait.

Why: Python's ``sqlite3`` releases the GIL around every step of a statement. A writing thread gives
the GIL back to a busy event loop once per row and then waits for the interpreter's switch interval
(5 ms) to get it again, so under load a recorder's writer managed a few hundred cassettes a second
while it answered over a thousand: the backlog grew without bound (batches of 2,900 cassettes at 32
clients, measured). On the loop's thread those releases cost nothing, and a batch of cassettes is
~30 us a row of SQLite's own work.

What could block the loop stays off it: the connection's ``busy_timeout`` is 0, so a write lock held
elsewhere (another worker, the CLI) fails at once and the caller writes through its thread as before,
which waits; and it never checkpoints on commit (``wal_autocheckpoint=0``): every
``CHECKPOINT_COMMITS`` commits a passive checkpoint, with its fsyncs, runs in a thread of its own.
Any SQLite error rolls the transaction back and returns ``None``: nothing was written, and the
caller's usual path (with its retries and its errors) takes over.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

from fakeai.store.engine import _sqlite_pragmas

__all__ = ["CHECKPOINT_COMMITS", "LoopWriter"]

T = TypeVar("T")
CHECKPOINT_COMMITS = 200


class LoopWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._thread = threading.get_ident()
        self._commits = 0
        self._checkpointing = False

    def run(self, work: Callable[[sqlite3.Connection], T]) -> T | None:
        """``work(connection)`` in one transaction that takes the write lock at once, or ``None``
        (nothing written) if it could not without waiting, or failed."""
        if threading.get_ident() != self._thread:
            return None  # a connection belongs to the thread that made it
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            return None
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                self.close()  # a connection in an unknown state is not reused
            if isinstance(exc, sqlite3.Error):
                return None
            raise
        self._commits += 1
        if self._commits % CHECKPOINT_COMMITS == 0 and not self._checkpointing:
            self._checkpointing = True
            asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
        return result

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None)  # transactions are explicit
            _sqlite_pragmas(conn, None)  # the store's own (WAL, synchronous, foreign keys), then ours:
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._conn = conn
        return self._conn

    def _checkpoint(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=5)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error:
            pass  # the next one, or any other connection's automatic checkpoint, will do it
        finally:
            self._checkpointing = False

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except sqlite3.ProgrammingError:
                pass  # another thread's: it goes with its thread
