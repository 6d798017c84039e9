"""Recording edge cases against real upstreams that misbehave on purpose (a small threaded HTTP
server written here, or a synthetic FakeAI): a client leaving before the body starts, concurrent
identical misses with --on-miss record, and an upstream that trickles bytes past --upstream-timeout."""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
import time

import httpx
import pytest

from fakeai.cassettes.server_process import ServerProcess
from fakeai.modes.base import EventStream, Exchange
from fakeai.modes.keys import canonical_request
from fakeai.modes.record import Recorder
from fakeai.modes.upstream import Upstream as UpstreamClient
from fakeai.settings import Settings
from fakeai.store import Database, upgrade_database
from fakeai.store import cassettes as store
from tests.databases import every_cassette, on_store

KEY = "sk-fakeai-1234567890abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
EVENTS = [b'data: {"n": 1}\n\n', b'data: {"n": 2}\n\n', b"data: [DONE]\n\n"]


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
        )
        while len(body) < length:
            body += sock.recv(65536)
        path = head.split(b" ")[1].decode()
        server: Upstream = self.server  # type: ignore[assignment]
        server.arrived.set()
        try:
            getattr(self, "_" + path.rsplit("/", 1)[-1].replace("-", "_"))(sock, server)
        except OSError:
            pass  # the recorder hung up on us: that is what some tests want

    def _late_headers(self, sock: socket.socket, server: Upstream) -> None:
        server.answer.wait(30)  # the test lets us answer once its client has left
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for event in EVENTS:
            sock.sendall(b"%x\r\n%s\r\n" % (len(event), event))
        sock.sendall(b"0\r\n\r\n")
        server.finished.set()

    def _trickle_body(self, sock: socket.socket, server: Upstream) -> None:
        body = b'{"object": "list", "data": []}'
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body))
        for byte in body:  # one byte every 0.2 s: never idle past 1 s, but far past it in total
            sock.sendall(bytes([byte]))
            time.sleep(0.2)

    def _trickle_event(self, sock: socket.socket, server: Upstream) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        sock.sendall(b"%x\r\n%s\r\n" % (len(EVENTS[0]), EVENTS[0]))
        for byte in b'data: {"never": "ends", "padding": "' + b"x" * 100:  # an event that never completes
            sock.sendall(b"1\r\n%s\r\n" % bytes([byte]))
            time.sleep(0.2)

    def _steady_events(self, sock: socket.socket, server: Upstream) -> None:
        # Whole events every 0.4 s for about 2.4 s: longer than the 1 s limit in total, never idle that long.
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        events = [b'data: {"n": %d}\n\n' % i for i in range(6)] + [b"data: [DONE]\n\n"]
        for event in events:
            sock.sendall(b"%x\r\n%s\r\n" % (len(event), event))
            time.sleep(0.4)
        sock.sendall(b"0\r\n\r\n")


class Upstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrived = threading.Event()
        self.answer = threading.Event()
        self.finished = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@pytest.fixture
def upstream():  # noqa: ANN201
    server = Upstream()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.answer.set()
    server.shutdown()
    server.server_close()


def cassettes(db: str) -> list[store.Cassette]:
    return on_store("sqlite+aiosqlite:///" + db, every_cassette)


def wait_for_cassettes(db: str, n: int) -> list[store.Cassette]:
    deadline = time.monotonic() + 30  # turns a hang into a failure; the assertion is the count
    while len(found := cassettes(db)) < n:
        assert time.monotonic() < deadline, f"{len(found)} cassettes, expected {n}"
        time.sleep(0.05)
    return found


def test_a_client_leaving_before_the_body_starts_still_gets_the_answer_recorded(start_server, tmp_path, upstream) -> None:  # noqa: ANN001
    db = str(tmp_path / "left-early.db")
    server = start_server("--mode", "record", "--upstream", upstream.base_url, db=db)
    body = b'{"model": "m", "stream": true}'
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(
            b"POST /v1/late-headers HTTP/1.1\r\nhost: x\r\nauthorization: Bearer %s\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (KEY.encode(), len(body), body)
        )
        assert upstream.arrived.wait(30)  # the recorder forwarded it and waits for the upstream's headers
    # The client is gone before any byte of the answer exists; now the upstream answers.
    upstream.answer.set()
    (cassette,) = wait_for_cassettes(db, 1)
    assert cassette.stream and [event for _, event in cassette.events] == EVENTS
    assert upstream.finished.wait(30)


