"""The engine clock under load, timed from outside by the Go stream-timing client (issue 14).

    python bench/engine_timing.py                      # 50/200/500/800 clients, all at once and steady state
    python bench/engine_timing.py --levels 200 --modes burst
    python bench/engine_timing.py --max-concurrency 64 --levels 32,64,128,256 --modes burst   # the queue's TTFT curve
    python bench/engine_timing.py --baseline           # the same runs against a bare Litestar app pacing by sleeps

One FakeAI worker at --ttft-ms 200 --itl-ms 20 (change with --ttft-ms/--itl-ms), 40-token streams. Prints one
line per run: TTFT p50/p90, ITL p50/p90, share of tokens arriving in bursts (gaps under 0.05 ms), streams
finished against the ideal (steady state: clients x measured seconds / ideal stream time), the server's
own mean TTFT from arrival (its vllm:time_to_first_token_seconds), and writes
bench/results/engine_timing.json. Builds the client from ../shared/tools/stream-timing with `go build` into a
temporary folder (needs Debian's golang-go). Everything runs on 127.0.0.1 and stops by itself.

``--baseline`` then repeats every run against ``bench/bare_app.py``'s paced endpoint (one uvicorn worker, one
sleep per token): what the stack itself delivers at the same load on the same machine, so a reader can
tell the fake's cost from the machine's limits (rows with ``"server": "bare"``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import save_results, start_bare  # noqa: E402
from fakeai.cassettes.server_process import ServerProcess  # noqa: E402

# ../shared/tools/stream-timing beside the clone (or beside the folder of worktrees); STREAM_TIMING_DIR overrides.
TOOL = Path(os.environ.get("STREAM_TIMING_DIR") or next(
    (p / "shared" / "tools" / "stream-timing" for p in (ROOT.parent, ROOT.parent.parent)
     if (p / "shared" / "tools" / "stream-timing").is_dir()), ROOT.parent / "shared" / "tools" / "stream-timing"))
TOKENS = 40


def build_tool(out_dir: Path) -> Path:
    if shutil.which("go") is None:
        sys.exit("go is missing: apt-get install -y golang-go")
    if not TOOL.is_dir():
        sys.exit(f"stream-timing not found at {TOOL}")
    binary = out_dir / "stream-timing"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=TOOL, check=True)
    return binary


def run_tool(binary: Path, url: str, clients: int, steady: bool, duration: int, warmup: int) -> dict:
    cmd = [str(binary), "-url", url, "-c", str(clients), "-tokens", str(TOKENS)]
    if steady:
        cmd += ["-duration", str(duration), "-warmup", str(warmup)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + warmup + 120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def server_ttft(url: str) -> tuple[float, float]:
    """(sum, count) of the server's own ``vllm:time_to_first_token_seconds``, over every model."""
    text = urllib.request.urlopen(url + "/metrics?format=prometheus", timeout=30).read().decode()
    total = count = 0.0
    for line in text.splitlines():
        if line.startswith("vllm:time_to_first_token_seconds_sum"):
            total += float(line.rsplit(" ", 1)[1])
        elif line.startswith("vllm:time_to_first_token_seconds_count"):
            count += float(line.rsplit(" ", 1)[1])
    return total, count


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", default="50,200,500,800")
    ap.add_argument("--modes", default="burst,steady", help="burst (all at once), steady (-duration/-warmup)")
    ap.add_argument("--ttft-ms", type=float, default=200)
    ap.add_argument("--itl-ms", type=float, default=20)
    ap.add_argument("--max-concurrency", type=int, default=0)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--baseline", action="store_true", help="also run every level against a bare paced app")
    args = ap.parse_args()
    flags = ["--ttft-ms", str(args.ttft_ms), "--itl-ms", str(args.itl_ms), "--log-level", "warning"]
    if args.max_concurrency:
        flags += ["--max-concurrency", str(args.max_concurrency)]
    ideal = (args.ttft_ms + args.itl_ms * (TOKENS - 1)) / 1000
    results = []

    def run_levels(server: str, url: str, own_ttft: bool) -> None:
        for mode in args.modes.split(","):
            for clients in map(int, args.levels.split(",")):
                before = server_ttft(url) if own_ttft else (0.0, 0.0)
                r = run_tool(binary, url, clients, mode == "steady", args.duration, args.warmup)
                gaps = max(r.get("streams_ok", 0) * (TOKENS - 1), 1)
                row = {"server": server, "mode": mode, "clients": clients, "max_concurrency": args.max_concurrency,
                       **r, "burst_share": round(r.get("zero_gaps", 0) / gaps, 4)}
                if own_ttft:
                    # The server's TTFT from arrival (mean, warm-up included): what the client sees above it
                    # is the wait before the worker read the request.
                    after = server_ttft(url)
                    row["server_ttft_mean_ms"] = round((after[0] - before[0]) * 1000 / max(after[1] - before[1], 1), 1)
                if mode == "steady":
                    row["ideal_streams"] = round(clients * (args.duration - args.warmup) / ideal)
                results.append(row)
                print(json.dumps(row), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        binary = build_tool(Path(tmp))
        with ServerProcess(*flags, db=str(Path(tmp) / "bench.db")) as server:
            run_levels("fakeai", server.root_url, True)
        if args.baseline:
            os.environ.update(BENCH_TTFT_MS=str(args.ttft_ms), BENCH_ITL_MS=str(args.itl_ms))
            bare, bare_url = start_bare(tmp)
            try:
                run_levels("bare", bare_url + "/paced", False)
            finally:
                bare.terminate()
                bare.wait()
    save_results("engine_timing.json", results)


if __name__ == "__main__":
    main()
