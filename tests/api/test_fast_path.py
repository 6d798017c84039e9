"""The hot JSON endpoints skip Litestar's router (fakeai/api/fast_path.py); the wire must not notice.

A trailing slash sends the same request through Litestar's router (which normalises it away), so each
case below is answered once by each path and the answers compared."""

import pytest

from fakeai.api import FAST_HANDLERS
from fakeai.app import create_app
from fakeai.api.fast_path import FastRoutes
from tests.conftest import AUTH

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "seed": 7}
MESSAGE = {"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}

CASES = [
    ("/v1/chat/completions", {"content": b"{not json"}, {}),
    ("/v1/chat/completions", {"json": {"model": "gpt-4o-mini", "messages": "nope"}}, {}),
    ("/v1/chat/completions", {"json": {"messages": [{"role": "user", "content": "hi"}]}}, {}),
    ("/v1/chat/completions", {"json": CHAT}, {"Authorization": ""}),
    ("/v1/chat/completions", {"json": CHAT}, {"Authorization": "Bearer wrong"}),
    ("/v1/chat/completions", {"content": b"[" * 100_000}, {}),
    ("/v1/completions", {"json": {"model": "gpt-3.5-turbo-instruct", "prompt": 3.5}}, {}),
    ("/v1/embeddings", {"json": {"model": "text-embedding-3-small"}}, {}),
    ("/v1/messages", {"json": {"model": "claude-sonnet-4-5", "messages": []}}, {"anthropic-version": "2023-06-01"}),
    ("/v1/messages", {"json": MESSAGE}, {"Authorization": "", "x-api-key": "wrong"}),
    ("/v1/ranking", {"json": {"model": "nv-rerank", "query": {"text": "q"}, "passages": []}}, {}),
]


def _comparable(r) -> tuple:
    body = r.json()
    body.pop("request_id", None)  # Anthropic's error carries the request's own id
    headers = {k: v for k, v in r.headers.items() if k not in {"x-request-id", "request-id", "content-length", "date"}}
    return r.status_code, body, headers


@pytest.mark.parametrize(("path", "send", "headers"), CASES)
def test_errors_are_the_same_through_either_path(api, path, send, headers):
    fast = api.post(path, headers=headers, **send)
    routed = api.post(path + "/", headers=headers, **send)
    assert fast.status_code >= 400
    assert _comparable(fast) == _comparable(routed)


def test_answers_are_the_same_through_either_path(api):
    fast, routed = api.post("/v1/chat/completions", json=CHAT), api.post("/v1/chat/completions/", json=CHAT)
    assert fast.status_code == routed.status_code == 200
    a, b = fast.json(), routed.json()
    for key in ("id", "created"):
        a.pop(key), b.pop(key)
    assert a == b  # seeded: the same text, usage and finish reason
    assert fast.headers["x-fakeai-source"] == routed.headers["x-fakeai-source"] == "synthetic"
    assert fast.headers["x-request-id"] != routed.headers["x-request-id"]


def test_both_paths_count_under_the_route_template(api):
    api.post("/v1/chat/completions", json=CHAT)
    api.post("/v1/chat/completions/", json=CHAT)
    requests = api.get("/metrics").json()["requests"]
    assert requests["/v1/chat/completions"] == 2
    assert not any(k.endswith("/") for k in requests)


def test_streams_go_through_the_fast_path(api):
    with api.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"


def test_every_listed_handler_is_taken_and_nothing_else():
    app = create_app()
    paths = FastRoutes(app, FAST_HANDLERS).paths
    assert len(paths) == len(FAST_HANDLERS)
    assert "/v1/chat/completions" in paths and "/v1/messages" in paths
    assert not any("{" in p for p in paths)
    assert "/v1/files" not in paths  # uploads keep Litestar's multipart parsing and body limit


def test_a_handler_without_a_plain_post_route_fails_at_startup():
    app = create_app()
    from fakeai.api import files

    with pytest.raises(RuntimeError, match="no plain POST route"):
        FastRoutes(app, [*FAST_HANDLERS, files.HANDLERS[1]])


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_leaves_no_reference_cycle_behind(api, stream):
    """uvicorn's request cycle holds the scope; the scope must not end up holding the cycle (its ``send``).
    That cycle kept every request's cycle, transport and events alive until a full collection, which
    paused a worker for tens of milliseconds under load. Here the request's objects go with refcounting."""
    import asyncio
    import gc
    import json
    import weakref

    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5,
                       "stream": stream}).encode()

    class ServerCycle:  # stands in for uvicorn's RequestResponseCycle, which keeps the scope it serves
        def __init__(self, scope: dict) -> None:
            self.scope = scope
            self.statuses: list[int] = []

        async def send(self, message: dict) -> None:
            if message["type"] == "http.response.start":
                self.statuses.append(message["status"])

    async def one() -> tuple[weakref.ref, list[int]]:
        sent = False
        hold = asyncio.Event()

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await hold.wait()  # the client stays until the answer ends
            return {"type": "http.disconnect"}

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
                 "state": {}, "headers": [(b"authorization", AUTH["Authorization"].encode()),
                                          (b"content-type", b"application/json")]}
        cycle = ServerCycle(scope)
        await api.app(scope, receive, cycle.send)
        return weakref.ref(cycle), cycle.statuses

    gc.collect()
    gc.disable()
    try:
        ref, statuses = api.blocking_portal.call(one)
        assert statuses == [200]
        assert ref() is None  # freed without the collector
    finally:
        gc.enable()
