"""Injected faults against a live uvicorn, with the official openai SDK as the client."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from fakeai.cassettes.server_process import ServerProcess

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me about rivers."}], "max_tokens": 40}
RETRY_AFTER_MS = 1500  # well above the SDK's own first backoff (at most 0.5 s), so honouring it shows


class Arrivals:
    """When the SDK sent each request (an httpx event hook), and its retry count."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []

    def __call__(self, request) -> None:  # noqa: ANN001 - an httpx request
        self.sent.append((time.monotonic(), request.headers.get("x-stainless-retry-count", "")))

    def client(self, server: ServerProcess, **kwargs) -> openai.OpenAI:  # noqa: ANN003
        return server.client(http_client=openai.DefaultHttpxClient(event_hooks={"request": [self]}), **kwargs)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> ServerProcess:  # noqa: ANN001
    db = tmp_path_factory.mktemp("faults") / "fakeai.db"
    with ServerProcess("--fault-retry-after-ms", str(RETRY_AFTER_MS), "--fault-timeout-s", "0.2", db=str(db)) as s:
        yield s


@pytest.mark.parametrize(("fault", "status"), [("rate_limit", 429), ("server_error", 500), ("overloaded", 503)])
def test_sdk_retries_recover_from_a_one_shot_fault(server: ServerProcess, fault: str, status: int) -> None:
    arrivals = Arrivals()
    client = arrivals.client(server, max_retries=2)
    raw = client.chat.completions.with_raw_response.create(
        **CHAT, extra_headers={"x-fakeai-fault": fault, "x-fakeai-fault-attempts": "1"}
    )
    assert raw.retries_taken == 1 and raw.parse().choices[0].message.content
    assert "x-fakeai-fault" not in raw.headers  # the retry was answered normally
    assert [retry for _, retry in arrivals.sent] == ["0", "1"]
    if fault != "server_error":  # 429 and 503 say how long to wait; the SDK waited at least that long
        assert arrivals.sent[1][0] - arrivals.sent[0][0] >= RETRY_AFTER_MS / 1000
    # Without the attempts limit the same fault is answered every time, with the fault named.
    with pytest.raises(openai.APIStatusError) as info:
        server.client().chat.completions.create(**CHAT, extra_headers={"x-fakeai-fault": fault})
    error = info.value
    assert error.status_code == status and error.response.headers["x-fakeai-fault"] == fault
    assert set(error.body) >= {"message", "type", "param", "code"}  # OpenAI's error object
    if fault == "rate_limit":
        assert error.code == "rate_limit_exceeded" and error.response.headers["retry-after-ms"] == str(RETRY_AFTER_MS)
        assert error.response.headers["retry-after"] == "2"


def _stream_text(client: openai.OpenAI, fault: str, after: int) -> tuple[list[str], BaseException | None]:
    seen: list[str] = []
    stream = client.chat.completions.create(
        **CHAT, stream=True, extra_headers={"x-fakeai-fault": fault, "x-fakeai-fault-after": str(after)}
    )
    try:
        for chunk in stream:
            seen.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    except Exception as exc:  # noqa: BLE001 - whatever the SDK raises is the point
        return seen, exc
    return seen, None


def test_stream_cut_and_stream_error_make_the_sdk_stream_raise(server: ServerProcess) -> None:
    client = server.client()
    seen, error = _stream_text(client, "stream_cut", 4)
    assert isinstance(error, openai.APIConnectionError) and len(seen) == 4  # four chunks, then the connection closed
    seen, error = _stream_text(client, "stream_error", 2)
    assert isinstance(error, openai.APIError) and len(seen) == 2
    assert "server had an error" in error.message
    seen, error = _stream_text(client, "malformed", 1)
    assert error is not None and len(seen) == 1 and not isinstance(error, openai.APIStatusError)


