"""One recording per cassette key at a time (``--on-miss record``).

Concurrent identical replay misses would each forward and each store an episode; instead the first
records while the others wait, then find its cassette and replay it. ``RecordingLocks`` is the seam:
``release = await locks.acquire(key)`` ... ``release()`` (idempotent; held until the recording is
stored, which for a stream is after its last event). ``ServerRecordingLocks`` covers one server: an
asyncio lock per key within a worker, then a POSIX record lock on one byte per stripe of keys, of one
file in the run directory, across its workers. Record mode takes the same lock to keep one key's writes in the order
their answers went out (``fakeai.modes.record``). Replicas sharing a PostgreSQL store can get the same with another implementation of
this protocol (say, ``pg_advisory_lock`` on the key's first 8 bytes) passed to the ``Dispatcher``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

__all__ = ["RecordingLocks", "ServerRecordingLocks"]

Release = Callable[[], None]
POLL_SECONDS = 0.005  # how often a waiter retries another worker's lock
STRIPES = 1 << 16  # bytes of the lock file: keys of one stripe wait for each other across workers
LOCK_FILE = "stripes.lock"


class RecordingLocks(Protocol):
    async def acquire(self, key: str) -> Release: ...


class ServerRecordingLocks:
    """Per-key locks shared by the workers of one server (``directory``: in its run directory)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}  # key -> (lock, holders and waiters)
        self._fd: int | None = None  # the stripes file, open for the life of the worker
        self._stripes: dict[int, int] = {}  # stripe -> keys of this worker holding it

    async def acquire(self, key: str) -> Release:
        lock, users = self._local.get(key) or (asyncio.Lock(), 0)
        self._local[key] = (lock, users + 1)
        try:
            await lock.acquire()
        except BaseException:
            self._leave(key)
            raise
        try:
            stripe = await self._stripe_lock(key) if self.directory is not None else None
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
            if stripe is not None:
                self._stripe_unlock(stripe)
            lock.release()
            self._leave(key)

        return release

    def _leave(self, key: str) -> None:
        lock, users = self._local[key]
        if users <= 1:
            del self._local[key]  # nobody else holds or waits: the table stays as small as the traffic
        else:
            self._local[key] = (lock, users - 1)

    async def _stripe_lock(self, key: str) -> int:
        # One byte of one file per stripe of keys (record mode takes this lock for every recording:
        # a file per key, or opening a file per recording, cost more than the rest of the lock).
        # POSIX record locks belong to the process, so this worker's holders of a stripe share it,
        # counted, and the byte is unlocked when the last one leaves. Non-blocking tries: a waiting
        # coroutine can be cancelled at any point without leaving a thread that takes the lock later
        # for nobody. Contention is rare (identical misses at once, or two keys of one stripe).
        stripe = zlib.crc32(key.encode()) % STRIPES
        fd = self._file()
        while True:
            holders = self._stripes.get(stripe, 0)
            if holders:
                self._stripes[stripe] = holders + 1
                return stripe
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, stripe)
            except OSError:  # EAGAIN or EACCES: another worker holds the stripe
                await asyncio.sleep(POLL_SECONDS)
                continue
            self._stripes[stripe] = 1
            return stripe

    def _stripe_unlock(self, stripe: int) -> None:
        holders = self._stripes.pop(stripe)
        if holders > 1:
            self._stripes[stripe] = holders - 1
        elif self._fd is not None:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, stripe)

    def _file(self) -> int:
        if self._fd is None:
            assert self.directory is not None
            self._fd = os.open(self.directory / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)
        return self._fd
