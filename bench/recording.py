"""What recording adds, beside what any Python hop adds, on this machine in one run.

    python bench/recording.py [--rounds 3] [--samples 200] [--duration 3]

A synthetic FakeAI is the upstream. Three ways to reach it are measured in turn, each round, with
distinct chat requests (so every recording is a new cassette):
- direct: straight to the upstream;
- bare proxy: ``bench/bare_proxy.py``, a bare Litestar app relaying over the recorder's own HTTP
  client and storing nothing (the floor for a Python hop on this stack);
- recorder: FakeAI ``--mode record`` (SQLite), storing every exchange.

Figures, medians over the rounds (in ms): a whole answer's latency (one request at a time, median of
``--samples``); a stream's first body bytes (the same); and wrk's p50 at 32 concurrent clients (which
on two cores is mostly queueing behind each server's CPU: wrk, the upstream and the hop share them).
Each hop's "added" is its figure minus direct; the recorder's own share is recorder minus bare proxy.
Writes bench/results/recording.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.replay import chat_body, first_bytes, latencies  # noqa: E402
from bench.run import save_results, wrk_p50_ms  # noqa: E402
from fakeai.cassettes.server_process import ServerProcess, free_port  # noqa: E402

PATH = "/v1/chat/completions"


def start_proxy(upstream: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare_proxy:app", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT, env={**os.environ, "BARE_UPSTREAM": upstream},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the bare proxy did not start")


def measure(url: str, base: int, samples: int, duration: float, distinct: int) -> dict[str, float]:
    latencies(url, base, 20)  # warm-up: connections, caches
    whole = statistics.median(latencies(url, base + 10**5, samples)) * 1e3
    first = statistics.median(first_bytes(url, base + 2 * 10**5, samples)) * 1e3
    bodies = [chat_body(base + 3 * 10**5 + i, False) for i in range(distinct)]
    p50 = wrk_p50_ms(url, PATH, bodies, duration, 32)
    return {"whole_ms": whole, "first_byte_ms": first, "p50_32_clients_ms": p50}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--distinct", type=int, default=5000)
    args = parser.parse_args()
    names = ("direct", "bare proxy", "recorder")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(db=f"{tmp}/upstream.db") as upstream:
        proxy, proxy_url = start_proxy(upstream.root_url)
        try:
            with ServerProcess("--mode", "record", "--upstream", upstream.base_url, db=f"{tmp}/rec.db") as rec:
                urls = {"direct": upstream.root_url, "bare proxy": proxy_url, "recorder": rec.root_url}
                for r in range(args.rounds):
                    for i, name in enumerate(names):
                        row = measure(urls[name], (r * 10 + i + 1) * 10**6, args.samples, args.duration, args.distinct)
                        runs[name].append(row)
                        print(f"round {r + 1} {name:<10} " + "  ".join(f"{k} {v:.2f}" for k, v in row.items()),
                              flush=True)
        finally:
            proxy.terminate()
            proxy.wait()
    figures = {name: {k: statistics.median(row[k] for row in rows) for k in rows[0]} for name, rows in runs.items()}
    print(f"\nmedians of {args.rounds} rounds, ms: {'direct':>8} {'proxy':>8} {'recorder':>9} "
          f"{'proxy +':>8} {'recorder +':>10} {'recording own':>13}")
    for k in figures["direct"]:
        d, p, r = figures["direct"][k], figures["bare proxy"][k], figures["recorder"][k]
        print(f"{k:<34} {d:8.2f} {p:8.2f} {r:9.2f} {p - d:8.2f} {r - d:10.2f} {r - p:13.2f}")
    save_results("recording.json", {"rounds": runs, "medians": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
