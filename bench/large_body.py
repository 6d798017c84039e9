"""A 100 MB upload beside a stream that must keep its timing, and one very large SSE event.

    python bench/large_body.py [--upload-mb 100]

1. A FakeAI in replay mode with --on-miss synthetic (so every request's cassette key is computed:
   sha256 and the multipart split of the whole body) and --itl-ms 10. A 2000-token stream (20 s, longer than the upload) runs alone,
   then again while a 100 MB file is uploaded; the stream's inter-event gaps (median, p99, max) are
   printed for both. Run it from another checkout (``cd /work/main && python
   /path/to/bench/large_body.py``) to measure that checkout's server: the servers start from the
   current directory's ``fakeai``.
2. In-process: one 1 MiB SSE event arriving in 4 KiB chunks, cut by fakeai's ``SSESplitter`` and by
   the rescan-the-buffer-per-chunk loop it replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after the cwd: the servers' fakeai wins

from fakeai.cassettes.server_process import ServerProcess  # noqa: E402

KEY = "sk-fakeai-1234567890abcdef"
STREAM = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2000,
          "ignore_eos": True, "stream": True}


async def stream_gaps(base_url: str) -> list[float]:
    gaps: list[float] = []
    async with httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {KEY}"}) as client:
        async with client.stream("POST", base_url + "/chat/completions", json=STREAM) as response:
            last = None
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                now = time.perf_counter()
                if last is not None:
                    gaps.append((now - last) * 1000)
                last = now
    return gaps


def upload(base_url: str, size: int) -> float:
    """In another process: building and sending 100 MB must not stall the loop reading the stream."""
    code = (
        "import os, sys, time, httpx\n"
        f"payload = os.urandom(1 << 20) * {size >> 20}\n"
        "start = time.perf_counter()\n"
        f"r = httpx.post({base_url + '/files'!r}, files={{'file': ('big.bin', payload)}}, data={{'purpose': 'assistants'}},"
        f" headers={{'Authorization': 'Bearer {KEY}'}}, timeout=300)\n"
        "r.raise_for_status()\n"
        "print(time.perf_counter() - start)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def summary(gaps: list[float]) -> str:
    gaps = sorted(gaps)
    return (f"{len(gaps)} gaps, median {statistics.median(gaps):.1f} ms, "
            f"p99 {gaps[int(len(gaps) * 0.99)]:.1f} ms, max {gaps[-1]:.1f} ms")


def server_part(upload_mb: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        args = ("--mode", "replay", "--on-miss", "synthetic", "--itl-ms", "10")
        with ServerProcess(*args, db=str(Path(tmp) / "big.db")) as server:
            alone = asyncio.run(stream_gaps(server.base_url))

            async def both() -> tuple[list[float], float]:
                stream = asyncio.create_task(stream_gaps(server.base_url))
                await asyncio.sleep(0.3)  # the stream is under way when the upload starts
                took = await asyncio.to_thread(upload, server.base_url, upload_mb * 1024 * 1024)
                return await stream, took

            beside, took = asyncio.run(both())
    print(f"stream alone:            {summary(alone)}")
    print(f"stream beside {upload_mb} MB upload: {summary(beside)} (upload took {took:.2f} s)")


_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def rescanning(chunks: list[bytes]) -> int:
    """The parser before: the whole buffer searched again for every chunk."""
    buffer, events = b"", 0
    for chunk in chunks:
        buffer += chunk
        start = 0
        for match in _EVENT_END.finditer(buffer):
            events += 1
            start = match.end()
        if start:
            buffer = buffer[start:]
    return events


def splitter_part() -> None:
    from fakeai.modes.upstream import SSESplitter

    event = b'data: {"blob": "' + b"x" * (1024 * 1024) + b'"}\n\n'
    chunks = [event[i : i + 4096] for i in range(0, len(event), 4096)]
    start = time.perf_counter()
    splitter = SSESplitter()
    assert sum(len(splitter.feed(c)) for c in chunks) == 1
    incremental = time.perf_counter() - start
    start = time.perf_counter()
    assert rescanning(chunks) == 1
    old = time.perf_counter() - start
    print(f"one 1 MiB event in 4 KiB chunks: SSESplitter {incremental * 1000:.1f} ms, rescanning {old * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upload-mb", type=int, default=100)
    parser.add_argument("--skip-server", action="store_true")
    options = parser.parse_args()
    if not options.skip_server:
        server_part(options.upload_mb)
    try:
        splitter_part()
    except ImportError:
        print("SSESplitter: not in this checkout")


if __name__ == "__main__":
    main()
