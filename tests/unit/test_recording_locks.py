"""The recording lock a server's workers share: a key held by one process waits in another; keys
of one stripe held in one process keep the stripe until the last of them is released."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

from fakeai.modes.single_flight import STRIPES, ServerRecordingLocks


def _same_stripe(key: str) -> str:
    stripe = zlib.crc32(key.encode()) % STRIPES
    for i in range(10**7):
        other = f"{i:064x}"
        if other != key and zlib.crc32(other.encode()) % STRIPES == stripe:
            return other
    raise AssertionError("no key of the same stripe")


def _hold_elsewhere(directory: Path, keys: list[str], seconds: float) -> subprocess.Popen:
    """Another process takes ``keys`` (printing "held"), keeps them ``seconds``, then exits."""
    code = textwrap.dedent(f"""
        import asyncio, sys, time
        from pathlib import Path
        from fakeai.modes.single_flight import ServerRecordingLocks
        async def main():
            locks = ServerRecordingLocks(Path({str(directory)!r}))
            for key in {keys!r}:
                await locks.acquire(key)
            print("held", flush=True)
            time.sleep({seconds})
        asyncio.run(main())
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _waited(locks: ServerRecordingLocks, key: str) -> float:
    async def take() -> float:
        started = time.perf_counter()
        release = await locks.acquire(key)
        release()
        return time.perf_counter() - started

    return asyncio.run(take())


def test_a_key_held_by_another_worker_waits_and_other_stripes_do_not(tmp_path: Path):
    key, free = "a" * 64, "b" * 64
    assert zlib.crc32(key.encode()) % STRIPES != zlib.crc32(free.encode()) % STRIPES
    proc = _hold_elsewhere(tmp_path, [key], 0.6)
    try:
        locks = ServerRecordingLocks(tmp_path)
        assert _waited(locks, free) < 0.3
        assert _waited(locks, key) > 0.3  # until the other process let go
    finally:
        proc.wait(10)


def test_a_stripe_shared_in_one_worker_is_kept_until_its_last_key_is_released(tmp_path: Path):
    first = "c" * 64
    second = _same_stripe(first)
    locks = ServerRecordingLocks(tmp_path)

    async def two_then_one() -> None:
        release_first = await locks.acquire(first)
        release_second = await asyncio.wait_for(locks.acquire(second), 0.5)  # shared, not waited for
        release_first()
        # Another process must still wait: this worker holds the stripe for ``second``.
        code = textwrap.dedent(f"""
            import asyncio, time
            from pathlib import Path
            from fakeai.modes.single_flight import ServerRecordingLocks
            async def main():
                print("trying", flush=True)
                started = time.perf_counter()
                (await ServerRecordingLocks(Path({str(tmp_path)!r})).acquire({first!r}))()
                print(time.perf_counter() - started, flush=True)
            asyncio.run(main())
        """)
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=subprocess.PIPE)
        assert proc.stdout is not None and (await proc.stdout.readline()).strip() == b"trying"
        await asyncio.sleep(0.5)
        release_second()
        out, _ = await proc.communicate()
        assert float(out) > 0.3

    asyncio.run(two_then_one())
