"""One recording per cassette key at a time (``--on-miss record``).

Concurrent identical replay misses would each forward and each store an episode; instead the first
records while the others wait, then find its cassette and replay it. ``RecordingLocks`` is the seam:
``release = await locks.acquire(key)`` ... ``release()`` (idempotent; held until the recording is
stored, which for a stream is after its last event). ``ServerRecordingLocks`` covers one server: an
asyncio lock per key within a worker, then an ``flock`` on a file per stripe of keys in the run
directory across its workers. Record mode takes the same lock to keep one key's writes in the order
their answers went out (``fakeai.modes.record``). Replicas sharing a PostgreSQL store can get the same with another implementation of
this protocol (say, ``pg_advisory_lock`` on the key's first 8 bytes) passed to the ``Dispatcher``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

__all__ = ["RecordingLocks", "ServerRecordingLocks"]

Release = Callable[[], None]
POLL_SECONDS = 0.005  # how often a waiter retries another worker's file lock
STRIPE_CHARS = 3  # leading hex digits of the key naming its lock file: at most 4,096 files


class RecordingLocks(Protocol):
    async def acquire(self, key: str) -> Release: ...


class ServerRecordingLocks:
    """Per-key locks shared by the workers of one server (``directory``: in its run directory)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}  # key -> (lock, holders and waiters)

    async def acquire(self, key: str) -> Release:
        lock, users = self._local.get(key) or (asyncio.Lock(), 0)
        self._local[key] = (lock, users + 1)
        try:
            await lock.acquire()
        except BaseException:
            self._leave(key)
            raise
        try:
            fd = await self._file_lock(key) if self.directory is not None else None
        except BaseException:
            lock.release()
            self._leave(key)
            raise
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            if fd is not None:
                os.close(fd)  # closing the descriptor drops the flock
            lock.release()
            self._leave(key)

        return release

    def _leave(self, key: str) -> None:
        lock, users = self._local[key]
        if users <= 1:
            del self._local[key]  # nobody else holds or waits: the table stays as small as the traffic
        else:
            self._local[key] = (lock, users - 1)

    async def _file_lock(self, key: str) -> int:
        # Non-blocking tries: a waiting coroutine can be cancelled at any point without leaving a
        # thread that takes the lock later for nobody. Contention is rare (identical misses at once).
        assert self.directory is not None
        # One file per stripe of keys, not per key: record mode takes this lock for every recording,
        # and a million recordings must not leave a million files. Two keys of one stripe only wait
        # for each other's (short) hold.
        fd = os.open(self.directory / f"{key[:STRIPE_CHARS]}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    await asyncio.sleep(POLL_SECONDS)
        except BaseException:
            os.close(fd)
            raise
