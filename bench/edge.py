"""The edge's cost over HTTP: FakeAI with rate limits off, with them on, and (optionally) another
checkout of FakeAI, measured in turns (A B C A B C ...) so a machine whose load drifts treats each
alike. Prints, for each, the median requests/s and the median server CPU time per request (user +
system of the one worker, from /proc): on a loaded machine throughput swings with the neighbours,
CPU per request much less, so the CPU figure is the one to compare.

    python bench/edge.py                                  # off vs on, chat, 5 rounds of 3 s
    python bench/edge.py --base /tmp/main-checkout        # + a checkout without the edge (PYTHONPATH)
    python bench/edge.py --stream --rounds 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import wrk  # noqa: E402
from bench.scenarios import SCENARIOS  # noqa: E402
from fakeai.cassettes.server_process import ServerProcess  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


LIMITS_ON = ("--rate-limit-rpm", "1000000000", "--rate-limit-tpm", "1000000000000")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="a FakeAI checkout to compare with (put first on PYTHONPATH)")
    parser.add_argument("--stream", action="store_true", help="the 100-token stream instead of whole chat answers")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    scenario = next(s for s in SCENARIOS if s.name == ("stream" if args.stream else "chat"))
    with tempfile.TemporaryDirectory() as tmp:
        variants = []
        if args.base:
            variants.append(("base", ServerProcess(db=f"{tmp}/base.db", env={"PYTHONPATH": args.base})))
        variants.append(("limits off", ServerProcess(db=f"{tmp}/off.db")))
        variants.append(("limits on", ServerProcess(*LIMITS_ON, db=f"{tmp}/on.db")))
        for _, server in variants:
            server.start()
        try:
            rates: dict[str, list[float]] = {name: [] for name, _ in variants}
            cpu_us: dict[str, list[float]] = {name: [] for name, _ in variants}
            for _, server in variants:  # warm up
                wrk(server.root_url, scenario.fakeai_path, scenario.body, 1, args.connections)
            for _ in range(args.rounds):
                for name, server in variants:
                    before = cpu_seconds(server.proc.pid)
                    rate = wrk(server.root_url, scenario.fakeai_path, scenario.body, args.duration, args.connections)
                    rates[name].append(rate)
                    cpu_us[name].append((cpu_seconds(server.proc.pid) - before) / (rate * args.duration) * 1e6)
        finally:
            for _, server in variants:
                server.stop()
    first = statistics.median(rates[variants[0][0]])
    first_cpu = statistics.median(cpu_us[variants[0][0]])
    for name, values in rates.items():
        median, cpu = statistics.median(values), statistics.median(cpu_us[name])
        print(f"{scenario.name:<7} {name:<11} {median:7.0f} req/s (x{median / first:.2f})  "
              f"CPU {cpu:6.1f} us/request (x{cpu / first_cpu:.3f})  cpu rounds: {', '.join(f'{v:.0f}' for v in cpu_us[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
