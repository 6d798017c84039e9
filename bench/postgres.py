"""PostgreSQL against SQLite, side by side, in one run on this machine.

    python bench/postgres.py [--cassettes 100000] [--distinct 300] [--duration 5] [--pg URL]

For each database (a temporary SQLite file, then a new PostgreSQL database created and dropped through
the maintenance URL ``--pg``, default ``FAKEAI_TEST_PG`` or the local server):

1. Recording throughput: a recording FakeAI (one worker) in front of a synthetic one, wrk with 32
   connections sending distinct chat requests for ``--duration`` seconds: recordings/s.
2. ``--distinct`` chat requests and as many 100-token streams are recorded (one episode each), then the
   database is filled up to ``--cassettes`` cassettes with filler rows.
3. Replay: requests/s (chat) and chunks/s (100-token streams) with wrk -c 32, through one replica,
   then through two replicas on the same database (two wrk runs at once, 16 connections each, summed).

Needs ``wrk``. Bounded: about 10 x ``--duration`` seconds of load per database plus the fill.
Results go to bench/results/postgres.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import KEY, save_results, wrk  # noqa: E402
from fakeai.cassettes.server_process import ServerProcess  # noqa: E402
from fakeai.store import Database  # noqa: E402
from fakeai.store.cassettes import Cassette, bulk_insert, count  # noqa: E402

HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
PATH = "/v1/chat/completions"


def chat_body(i: int, stream: bool, tag: str = "replay") -> bytes:
    body = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": f"{tag} {i}: summarise the history of printing."}],
        "max_tokens": 100 if stream else 16,
        "seed": i,
    }
    if stream:
        body.update(stream=True, ignore_eos=True, min_tokens=100)
    return msgspec.json.encode(body)


def filler(n: int, start: int):
    for i in range(start, start + n):
        yield Cassette(
            key=f"{i:064x}", method="POST", path=PATH, request=b'{"filler":%d}' % i, status=200,
            headers={"content-type": "application/json"}, body=b'{"filler":%d}' % i, model="filler",
        )


async def _fill(url: str, target: int) -> int:
    db = Database(url)
    try:
        have = await count(db)
        await bulk_insert(db, filler(max(0, target - have), 10**9))
        return await count(db)
    finally:
        await db.dispose()


def chunks(url: str, body: bytes) -> int:
    r = httpx.post(url + PATH, content=body, headers=HEADERS, timeout=60)
    r.raise_for_status()
    return r.text.count("data:")


def together(urls: list[str], bodies: list[bytes], duration: float) -> float:
    """Requests/s summed over wrk runs against every URL at once (32 connections shared out)."""
    results: list[float] = []
    per = max(1, 32 // len(urls))

    def one(url: str) -> None:
        results.append(wrk(url, PATH, bodies, duration, per))

    threads = [threading.Thread(target=one, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(results) != len(urls):
        raise RuntimeError("a wrk run failed")
    return sum(results)


class PgDatabase:
    def __init__(self, admin_url: str) -> None:
        import secrets

        from sqlalchemy.engine import make_url

        self.admin = make_url(admin_url)
        self.name = "fakeai_bench_" + secrets.token_hex(4)
        self.url = self.admin.set(drivername="postgresql+asyncpg", database=self.name).render_as_string(hide_password=False)

    def _run(self, sql: str) -> None:
        import psycopg

        a = self.admin
        with psycopg.connect(host=a.host, port=a.port or 5432, user=a.username, password=a.password,
                             dbname=a.database or "postgres", autocommit=True) as conn:
            conn.execute(sql)

    def __enter__(self) -> str:
        self._run(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def measure(name: str, url: str, upstream: ServerProcess, args: argparse.Namespace) -> dict:
    row: dict = {}
    recording = [chat_body(i, False, "record") for i in range(5000)]
    with ServerProcess("--mode", "record", "--upstream", upstream.base_url, db=url, startup_timeout=120) as rec:
        wrk(rec.root_url, PATH, recording[:50], 1, 8)  # warm-up
        row["record_rps_32_clients"] = wrk(rec.root_url, PATH, recording[50:], args.duration, 32)
        chat = [chat_body(i, False) for i in range(args.distinct)]
        stream = [chat_body(i, True) for i in range(args.distinct)]
        with httpx.Client(headers=HEADERS, timeout=60) as client:
            for body in chat + stream:
                client.post(rec.root_url + PATH, content=body).raise_for_status()
    started = time.perf_counter()
    row["cassettes"] = asyncio.run(_fill(url, args.cassettes))
    row["fill_seconds"] = round(time.perf_counter() - started, 1)
    print(f"{name}: recording {row['record_rps_32_clients']:.0f}/s at 32 clients; "
          f"filled to {row['cassettes']} cassettes in {row['fill_seconds']} s", flush=True)
    for replicas in (1, 2):
        servers = [ServerProcess("--mode", "replay", db=url, startup_timeout=120) for _ in range(replicas)]
        for server in servers:
            server.start()
        try:
            urls = [s.root_url for s in servers]
            for u in urls:
                wrk(u, PATH, chat, 1, 8)  # warm-up
            rps = together(urls, chat, args.duration)
            srps = together(urls, stream, args.duration)
            per_stream = chunks(urls[0], stream[0])
        finally:
            for server in servers:
                server.stop()
        row[f"replicas_{replicas}"] = {"chat_rps": rps, "stream_rps": srps, "stream_chunks_per_s": srps * per_stream}
        print(f"{name}: {replicas} replica(s): chat {rps:.0f} req/s, stream {srps * per_stream:.0f} chunks/s", flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cassettes", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=300)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--pg", default=os.environ.get("FAKEAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(db=f"{tmp}/upstream.db") as upstream:
        results["sqlite"] = measure("sqlite", f"sqlite+aiosqlite:///{tmp}/bench.db", upstream, args)
        with PgDatabase(args.pg) as url:
            results["postgresql"] = measure("postgresql", url, upstream, args)
    sq, pg = results["sqlite"], results["postgresql"]
    print("\n                         SQLite   PostgreSQL   PG/SQLite")
    lines = [("recordings/s (32 clients)", sq["record_rps_32_clients"], pg["record_rps_32_clients"])]
    for r in (1, 2):
        lines.append((f"replay chat req/s, {r} repl.", sq[f"replicas_{r}"]["chat_rps"], pg[f"replicas_{r}"]["chat_rps"]))
        lines.append((f"stream chunks/s, {r} repl.", sq[f"replicas_{r}"]["stream_chunks_per_s"], pg[f"replicas_{r}"]["stream_chunks_per_s"]))
    for label, a, b in lines:
        print(f"{label:<26} {a:8.0f} {b:10.0f} {b / a:10.2f}")
    save_results("postgres.json", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
