"""FakeAI against a bare Litestar app, same machine, same run, same bounded load (wrk).

    python bench/run.py                 # every scenario, ~10 s each
    python bench/run.py --only chat,stream --duration 5
    python bench/run.py --only messages,msg-stream   # Anthropic's Messages API
    python bench/run.py --only chat --serve-args "--rate-limit-rpm 100000000 --rate-limit-tpm 100000000000"

Prints requests/s (and chunks/s for streams) with the ratio to the baseline, and each server's CPU time
per request (per chunk for streams) with its ratio: on a shared, loaded machine the CPU ratio is the
steadier of the two. Writes bench/results/latest.json. Needs wrk (Debian package `wrk`). Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios import SCENARIOS, Scenario  # noqa: E402
from fakeai.settings import DEFAULT_API_KEYS  # noqa: E402
from fakeai.cassettes.server_process import ServerProcess, free_port  # noqa: E402

KEY = DEFAULT_API_KEYS[0]


def start_bare(fixed_dir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT,
        env={**os.environ, "BENCH_FIXED_DIR": fixed_dir},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.post(url + "/v1/chat/completions", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("bare app did not start")


def wrk(url: str, path: str, body: bytes | list[bytes], duration: float, connections: int, threads: int = 1) -> float:
    """Requests/s of POSTs of ``body`` (a list is cycled through); fails loudly on any non-2xx answer."""
    return wrk_counts(url, path, body, duration, connections, threads)[0]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children still running (uvicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wrk_counts(
    url: str, path: str, body: bytes | list[bytes], duration: float, connections: int, threads: int = 1
) -> tuple[float, int]:
    """``wrk``'s requests/s and the number of requests it completed."""
    return _wrk(url, path, body, duration, connections, threads)[:2]


def wrk_p50_ms(url: str, path: str, body: bytes | list[bytes], duration: float, connections: int) -> float:
    """The median latency (ms) wrk saw, with ``connections`` requests always in flight."""
    return _wrk(url, path, body, duration, connections, 1, latency=True)[2]


