"""Several replicas on one PostgreSQL database behave as one server (real servers, real PostgreSQL).

Two ``fakeai serve --workers 2`` replicas share a database: A records, B replays with
``--on-miss record``. Recordings spread over both all land; a sequence of identical requests
recorded through A replays in order, byte for byte, through B's two workers; files, stored responses
and image URLs made through one are served by the other. The restart test runs its own PostgreSQL
cluster (initdb on a free port) so the shared server is never stopped under other tests.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from fakeai.cassettes.server_process import ServerProcess
from fakeai.store import cassettes as store
from tests.databases import PrivateCluster, eventually, on_store, pg_database

AUTH = {"Authorization": "Bearer sk-fakeai-1234567890abcdef"}
STARTUP = 120  # seconds: two-worker servers start slowly on a loaded 2-core machine


def chat(prompt: str, **extra: object) -> dict:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], "max_tokens": 6, **extra}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):  # noqa: ANN201
    with ServerProcess(db=str(tmp_path_factory.mktemp("upstream") / "u.db")) as server:
        yield server


@pytest.fixture(scope="module")
def replicas(upstream):  # noqa: ANN201
    """(database URL, recording replica A, replaying replica B), two workers each, on one database."""
    with pg_database() as url:
        a = ServerProcess("--workers", "2", "--mode", "record", "--upstream", upstream.base_url, db=url, startup_timeout=STARTUP)
        b = ServerProcess("--workers", "2", "--mode", "replay", "--on-miss", "record", "--upstream", upstream.base_url, db=url, startup_timeout=STARTUP)
        # Both start at once on an empty database: the schema is created exactly once.
        threads = [threading.Thread(target=s.start) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            for server in (a, b):
                assert httpx.get(server.root_url + "/health", timeout=5).status_code == 200, server.log()
            yield url, a, b
        finally:
            a.stop()
            b.stop()


def test_concurrent_distinct_recordings_over_both_replicas_all_land(replicas) -> None:  # noqa: ANN001
    url, a, b = replicas
    before = on_store(url, store.count)

    async def run() -> list[int]:
        limits = httpx.Limits(max_connections=400)
        async with httpx.AsyncClient(headers=AUTH, timeout=120, limits=limits) as client:
            calls = [
                client.post((a if i % 2 else b).base_url + "/chat/completions", json=chat(f"distinct request {i}"))
                for i in range(400)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(run())
    assert statuses == [200] * 400
    assert eventually(lambda: on_store(url, store.count) - before, lambda n: n >= 400) == 400


def test_a_sequence_recorded_through_one_replica_replays_in_order_through_the_other(replicas) -> None:  # noqa: ANN001
    url, a, b = replicas
    body = chat("the same request, answered differently each time", max_tokens=12)
    recorded = [httpx.post(a.base_url + "/chat/completions", json=body, headers=AUTH, timeout=30) for _ in range(4)]
    assert [r.status_code for r in recorded] == [200] * 4
    key = recorded[0].headers["x-fakeai-request-hash"]
    assert len({r.content for r in recorded}) == 4  # four different answers, four episodes
    episodes = eventually(lambda: on_store(url, store.lookup_episodes, key), lambda found: len(found) >= 4)
    assert [c.episode for c in episodes] == [0, 1, 2, 3]
    # A fresh connection per request, so B's two workers both take part.
    replayed = [httpx.post(b.base_url + "/chat/completions", json=body, headers=AUTH, timeout=30) for _ in range(6)]
    assert all(r.headers["x-fakeai-source"] == "replay" for r in replayed)
    assert [r.content for r in replayed] == [r.content for r in recorded] + [recorded[-1].content] * 2


def test_a_stream_recorded_through_one_replica_replays_byte_identical_through_the_other(replicas) -> None:  # noqa: ANN001
    _, a, b = replicas
    body = chat("stream me", stream=True, stream_options={"include_usage": True})
    first = httpx.post(a.base_url + "/chat/completions", json=body, headers=AUTH, timeout=30)
    again = httpx.post(b.base_url + "/chat/completions", json=body, headers=AUTH, timeout=30)
    assert first.status_code == again.status_code == 200
    assert again.headers["x-fakeai-source"] == "replay"
    assert again.content == first.content and first.content.endswith(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def synthetic_pair():  # noqa: ANN201
    with pg_database() as url:
        with ServerProcess("--workers", "2", db=url, startup_timeout=STARTUP) as a, ServerProcess("--workers", "2", db=url, startup_timeout=STARTUP) as b:
            yield a.client(), b.client()


def test_files_made_through_one_replica_are_served_by_the_other(synthetic_pair) -> None:  # noqa: ANN001
    a, b = synthetic_pair
    made = a.files.create(file=("shared.txt", b"one store for every replica"), purpose="user_data")
    assert made.id in [f.id for f in b.files.list()]
    assert b.files.retrieve(made.id) == made
    assert b.files.content(made.id).content == b"one store for every replica"
    assert b.files.delete(made.id).deleted
    assert made.id not in [f.id for f in a.files.list()]


def test_responses_stored_through_one_replica_continue_through_the_other(synthetic_pair) -> None:  # noqa: ANN001
    a, b = synthetic_pair
    first = a.responses.create(model="gpt-4o-mini", input="Tell me about rivers.", max_output_tokens=16)
    assert b.responses.retrieve(first.id).output_text == first.output_text
    follow = b.responses.create(model="gpt-4o-mini", input="And lakes?", previous_response_id=first.id, max_output_tokens=8)
    assert follow.usage.input_tokens > first.usage.input_tokens  # the earlier turn counted as input
    queued = a.responses.create(model="gpt-4o-mini", input="Background work", max_output_tokens=8, background=True)
    deadline = time.monotonic() + 20
    while (status := b.responses.retrieve(queued.id).status) in ("queued", "in_progress"):
        assert time.monotonic() < deadline, "the background response never finished"
        time.sleep(0.1)
    assert status in ("completed", "incomplete")  # finished (8 tokens may cut it)


def test_an_image_url_minted_by_one_replica_is_served_by_the_other(synthetic_pair) -> None:  # noqa: ANN001
    a, b = synthetic_pair
    image = a.images.generate(model="dall-e-2", prompt="a lighthouse", size="256x256", response_format="url")
    url = image.data[0].url
    other = url.replace(str(a.base_url).rstrip("/").removesuffix("/v1"), str(b.base_url).rstrip("/").removesuffix("/v1"))
    assert other != url
    got = httpx.get(other, timeout=10)
    assert got.status_code == 200 and got.content.startswith(b"\x89PNG")


def _statuses(servers: tuple[ServerProcess, ...], prefix: str, n: int) -> list[int]:
    """``n`` chat requests sent in turn to each server (sequentially)."""
    return [httpx.post(servers[i % len(servers)].base_url + "/chat/completions", json=chat(f"{prefix}{i}"),
                       headers=AUTH, timeout=30).status_code for i in range(n)]


def test_rate_limits_and_the_fault_sequence_are_one_across_replicas(tmp_path) -> None:  # noqa: ANN001
    """Two replicas, one budget: a key's 6 requests a minute are 6 for the deployment, and a seeded
    fault sequence numbers the deployment's requests, so alternating between the replicas meets the
    faults one server alone would."""
    faults = ("--fault-rate", "0.5", "--fault-seed", "7", "--fault-types", "server_error")
    with ServerProcess(*faults, db=str(tmp_path / "alone.db")) as alone:
        expected = _statuses((alone,), "f", 12)
    assert set(expected) == {200, 500}
    with pg_database() as url:
        with ServerProcess("--rate-limit-rpm", "6", db=url, startup_timeout=STARTUP) as a, \
                ServerProcess("--rate-limit-rpm", "6", db=url, startup_timeout=STARTUP) as b:
            answers = [httpx.post((a, b)[i % 2].base_url + "/chat/completions", json=chat(f"q{i}"), headers=AUTH,
                                  timeout=30) for i in range(8)]
            assert [r.status_code for r in answers] == [200] * 6 + [429] * 2, [r.text for r in answers]
            assert [r.headers["x-ratelimit-remaining-requests"] for r in answers[:6]] == ["5", "4", "3", "2", "1", "0"]
            assert answers[6].json()["error"]["code"] == "rate_limit_exceeded"
        with ServerProcess(*faults, db=url, startup_timeout=STARTUP) as a, \
                ServerProcess(*faults, db=url, startup_timeout=STARTUP) as b:
            assert _statuses((a, b), "f", 12) == expected


def test_a_database_restart_gives_503s_then_recovers(upstream) -> None:  # noqa: ANN001
    """Its own PostgreSQL (so stopping it disturbs nobody): stopped and started again under traffic."""
    cluster = PrivateCluster().create()
    try:
        url = cluster.url
        recorder = ServerProcess("--workers", "2", "--mode", "record", "--upstream", upstream.base_url, db=url, startup_timeout=STARTUP).start()
        files = ServerProcess("--workers", "2", db=url, startup_timeout=STARTUP).start()
        statuses: dict[str, list[int]] = {"record": [], "record_whole": [], "files": [], "synthetic": []}
        stop = threading.Event()
        retry_after: set[str] = set()
        errors: list[str] = []

        def traffic(name: str, send) -> None:  # noqa: ANN001
            with httpx.Client(headers=AUTH, timeout=30) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        response = send(client, n)
                    except httpx.TransportError as exc:  # recorded, so the assertions below say so with the logs
                        statuses[name].append(0)
                        errors.append(f"{name}: {exc!r}")
                        continue
                    statuses[name].append(response.status_code)
                    if response.status_code == 503:
                        assert response.json()["error"]["code"] == "database_unavailable"
                        retry_after.add(response.headers.get("retry-after", ""))

        senders = {
            "record": lambda c, n: c.post(
                recorder.base_url + "/chat/completions", json=chat(f"restart {n}", stream=True)
            ),
            # A whole answer goes out before its write commits; once a write has failed, the next
            # answers wait for theirs, so this client too must see 503s while the database is down.
            "record_whole": lambda c, n: c.post(recorder.base_url + "/chat/completions", json=chat(f"whole {n}")),
            "files": lambda c, n: c.get(files.base_url + "/files"),
            "synthetic": lambda c, n: c.post(files.base_url + "/chat/completions", json=chat("no store needed")),
        }
        threads = [threading.Thread(target=traffic, args=item) for item in senders.items()]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            cluster.stop()
            down = {name: len(s) for name, s in statuses.items()}
            time.sleep(2.0)
            during = {name: statuses[name][down[name]:] for name in statuses}
            cluster.start()
            recovered = {name: False for name in statuses}
            deadline = time.monotonic() + 30
            while not all(recovered.values()) and time.monotonic() < deadline:
                time.sleep(0.5)
                recovered = {name: s[-3:] == [200] * 3 for name, s in statuses.items()}
        finally:
            stop.set()
            for t in threads:
                t.join()
        logs = recorder.log() + files.log()
        recorder.stop()
        files.stop()
        every = [code for s in statuses.values() for code in s]
        assert 500 not in every, logs
        assert set(every) <= {200, 503}, (set(every), errors, logs)
        assert 503 in during["files"], during["files"]  # the store was really gone ...
        assert 503 in during["record_whole"], during["record_whole"]
        assert set(during["synthetic"]) == {200}  # ... and what needs no store went on answering
        assert recovered == {name: True for name in statuses}, ({n: s[-5:] for n, s in statuses.items()}, logs)
        assert retry_after == {"1"}
        # Nothing partial was stored: every recorded stream ends with its last event.
        infos = on_store(url, store.list_cassettes)
        assert infos and all(i.size > 0 for i in infos)
        assert any(not i.stream for i in infos)  # whole answers were recorded too, before and after
        for info in infos:
            (cassette,) = on_store(url, store.lookup_episodes, info.key)
            if info.stream:
                assert cassette.events[-1][1] == b"data: [DONE]\n\n"
            else:
                assert cassette.body and cassette.body.startswith(b"{")
    finally:
        cluster.destroy()


def _workers(server: ServerProcess) -> list[int]:
    """The pids of a ``--workers N`` server's worker processes (uvicorn spawns them with multiprocessing)."""
    assert server.proc is not None
    pids = []
    try:
        for task in Path(f"/proc/{server.proc.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(int(pid))
    except OSError:  # the server (or a worker) is gone
        pass
    return pids


def test_a_worker_restarted_while_the_database_is_down_starts_and_the_server_stays_up() -> None:
    """uvicorn stops the whole server when a worker fails to start. A worker used to migrate the schema
    again as it started (the CLI had already done so), so one restarted during an outage took the server
    down; now it starts, answers 503 where the store is needed, and recovers with the database."""
    cluster = PrivateCluster().create()
    try:
        server = ServerProcess("--workers", "2", db=cluster.url, startup_timeout=STARTUP).start()
        try:
            assert len(eventually(lambda: _workers(server), lambda pids: len(pids) == 2, timeout=30)) == 2
            with httpx.Client(headers=AUTH, timeout=30) as client:
                assert client.get(server.base_url + "/files").status_code == 200
                cluster.stop()
                victim = _workers(server)[0]
                os.kill(victim, signal.SIGKILL)
                # uvicorn notices within half a second and starts another worker, which must come up.
                after = eventually(lambda: _workers(server), lambda p: victim not in p and len(p) == 2, timeout=30)
                assert victim not in after and len(after) == 2, server.log()
                time.sleep(3)  # the new worker's startup, with the database still down
                assert server.proc is not None and server.proc.poll() is None, server.log()
                assert "failed to start" not in server.log(), server.log()
                for _ in range(8):  # both workers answer: what needs no store, and a 503 for what does
                    assert client.post(server.base_url + "/chat/completions", json=chat("still up")).status_code == 200
                    files = client.get(server.base_url + "/files")
                    assert files.status_code == 503 and files.json()["error"]["code"] == "database_unavailable"
                cluster.start()
                back = eventually(lambda: [client.get(server.base_url + "/files").status_code for _ in range(6)],
                                  lambda codes: codes == [200] * 6, timeout=30)
                assert back == [200] * 6, server.log()
        finally:
            server.stop()
    finally:
        cluster.destroy()