def test_whole_answer_faults(server: ServerProcess) -> None:
    client = server.client(timeout=10)
    for fault in ("disconnect", "timeout", "stream_cut"):
        started = time.monotonic()
        with pytest.raises(openai.APIConnectionError):
            client.chat.completions.create(**CHAT, extra_headers={"x-fakeai-fault": fault})
        if fault == "timeout":
            assert time.monotonic() - started >= 0.2  # said nothing for --fault-timeout-s first
    raw = httpx.post(server.base_url + "/chat/completions", json=CHAT, headers=_auth(server, "malformed"), timeout=10)
    assert raw.status_code == 200 and raw.headers["x-fakeai-fault"] == "malformed"
    with pytest.raises(ValueError):
        raw.json()
    stream_error = httpx.post(server.base_url + "/chat/completions", json=CHAT, headers=_auth(server, "stream_error"))
    assert stream_error.status_code == 500 and stream_error.json()["error"]["type"] == "server_error"
    # The Responses API's stream carries its own error event.
    events = httpx.post(
        server.base_url + "/responses", json={"model": "gpt-4o-mini", "input": "Hi", "stream": True},
        headers={**_auth(server, "stream_error"), "x-fakeai-fault-after": "2"},
    ).text
    assert events.count("\n\n") == 3 and "event: error\n" in events and '"sequence_number":2' in events


def test_bad_fault_headers_are_400(server: ServerProcess) -> None:
    for headers in ({"x-fakeai-fault": "explode"}, {"x-fakeai-fault": "stream_cut", "x-fakeai-fault-after": "soon"},
                    {"x-fakeai-fault": "rate_limit", "x-fakeai-fault-attempts": "x"}):
        with pytest.raises(openai.BadRequestError) as info:
            server.client().chat.completions.create(**CHAT, extra_headers=headers)
        assert info.value.body["param"].startswith("x-fakeai-fault")
    # none exempts a request, and forced faults work on any /v1 route
    assert server.client().models.list(extra_headers={"x-fakeai-fault": "none"}).data
    with pytest.raises(openai.InternalServerError):
        server.client().models.list(extra_headers={"x-fakeai-fault": "server_error"})


def test_metrics_count_faults_by_type_and_endpoint(server: ServerProcess) -> None:
    before = httpx.get(server.root_url + "/metrics").json().get("faults_injected", {})
    for _ in range(2):
        with pytest.raises(openai.RateLimitError):
            server.client().embeddings.create(model="text-embedding-3-small", input="x",
                                              extra_headers={"x-fakeai-fault": "rate_limit"})
    after = httpx.get(server.root_url + "/metrics").json()["faults_injected"]
    assert after["/v1/embeddings"]["rate_limit"] == before.get("/v1/embeddings", {}).get("rate_limit", 0) + 2
    text = httpx.get(server.root_url + "/metrics", headers={"Accept": "text/plain"}).text
    assert 'fakeai_faults_injected_total{endpoint="/v1/embeddings",type="rate_limit"} ' in text


def _auth(server: ServerProcess, fault: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}", "x-fakeai-fault": fault}


def _outcomes(server: ServerProcess, n: int) -> list[str]:
    client = server.client()
    seen = []
    for i in range(n):
        try:
            raw = client.chat.completions.with_raw_response.create(**CHAT, seed=i)
            seen.append(raw.headers.get("x-fakeai-fault", "ok"))
        except openai.APIStatusError as exc:
            seen.append(exc.response.headers["x-fakeai-fault"])
        except openai.APIConnectionError:
            seen.append("dropped")
    return seen


def test_same_seed_same_fault_sequence_whatever_the_workers(start_server) -> None:  # noqa: ANN001
    flags = ("--fault-rate", "0.5", "--fault-seed", "42", "--fault-types", "rate_limit=2,server_error,overloaded,disconnect")
    first = _outcomes(start_server(*flags), 16)
    assert "ok" in first and len(set(first)) >= 3
    assert _outcomes(start_server(*flags), 16) == first
    assert _outcomes(start_server(*flags, "--workers", "2"), 16) == first  # one counter for both workers
    other = _outcomes(start_server(*flags[:3], "43", *flags[4:]), 16)
    assert other != first


def test_fault_endpoints_scope_random_faults(start_server) -> None:  # noqa: ANN001
    server = start_server("--fault-rate", "1", "--fault-types", "server_error", "--fault-endpoints", "/v1/embeddings")
    assert server.client().chat.completions.create(**CHAT).choices  # out of scope
    with pytest.raises(openai.InternalServerError):
        server.client().embeddings.create(model="text-embedding-3-small", input="x")
    assert server.client().embeddings.create(model="text-embedding-3-small", input="x",
                                             extra_headers={"x-fakeai-fault": "none"}).data