def _wrk(
    url: str, path: str, body: bytes | list[bytes], duration: float, connections: int, threads: int,
    latency: bool = False,
) -> tuple[float, int, float]:
    bodies = body if isinstance(body, list) else [body]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {KEY}"\n'
            "bodies = {" + ",".join(json.dumps(b.decode()) for b in bodies) + "}\n"
            "i = 0\n"
            "request = function()\n"
            "  i = i % #bodies + 1\n"
            "  return wrk.format(nil, nil, nil, bodies[i])\n"
            "end\n"
        )
    try:
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(duration)}s", "-s", script.name,
             *(["--latency"] if latency else []), url + path],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    if "Non-2xx" in out or "Socket errors" in out and "timeout" in out:
        raise RuntimeError(f"wrk saw errors against {url}{path}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    if not match or not done:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    p50 = float("nan")
    if latency:
        found = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            raise RuntimeError(f"cannot read wrk's latency distribution:\n{out}")
        p50 = float(found.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[found.group(2)]
    return float(match.group(1)), int(done.group(1)), p50


def measured(pid: int, url: str, path: str, body: bytes | list[bytes], duration: float, connections: int) -> tuple[float, float]:
    """Requests/s, and the server's CPU microseconds per request: on a machine shared with other work,
    CPU per request moves much less than requests/s, so its ratio is the steadier figure."""
    before = cpu_seconds(pid)
    rps, done = wrk_counts(url, path, body, duration, connections)
    return rps, (cpu_seconds(pid) - before) / max(done, 1) * 1e6


def save_results(name: str, results: object) -> None:
    """Write a benchmark's figures to bench/results/<name> (JSON; the folder is not committed)."""
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / name).write_text(json.dumps(results, indent=2) + "\n")


def save_fixed(fake_url: str, scenarios: list[Scenario], fixed_dir: str) -> None:
    """One FakeAI answer per same-size scenario, for the bare app to send back verbatim."""
    for s in scenarios:
        fixed = s.baseline_path.startswith("/v1/fixed/")
        if fixed or s.baseline_path.startswith("/v1/fixed-stream/"):
            r = httpx.post(fake_url + s.fakeai_path, content=s.body, timeout=30,
                           headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
            r.raise_for_status()
            suffix = ".json" if fixed else ".sse"  # a stream's bytes, sent back event by event
            Path(fixed_dir, s.baseline_path.rsplit("/", 1)[1] + suffix).write_bytes(r.content)


def events_per_response(url: str, path: str, body: bytes) -> int:
    r = httpx.post(url + path, content=body, headers={"Authorization": f"Bearer {KEY}",
                                                      "Content-Type": "application/json"}, timeout=30)
    r.raise_for_status()
    return sum(1 for line in r.text.split("\n") if line.startswith("data:"))


def measure(s: Scenario, fake: tuple[int, str], bare: tuple[int, str], duration: float, connections: int,
            rounds: int = 1) -> dict:
    """FakeAI then the bare app, ``rounds`` times in turn: figures are the medians, ``ratios`` each round's.
    The machine's speed drifts over minutes, so a ratio from runs next to each other is the honest one."""
    (fake_pid, fake_url), (bare_pid, bare_url) = fake, bare
    fake_path, fake_body = s.fakeai_path, (list(s.distinct) if s.distinct else s.body)
    base_path, base_body = s.baseline_path, s.baseline_body
    wrk(fake_url, fake_path, fake_body, 1, connections)  # warm-up
    wrk(bare_url, base_path, base_body, 1, connections)
    pairs = []
    for _ in range(rounds):
        fake_rps, fake_cpu = measured(fake_pid, fake_url, fake_path, fake_body, duration, connections)
        bare_rps, bare_cpu = measured(bare_pid, bare_url, base_path, base_body, duration, connections)
        pairs.append((fake_rps, bare_rps, fake_cpu, bare_cpu))
    fake_rps, bare_rps, fake_cpu, bare_cpu = (statistics.median(column) for column in zip(*pairs))
    result = {"scenario": s.name, "fakeai_rps": fake_rps, "baseline_rps": bare_rps, "floor": s.floor,
              "fakeai_cpu_us": fake_cpu, "baseline_cpu_us": bare_cpu,
              "cpu_ratio": statistics.median(b / f for _, _, f, b in pairs)}
    if s.stream:
        fake_events = events_per_response(fake_url, fake_path, fake_body)
        bare_events = events_per_response(bare_url, base_path, base_body)
        result.update(fakeai_chunks_per_s=fake_rps * fake_events, baseline_chunks_per_s=bare_rps * bare_events,
                      fakeai_events=fake_events, baseline_events=bare_events)
        per_chunk = fake_events / bare_events
        result["ratios"] = [round(f / b * per_chunk, 3) for f, b, _, _ in pairs]
        result["cpu_ratio"] *= per_chunk  # per chunk
    else:
        result["ratios"] = [round(f / b, 3) for f, b, _, _ in pairs]
    result["ratio"] = statistics.median(result["ratios"])
    result["pass"] = result["ratio"] >= s.floor
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1,
                        help="FakeAI and the bare app measured in turn this many times; the medians are reported")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--workers", type=int, default=1, help="FakeAI's --workers (the bare app keeps one)")
    parser.add_argument("--serve-args", default="", help="extra 'fakeai serve' flags for the FakeAI side (one string)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    wanted = [s for s in SCENARIOS if not args.only or s.name in args.only.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(
        "--workers", str(args.workers), *shlex.split(args.serve_args), db=f"{tmp}/bench.db"
    ) as fake:
        save_fixed(fake.root_url, wanted, tmp)
        bare, bare_url = start_bare(tmp)
        try:
            for scenario in wanted:
                assert fake.proc is not None
                results.append(measure(scenario, (fake.proc.pid, fake.root_url), (bare.pid, bare_url), args.duration,
                                       args.connections, args.rounds))
                r = results[-1]
                extra = (f"  chunks/s {r['fakeai_chunks_per_s']:.0f} vs {r['baseline_chunks_per_s']:.0f}"
                         if "fakeai_chunks_per_s" in r else "")
                print(f"{r['scenario']:<12} fakeai {r['fakeai_rps']:8.0f} req/s  baseline {r['baseline_rps']:8.0f}"
                      f" req/s{extra}  ratio {r['ratio']:.2f}{' ' + str(r['ratios']) if len(r['ratios']) > 1 else ''} (floor {r['floor']}) {'PASS' if r['pass'] else 'FAIL'}"
                      f"  cpu/req {r['fakeai_cpu_us']:.0f} vs {r['baseline_cpu_us']:.0f} us (ratio {r['cpu_ratio']:.2f})",
                      flush=True)
        finally:
            bare.terminate()
            bare.wait()
    save_results("latest.json", results)
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