def test_a_stream_nobody_reads_is_still_read_recorded_and_closed(tmp_path, upstream) -> None:  # noqa: ANN001
    """The recorder's contract, below HTTP: once forward() returns a stream, the upstream is read to
    its end, stored and closed whether or not anyone ever iterates the events (a client gone before
    the body starts never does; how soon a server notices that varies, so this is tested here)."""
    upstream.answer.set()
    url = Settings(db=str(tmp_path / "unread.db")).db_url
    upgrade_database(url)

    async def run() -> list[store.Cassette]:
        db = Database(url)
        recorder = Recorder(UpstreamClient(upstream.base_url, api_key=None, timeout=30), db, record_errors=True)
        exchange = Exchange(method="POST", path="/v1/late-headers", headers={"content-type": "application/json"},
                            body=b'{"stream": true}', started=time.perf_counter())
        request = canonical_request(exchange.method, exchange.path, [], exchange.headers, exchange.body)
        reply = await recorder.forward(exchange, request, lambda outcome: None)
        assert isinstance(reply, EventStream)
        del reply  # never iterated
        await recorder.stop(grace=30)  # waits for the recording to end
        await recorder.upstream.close()
        try:
            return await store.lookup_episodes(db, request.key)
        finally:
            await db.dispose()

    (cassette,) = asyncio.run(run())
    assert [event for _, event in cassette.events] == EVENTS
    assert upstream.finished.is_set()


def test_concurrent_identical_misses_record_once(start_server, tmp_path) -> None:  # noqa: ANN001
    real = start_server("--ttft-ms", "300", "--itl-ms", "5", db=str(tmp_path / "real.db"))
    db = str(tmp_path / "single-flight.db")
    server = start_server(
        "--mode", "replay", "--on-miss", "record", "--upstream", real.base_url, "--workers", "2", db=db
    )  # fmt: skip

    async def burst(body: dict) -> list[httpx.Response]:
        async with httpx.AsyncClient(headers=AUTH, timeout=60) as client:
            return await asyncio.gather(*(client.post(server.base_url + "/chat/completions", json=body) for _ in range(8)))

    whole = asyncio.run(burst({**CHAT, "seed": 1}))
    streamed = asyncio.run(burst({**CHAT, "seed": 2, "stream": True}))
    for answers in (whole, streamed):
        assert [r.status_code for r in answers] == [200] * 8
        assert len({r.content for r in answers}) == 1  # the waiters replayed the one recording
        assert sorted(r.headers["x-fakeai-source"] for r in answers) == ["replay"] * 7 + ["upstream"]
    found = cassettes(db)
    assert sorted((c.stream, c.episode) for c in found) == [(False, 0), (True, 0)]


def test_a_trickling_upstream_gets_a_504_for_a_whole_answer(start_server, tmp_path, upstream) -> None:  # noqa: ANN001
    db = str(tmp_path / "trickle.db")
    server = start_server("--mode", "record", "--upstream", upstream.base_url, "--upstream-timeout", "1", db=db)
    r = httpx.get(server.base_url + "/trickle-body", headers=AUTH, timeout=30)
    assert r.status_code == 504
    assert r.json()["error"]["code"] == "gateway_timeout" and r.headers["x-fakeai-source"] == "upstream"
    assert cassettes(db) == []


def test_a_stream_is_cut_when_no_whole_event_comes_in_time_but_not_for_its_length(start_server, tmp_path, upstream) -> None:  # noqa: ANN001
    db = str(tmp_path / "trickle-stream.db")
    server = start_server("--mode", "record", "--upstream", upstream.base_url, "--upstream-timeout", "1", db=db)
    cut = httpx.post(server.base_url + "/trickle-event", headers=AUTH, json={"stream": True}, timeout=30)
    assert cut.status_code == 200  # the stream had started: the cut is an SSE error event
    assert cut.content.startswith(EVENTS[0])
    assert b'"code":"bad_gateway"' in cut.content and b"no whole event for 1 seconds" in cut.content
    steady = httpx.post(server.base_url + "/steady-events", headers=AUTH, json={"stream": True}, timeout=30)
    assert steady.status_code == 200 and steady.content.endswith(b"data: [DONE]\n\n")
    assert b"error" not in steady.content
    (cassette,) = cassettes(db)  # the steady stream only
    assert len(cassette.events) == 7
