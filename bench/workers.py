"""FakeAI with ``--workers 2`` against ``--workers 1``, per path, in one run.

    python bench/workers.py [--only chat-oss,stream] [--duration 5]

Same scenarios as bench/run.py (synthetic mode; no baseline app). Prints requests/s (chunks/s for
streams) for each worker count and the factor 2 workers / 1. On a 2-core machine wrk runs on the same
cores as the workers, so the factor is well below 2 even when the server scales perfectly.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import events_per_response, wrk  # noqa: E402
from bench.scenarios import SCENARIOS  # noqa: E402
from fakeai.cassettes.server_process import ServerProcess  # noqa: E402


def rate(url: str, scenario, duration: float, connections: int) -> float:  # noqa: ANN001
    body = list(scenario.distinct) if scenario.distinct else scenario.body
    wrk(url, scenario.fakeai_path, body, 1, connections)  # warm-up
    rps = wrk(url, scenario.fakeai_path, body, duration, connections)
    if scenario.stream:
        rps *= events_per_response(url, scenario.fakeai_path, scenario.body)
    return rps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", default="chat-oss,stream,emb-distinct,rank-distinct")
    args = parser.parse_args()
    wanted = [s for s in SCENARIOS if s.name in args.only.split(",")]
    rates: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            with ServerProcess("--workers", str(workers), db=f"{tmp}/w{workers}.db") as server:
                rates[workers] = {s.name: rate(server.root_url, s, args.duration, args.connections) for s in wanted}
    for s in wanted:
        one, two = rates[1][s.name], rates[2][s.name]
        unit = "chunks/s" if s.stream else "req/s"
        print(f"{s.name:<14} 1 worker {one:9.0f} {unit}  2 workers {two:9.0f} {unit}  factor {two / one:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
