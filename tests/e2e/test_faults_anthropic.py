"""Faults and rate limits on Anthropic's Messages API answer in Anthropic's shape (anthropic SDK, live uvicorn)."""

from __future__ import annotations

import anthropic
import httpx2  # the transport both official SDKs use
import pytest

from fakeai.cassettes.server_process import ServerProcess

MODEL = "claude-sonnet-4-5"
ASK = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "Hi there"}]}


def sdk(server: ServerProcess, **kwargs) -> anthropic.Anthropic:
    kwargs.setdefault("max_retries", 0)
    return anthropic.Anthropic(api_key=server.api_key, base_url=server.root_url, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> ServerProcess:  # noqa: ANN001
    db = tmp_path_factory.mktemp("anthropic-faults") / "fakeai.db"
    with ServerProcess("--fault-retry-after-ms", "50", "--rate-limit-rpm", "1000", db=str(db)) as s:
        yield s


def test_overloaded_is_529_overloaded_error_and_retried(server: ServerProcess) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        sdk(server).messages.create(**ASK, extra_headers={"x-fakeai-fault": "overloaded"})
    error = info.value
    assert error.status_code == 529 and error.body["type"] == "error" and error.body["error"]["type"] == "overloaded_error"
    assert error.response.headers["x-fakeai-fault"] == "overloaded" and "retry-after" in error.response.headers
    raw = sdk(server, max_retries=2).messages.with_raw_response.create(
        **ASK, extra_headers={"x-fakeai-fault": "overloaded", "x-fakeai-fault-attempts": "1"})
    assert raw.retries_taken == 1 and raw.parse().content[0].text


def test_rate_limit_and_server_error_in_anthropic_shape(server: ServerProcess) -> None:
    with pytest.raises(anthropic.RateLimitError) as info:
        sdk(server).messages.create(**ASK, extra_headers={"x-fakeai-fault": "rate_limit"})
    assert info.value.body["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.InternalServerError) as info:
        sdk(server).messages.create(**ASK, extra_headers={"x-fakeai-fault": "server_error"})
    assert info.value.body["error"]["type"] == "api_error" and "param" not in info.value.body["error"]


def test_stream_faults_make_the_anthropic_stream_raise(server: ServerProcess) -> None:
    # a cut stream surfaces as the transport's error: the anthropic SDK does not wrap errors met mid-stream
    for fault, raised in (("stream_error", anthropic.APIStatusError), ("stream_cut", httpx2.RemoteProtocolError)):
        events = []
        with pytest.raises(raised):
            with sdk(server).messages.stream(**ASK, extra_headers={"x-fakeai-fault": fault,
                                                                   "x-fakeai-fault-after": "3"}) as stream:
                for event in stream:
                    events.append(event.type)
        assert events[:1] == ["message_start"] and len(events) >= 2


def test_anthropic_rate_limit_headers_and_429(start_server) -> None:  # noqa: ANN001
    server = start_server("--rate-limit-rpm", "2", "--rate-limit-tpm", "100000")
    client = sdk(server)
    remaining = []
    for _ in range(2):
        raw = client.messages.with_raw_response.create(**ASK)
        assert "x-ratelimit-remaining-requests" not in raw.headers
        assert raw.headers["anthropic-ratelimit-requests-limit"] == "2"
        assert raw.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
        assert int(raw.headers["anthropic-ratelimit-tokens-remaining"]) < 100000
        remaining.append(raw.headers["anthropic-ratelimit-requests-remaining"])
    assert remaining == ["1", "0"]
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(**ASK)
    assert info.value.body["error"]["type"] == "rate_limit_error" and "per-minute rate limit" in info.value.message
    assert int(info.value.response.headers["retry-after"]) >= 1
