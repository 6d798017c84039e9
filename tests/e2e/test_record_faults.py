"""Record mode against upstreams that fail, misses in replay (each --on-miss), concurrent recording,
secrets kept out of the database, and routes FakeAI does not synthesize. Real processes throughout;
the misbehaving upstream is a small real HTTP server started here."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import socket
import socketserver
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from fakeai.store import cassettes as store
from fakeai.cassettes.server_process import ServerProcess, free_port
from tests.databases import eventually, every_cassette, on_store

KEY = "sk-fakeai-1234567890abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
UPSTREAM_KEY = "sk-upstream-0123456789secretvalue"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 5}


# -- a small misbehaving upstream -----------------------------------------------------------------

EVENTS = [b'data: {"n": 1}\n\n', b'data: {"n": 2}\n\n']


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
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            body += sock.recv(65536)
        path = target.split("?", 1)[0]
        self.server.seen.append((method, target, headers))  # type: ignore[attr-defined]
        if path.endswith("/drop"):
            # Half an SSE stream in chunked encoding, then the connection just closes.
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            for event in EVENTS:
                sock.sendall(b"%x\r\n%s\r\n" % (len(event), event))
                time.sleep(0.05)
            sock.sendall(b"%x\r\n%s\r\n" % (8, b'data: {"'))
            time.sleep(0.05)
            sock.close()
            return
        if path.endswith("/truncated"):
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"partial\":")
            sock.close()
            return
        if path.endswith("/gzipped"):
            payload = gzip.compress(b'{"object": "list", "data": [], "zipped": true}')
            extra = b"content-encoding: gzip\r\nset-cookie: session=abc\r\nx-request-id: req_upstream_1\r\n"
        else:
            # Echo what was forwarded (the auth header only as a digest), as an endpoint FakeAI
            # does not synthesize (a vector store, say).
            seen = {
                "method": method,
                "target": target,
                "auth_sha256": hashlib.sha256(headers.get("authorization", "").encode()).hexdigest(),
                "forwarded": sorted(k for k in headers if k not in ("authorization",)),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
            payload = json.dumps(seen).encode()
            extra = b"set-cookie: session=abc\r\nopenai-processing-ms: 7\r\n"
        sock.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n%s\r\n%s"
            % (len(payload), extra, payload)
        )


class FaultServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@pytest.fixture(scope="module")
def faulty():  # noqa: ANN201
    server = FaultServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):  # noqa: ANN201
    """A synthetic FakeAI that also accepts the upstream key, with a little latency."""
    tmp = tmp_path_factory.mktemp("faults_upstream")
    with ServerProcess("--ttft-ms", "20", "--itl-ms", "5", "--api-keys", UPSTREAM_KEY, db=str(tmp / "up.db")) as server:
        yield server


def count_cassettes(db: str) -> int:
    return on_store("sqlite+aiosqlite:///" + db, store.count)


def all_cassettes(db: str) -> list[store.Cassette]:
    return on_store("sqlite+aiosqlite:///" + db, every_cassette)


# -- upstream faults: nothing stored --------------------------------------------------------------


def test_refused_upstream_is_502_and_stores_nothing(start_server, tmp_path) -> None:  # noqa: ANN001
    db = str(tmp_path / "refused.db")
    dead = f"http://127.0.0.1:{free_port()}/v1"
    server = start_server("--mode", "record", "--upstream", dead, db=db)
    with pytest.raises(openai.APIStatusError) as info:
        server.client().chat.completions.create(**CHAT)
    assert info.value.status_code == 502
    error = info.value.body
    assert error["type"] == "upstream_error" and error["code"] == "bad_gateway"
    assert "could not be reached" in error["message"]
    assert info.value.response.headers["x-fakeai-source"] == "upstream"
    metrics = httpx.get(server.root_url + "/metrics").json()["cassettes"]
    assert metrics["/v1/chat/completions"]["upstream_errors"] == 1
    assert count_cassettes(db) == 0


def test_slow_upstream_times_out_504_and_stores_nothing(start_server, tmp_path) -> None:  # noqa: ANN001
    slow = start_server("--ttft-ms", "3000", db=str(tmp_path / "slow_up.db"))
    db = str(tmp_path / "timeout.db")
    server = start_server("--mode", "record", "--upstream", slow.base_url, "--upstream-timeout", "0.5", db=db)
    with pytest.raises(openai.APIStatusError) as info:
        server.client().chat.completions.create(**CHAT)
    assert info.value.status_code == 504
    assert info.value.body["code"] == "gateway_timeout"  # the 504 itself shows the deadline held
    # A stream whose first event does not come in time: the stream started, so an SSE error event.
    with httpx.stream("POST", server.base_url + "/chat/completions", json={**CHAT, "stream": True}, headers=AUTH) as r:
        body = r.read()
    assert body.startswith(b"data: {\"error\"") and b"upstream_error" in body
    assert count_cassettes(db) == 0


def test_stream_dropped_mid_way_gives_an_error_event_and_stores_nothing(start_server, tmp_path, faulty) -> None:  # noqa: ANN001
    db = str(tmp_path / "drop.db")
    server = start_server("--mode", "record", "--upstream", faulty.base_url, db=db)
    arrivals = []
    started = time.perf_counter()
    with httpx.stream("POST", server.base_url + "/drop", json={"stream": True}, headers=AUTH) as r:
        assert r.status_code == 200
        body = b""
        for chunk in r.iter_bytes():
            arrivals.append(time.perf_counter() - started)
            body += chunk
    # The two whole events reached the client as they came, then one error event, and the end.
    assert body.startswith(EVENTS[0] + EVENTS[1])
    tail = body[len(EVENTS[0] + EVENTS[1]) :]
    assert tail.startswith(b"data: ") and tail.endswith(b"\n\n")
    error = json.loads(tail[6:])["error"]
    assert error["type"] == "upstream_error" and "broke off" in error["message"]
    assert len(arrivals) >= 2  # not buffered into one piece
    # A truncated whole body is a 502.
    r = httpx.post(server.base_url + "/truncated", json={}, headers=AUTH)
    assert r.status_code == 502 and r.json()["error"]["code"] == "bad_gateway"
    assert count_cassettes(db) == 0


# -- upstream HTTP errors, routes FakeAI does not synthesize, stored headers -----------------------


def test_upstream_errors_are_recorded_unless_told_not_to(start_server, tmp_path, upstream) -> None:  # noqa: ANN001
    bad = {"model": "gpt-4o", "messages": "not a list"}
    db = str(tmp_path / "errors.db")
    server = start_server("--mode", "record", "--upstream", upstream.base_url, db=db)
    recorded = httpx.post(server.base_url + "/chat/completions", json=bad, headers=AUTH)
    assert recorded.status_code == 400
    server.stop()  # shutdown waits for the write, which may commit after the answer
    assert count_cassettes(db) == 1
    replay = start_server("--mode", "replay", db=db)
    again = httpx.post(replay.base_url + "/chat/completions", json=bad, headers=AUTH)
    assert (again.status_code, again.content) == (400, recorded.content)
    assert again.headers["x-fakeai-source"] == "replay"

    db2 = str(tmp_path / "no_errors.db")
    quiet = start_server("--mode", "record", "--upstream", upstream.base_url, "--no-record-errors", db=db2)
    r = httpx.post(quiet.base_url + "/chat/completions", json=bad, headers=AUTH)
    assert r.status_code == 400 and r.headers["x-fakeai-source"] == "upstream"
    quiet.stop()
    assert count_cassettes(db2) == 0


def test_catch_all_records_and_replays_unsynthesized_routes(start_server, tmp_path, faulty, live_server) -> None:  # noqa: ANN001
    db = str(tmp_path / "catch_all.db")
    server = start_server("--mode", "record", "--upstream", faulty.base_url, db=db)
    body = {"name": "docs", "file_ids": ["file-1"]}
    recorded = httpx.post(server.base_url + "/vector_stores?x=1", json=body, headers=AUTH)
    assert recorded.status_code == 200 and recorded.headers["x-fakeai-source"] == "upstream"
    seen = recorded.json()
    assert seen["target"] == "/v1/vector_stores?x=1"  # base URL ends in /v1: not doubled
    assert "accept-encoding" in seen["forwarded"] and "cookie" not in seen["forwarded"]
    gz = httpx.get(server.base_url + "/gzipped", headers=AUTH)
    assert gz.json()["zipped"] is True
    server.stop()
    stored = {c.path: c for c in all_cassettes(db)}
    assert stored["/v1/gzipped"].body == b'{"object": "list", "data": [], "zipped": true}'  # decoded
    assert stored["/v1/gzipped"].headers == {"content-type": "application/json", "x-request-id": "req_upstream_1"}
    assert "set-cookie" not in stored["/v1/vector_stores"].headers
    assert stored["/v1/vector_stores"].upstream == faulty.base_url

    replay = start_server("--mode", "replay", db=db)
    again = httpx.post(replay.base_url + "/vector_stores?x=1", json=body, headers=AUTH)
    assert again.content == recorded.content and again.headers["x-fakeai-source"] == "replay"
    assert again.headers["openai-processing-ms"] == "7"
    assert httpx.get(replay.base_url + "/gzipped", headers=AUTH).headers["x-request-id"] == "req_upstream_1"
    # In synthetic mode the same route is the usual unknown_url 404.
    synthetic = live_server
    r = httpx.post(synthetic.base_url + "/vector_stores", json=body, headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_url"
    assert r.headers["x-fakeai-source"] == "synthetic"
    # Real routes keep answering 405 for a wrong method.
    r = httpx.delete(synthetic.base_url + "/chat/completions", headers=AUTH)
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


# -- misses ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded_db(tmp_path_factory, upstream):  # noqa: ANN201
    db = str(tmp_path_factory.mktemp("misses") / "cassettes.db")
    with ServerProcess("--mode", "record", "--upstream", upstream.base_url, "--match-header", "OpenAI-Beta", db=db) as rec:
        client = rec.client()
        client.chat.completions.create(**CHAT, temperature=0.5)
        client.chat.completions.create(**{**CHAT, "max_tokens": 9})
        client.with_options(default_headers={"OpenAI-Beta": "assistants=v2"}).models.list()
    return db


def test_miss_error_names_the_nearest_request_and_what_differs(start_server, recorded_db) -> None:  # noqa: ANN001
    server = start_server("--mode", "replay", "--match-header", "OpenAI-Beta", db=recorded_db)
    client = server.client()
    assert client.chat.completions.create(**CHAT, temperature=0.5).choices  # a hit
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(**{**CHAT, "messages": [{"role": "user", "content": "hello"}]}, temperature=0.7)
    error = info.value.body
    response = info.value.response
    assert error["code"] == "cassette_not_found"
    wanted = response.headers["x-fakeai-request-hash"]
    assert response.headers["x-should-retry"] == "false"
    message = error["message"]
    assert "POST /v1/chat/completions" in message and wanted in message
    assert error["nearest"]["differs"] == ["body.messages.0.content", "body.temperature"]
    assert "body.messages.0.content, body.temperature" in message
    assert error["request_hash"] == wanted and error["nearest"]["request_hash"][:12] in message
    # A match header is part of the key: without it the models list misses.
    with pytest.raises(openai.NotFoundError) as info:
        client.models.list()
    assert info.value.body["nearest"]["differs"] == ["headers.openai-beta"]
    assert client.with_options(default_headers={"OpenAI-Beta": "assistants=v2"}).models.list().data
    # Nothing at all on an endpoint: said so.
    with pytest.raises(openai.NotFoundError) as info:
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="x")
    assert "Nothing is recorded on this endpoint" in info.value.body["message"]
    assert info.value.body["nearest"] is None
    metrics = httpx.get(server.root_url + "/metrics").json()["cassettes"]
    assert metrics["/v1/chat/completions"] == {"hits": 1, "misses": 1}


def test_on_miss_synthetic_answers_synthetically(start_server, recorded_db) -> None:  # noqa: ANN001
    server = start_server("--mode", "replay", "--on-miss", "synthetic", db=recorded_db)
    raw = server.client().chat.completions.with_raw_response.create(**{**CHAT, "max_tokens": 3})
    assert raw.headers["x-fakeai-source"] == "synthetic"
    assert raw.parse().choices[0].message.content
    hit = server.client().chat.completions.with_raw_response.create(**CHAT, temperature=0.5)
    assert hit.headers["x-fakeai-source"] == "replay"


def test_on_miss_record_records_only_what_is_missing(start_server, tmp_path, upstream, recorded_db) -> None:  # noqa: ANN001
    db = str(tmp_path / "on_miss_record.db")
    Path(db).write_bytes(Path(recorded_db).read_bytes())
    before = count_cassettes(db)
    server = start_server("--mode", "replay", "--on-miss", "record", "--upstream", upstream.base_url, db=db)
    client = server.client()
    fresh = {**CHAT, "max_tokens": 4, "seed": 5}
    first = client.chat.completions.with_raw_response.create(**fresh)
    second = client.chat.completions.with_raw_response.create(**fresh)
    hit = client.chat.completions.with_raw_response.create(**CHAT, temperature=0.5)
    assert first.headers["x-fakeai-source"] == "upstream"
    assert second.headers["x-fakeai-source"] == "replay"
    assert second.http_response.content == first.http_response.content
    assert hit.headers["x-fakeai-source"] == "replay"
    assert eventually(lambda: count_cassettes(db), lambda n: n > before) == before + 1
    metrics = httpx.get(server.root_url + "/metrics").json()["cassettes"]["/v1/chat/completions"]
    assert metrics == {"misses": 1, "recordings": 1, "hits": 2}


# -- concurrency ------------------------------------------------------------------------------------


def test_200_concurrent_recordings_with_two_workers(start_server, tmp_path, upstream) -> None:  # noqa: ANN001
    db = str(tmp_path / "concurrent.db")
    server = start_server("--mode", "record", "--upstream", upstream.base_url, "--workers", "2", db=db)

    async def drive() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(headers=AUTH, timeout=60, limits=limits) as client:
            calls = []
            for i in range(200):
                body = {**CHAT, "max_tokens": 3, "seed": i}
                if i % 4 == 0:
                    body["stream"] = True
                calls.append(client.post(server.base_url + "/chat/completions", json=body))
            return await asyncio.gather(*calls)

    responses = asyncio.run(drive())
    assert [r.status_code for r in responses] == [200] * 200
    assert eventually(lambda: count_cassettes(db), lambda n: n >= 200) == 200
    assert "database is locked" not in server.log()


# -- secrets ------------------------------------------------------------------------------------------


def test_secrets_never_reach_the_database(start_server, tmp_path, upstream) -> None:  # noqa: ANN001
    db = str(tmp_path / "secrets.db")
    server = start_server(
        "--mode", "record", "--upstream", upstream.base_url,
        "--upstream-api-key", UPSTREAM_KEY, "--allow-default-keys",
        "--redact-header", "X-Tenant-Token",
        "--match-header", "X-Tenant-Token,Authorization",  # named, yet secrets never join the key
        "--redact-field", "user,metadata.card",
        db=db,
    )  # fmt: skip
    client = server.client(
        default_headers={
            "OpenAI-Organization": "org-secretorganization42",
            "OpenAI-Project": "proj_secretproject42",
            "X-Tenant-Token": "tenant-secret-token-42",
            "Cookie": "session=cookie-secret-42",
        }
    )
    client.chat.completions.create(**CHAT, user="user-secret-42", metadata={"card": "4111-secret-1111"})
    with client.chat.completions.create(**CHAT, stream=True) as stream:
        assert list(stream)
    client.files.create(file=("k.jsonl", b'{"x": 1}\n'), purpose="batch")
    server.stop()
    data = b"".join(p.read_bytes() for p in Path(tmp_path).glob("secrets.db*") if not p.name.endswith(".log"))
    for secret in (
        KEY, UPSTREAM_KEY, "org-secretorganization42", "proj_secretproject42", "tenant-secret-token-42",
        "cookie-secret-42", "user-secret-42", "4111-secret-1111",
    ):  # fmt: skip
        assert secret.encode() not in data, secret
    assert count_cassettes(db) == 3
    chat = next(c for c in all_cassettes(db) if c.path == "/v1/chat/completions" and not c.stream)
    request = json.loads(chat.request)
    assert request["body"]["user"] == "[REDACTED]" and request["body"]["metadata"]["card"] == "[REDACTED]"
    assert request["headers"] == {}


def test_client_key_is_passed_upstream_and_judged_there(start_server, tmp_path, upstream) -> None:  # noqa: ANN001
    """Without --upstream-api-key the client's own key goes upstream: a key only the upstream knows
    works through the recorder, a key nobody knows gets the upstream's 401 (and neither is stored)."""
    db = str(tmp_path / "passthrough.db")
    server = start_server("--mode", "record", "--upstream", upstream.base_url, db=db)
    ok = openai.OpenAI(api_key=UPSTREAM_KEY, base_url=server.base_url, max_retries=0)
    assert ok.models.with_raw_response.list().headers["x-fakeai-source"] == "upstream"
    bad = openai.OpenAI(api_key="sk-nobody-knows-this-one", base_url=server.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.models.list()
    assert info.value.response.headers["x-fakeai-source"] == "upstream"
    server.stop()
    data = b"".join(p.read_bytes() for p in Path(tmp_path).glob("passthrough.db*") if not p.name.endswith(".log"))
    assert UPSTREAM_KEY.encode() not in data and b"sk-nobody-knows-this-one" not in data
    assert count_cassettes(db) == 2  # the 401 is an upstream answer like any other


def test_client_leaving_mid_stream_still_records_the_whole_answer(start_server, tmp_path, upstream) -> None:  # noqa: ANN001
    """The upstream is read to its end by the recorder itself: a client that stops after two events
    (as SDKs do after `data: [DONE]`, or a user pressing Ctrl-C) does not cost the recording."""
    db = str(tmp_path / "left.db")
    server = start_server("--mode", "record", "--upstream", upstream.base_url, "--upstream-api-key", UPSTREAM_KEY, "--allow-default-keys", db=db)
    body = {**CHAT, "max_tokens": 40, "stream": True, "ignore_eos": True}
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body, headers={
        "Authorization": f"Bearer {KEY}"}, timeout=30) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    deadline = time.monotonic() + 10
    while count_cassettes(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    (cassette,) = all_cassettes(db)
    assert cassette.stream and cassette.events[-1][1] == b"data: [DONE]\n\n"
    assert len(cassette.events) > 40  # role event + 40 tokens + finish + [DONE]
