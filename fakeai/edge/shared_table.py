"""A small table in a memory-mapped file that every worker of one server reads and writes.

Rate-limit budgets and the fault sequence must be exact across ``--workers``: they live in one
file under the server's run directory (see ``fakeai.run_dir``), mapped by each worker and changed
only under an exclusive ``flock``. A read-modify-write is two syscalls (lock, unlock) plus a few
``struct`` reads on shared pages: a few microseconds, and only paid when limits or a fault seed
are configured.

Layout: a header (a request counter and a quota total) then ``SLOTS`` fixed-size slots, one per
API key, found by open addressing on a 64-bit hash of the key. A slot whose budgets have refilled
completely holds nothing worth keeping, so it is reused before any other (and when the probe
window is full of live keys, the stalest is).
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
from pathlib import Path

__all__ = ["Slot", "SharedTable"]

_HEADER = struct.Struct("<Qd48x")  # sequence counter, quota tokens used; padded to 64 bytes
_SLOT = struct.Struct("<Qdddd")  # key hash, request level, its time, token level, its time
SLOTS = 4096
PROBES = 64
SIZE = _HEADER.size + SLOTS * _SLOT.size


class Slot:
    """One key's budgets as read from the table: each a level (what is in use) and when it was set."""

    __slots__ = ("requests", "requests_at", "tokens", "tokens_at")

    def __init__(self, requests: float, requests_at: float, tokens: float, tokens_at: float) -> None:
        self.requests, self.requests_at, self.tokens, self.tokens_at = requests, requests_at, tokens, tokens_at


def key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1  # 0 = empty


class SharedTable:
    """The mapped file. Use ``with table:`` around every read-modify-write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self._fd).st_size < SIZE:  # the first worker to open it sizes it (zero-filled)
                os.ftruncate(self._fd, SIZE)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, SIZE)

    def __enter__(self) -> SharedTable:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    # -- header (call under the lock) ------------------------------------------------------------

    def next_sequence(self) -> int:
        """The server-wide number of this request (0, 1, 2, ...)."""
        counter, quota = _HEADER.unpack_from(self._map, 0)
        _HEADER.pack_into(self._map, 0, counter + 1, quota)
        return counter

    def quota_used(self) -> float:
        return _HEADER.unpack_from(self._map, 0)[1]

    def add_quota(self, tokens: float) -> None:
        counter, quota = _HEADER.unpack_from(self._map, 0)
        _HEADER.pack_into(self._map, 0, counter, quota + tokens)

    # -- slots (call under the lock) ---------------------------------------------------------------

    def find(self, hashed: int, idle_before: float) -> tuple[int, Slot]:
        """The slot of a key (hash), or a free one: empty, or last touched before ``idle_before``
        (its budgets are full again, so it holds nothing), or the stalest in the probe window."""
        start = hashed % SLOTS
        reusable = -1
        stalest, stalest_at = -1, float("inf")
        for i in range(PROBES):
            index = (start + i) % SLOTS
            offset = _HEADER.size + index * _SLOT.size
            owner, requests, requests_at, tokens, tokens_at = _SLOT.unpack_from(self._map, offset)
            if owner == hashed:
                return offset, Slot(requests, requests_at, tokens, tokens_at)
            if owner == 0:
                if reusable < 0:
                    reusable = offset
                break  # probing never passes an empty slot, so the key is not further on
            touched = max(requests_at, tokens_at)
            if reusable < 0 and touched < idle_before:
                reusable = offset
            if touched < stalest_at:
                stalest, stalest_at = offset, touched
        offset = reusable if reusable >= 0 else stalest
        _SLOT.pack_into(self._map, offset, hashed, 0.0, 0.0, 0.0, 0.0)
        return offset, Slot(0.0, 0.0, 0.0, 0.0)

    def store(self, offset: int, hashed: int, slot: Slot) -> None:
        _SLOT.pack_into(self._map, offset, hashed, slot.requests, slot.requests_at, slot.tokens, slot.tokens_at)

    def close(self) -> None:
        try:
            self._map.close()
        finally:
            os.close(self._fd)
