"""What the rate limiter costs per request, in-process (no HTTP): the flock pair alone, and a whole
``RateLimiter.admit`` (lock, slot lookup, two buckets, quota, headers) on a real mapped file.

    python bench/limits.py
"""

from __future__ import annotations

import fcntl
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakeai.edge.limits import RateLimiter  # noqa: E402
from fakeai.edge.request_cost import request_cost  # noqa: E402
from fakeai.edge.shared_table import SharedTable  # noqa: E402

N = 200_000
CHAT = (b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Summarise the history of the printing '
        b'press in a paragraph."}], "max_tokens": 100}')


def per_call(fn, n: int = N) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        table = SharedTable(Path(tmp) / "table")
        fd = table._fd

        def lock_pair() -> None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            fcntl.flock(fd, fcntl.LOCK_UN)

        limiter = RateLimiter(table, rpm=10**9, tpm=10**12, quota=0)
        keys = [f"sk-key-{i}" for i in range(16)]
        state = {"i": 0}

        def admit() -> None:
            state["i"] += 1
            limiter.admit(keys[state["i"] & 15], 130, None)

        print(f"flock + unlock       {per_call(lock_pair):6.2f} us")
        print(f"RateLimiter.admit    {per_call(admit):6.2f} us (rpm + tpm, 16 keys)")
        print(f"request_cost (chat)  {per_call(lambda: request_cost('/v1/chat/completions', CHAT), 50_000):6.2f} us")
        table.close()


if __name__ == "__main__":
    main()
