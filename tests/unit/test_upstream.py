"""Upstream URL joining, forwarded headers and SSE event splitting (no network)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from fakeai.modes.base import Exchange
from fakeai.modes.upstream import Upstream, UpstreamDropped, kept_headers, public_url, sse_events


def make(base: str, key: str | None = None) -> Upstream:
    return Upstream(base, api_key=key, timeout=5)


def test_url_for_strips_the_v1_prefix_only_when_the_base_has_it() -> None:
    assert make("https://api.openai.com/v1").url_for("/v1/chat/completions") == "https://api.openai.com/v1/chat/completions"
    assert make("https://api.openai.com/v1/").url_for("/v1/models") == "https://api.openai.com/v1/models"
    assert make("http://127.0.0.1:8000").url_for("/v1/models") == "http://127.0.0.1:8000/v1/models"
    assert make("http://nim:8000/api").url_for("/v1/models") == "http://nim:8000/api/v1/models"
    # Routes outside /v1 (Cohere's /v2/rerank, TEI's /rerank) sit beside the base's /v1.
    assert make("http://vllm:8000/v1").url_for("/v2/rerank") == "http://vllm:8000/v2/rerank"
    assert make("http://tei:80/v1").url_for("/rerank") == "http://tei:80/rerank"
    assert make("http://tei:80").url_for("/rerank") == "http://tei:80/rerank"


def test_public_url_drops_credentials() -> None:
    assert public_url("https://user:pw@host:8443/v1") == "https://host:8443/v1"


def test_request_headers_replace_auth_with_the_upstream_key() -> None:
    exchange = Exchange(
        method="POST",
        path="/v1/x",
        headers={"authorization": "Bearer client", "api-key": "k", "host": "me", "content-length": "3",
                 "content-type": "application/json", "openai-beta": "v2", "cookie": "c"},
    )  # fmt: skip
    own = make("http://u", key="sk-up").request_headers(exchange)
    assert own["authorization"] == "Bearer sk-up" and "api-key" not in own
    assert own["content-type"] == "application/json" and own["openai-beta"] == "v2"
    assert "host" not in own and "content-length" not in own and "cookie" not in own
    assert own["accept-encoding"] == "gzip, identity"
    passed = make("http://u").request_headers(exchange)
    assert passed["authorization"] == "Bearer client" and passed["api-key"] == "k"


def test_kept_headers_is_an_allow_list() -> None:
    headers = httpx.Headers({"content-type": "application/json", "set-cookie": "a", "x-request-id": "r", "date": "d"})
    assert kept_headers(headers) == {"content-type": "application/json", "x-request-id": "r"}


async def _events(chunks: list[bytes]) -> list[bytes]:
    async def stream():  # noqa: ANN202
        for chunk in chunks:
            yield chunk

    response = httpx.Response(200, content=stream())
    return [event async for event in sse_events(response)]


def test_sse_events_are_whole_events_whatever_the_chunking() -> None:
    raw = b'data: {"a":1}\n\nevent: done\ndata: 2\r\n\r\n: ping\n\ndata: [DONE]\n\n'
    expected = [b'data: {"a":1}\n\n', b"event: done\ndata: 2\r\n\r\n", b": ping\n\n", b"data: [DONE]\n\n"]
    assert asyncio.run(_events([raw])) == expected
    assert asyncio.run(_events([raw[i : i + 1] for i in range(len(raw))])) == expected
    assert asyncio.run(_events([raw[:15], raw[15:38], raw[38:]])) == expected


def test_sse_stream_ending_mid_event_is_a_drop() -> None:
    with pytest.raises(UpstreamDropped):
        asyncio.run(_events([b"data: 1\n\n", b"data: {\"partial"]))


def test_anthropic_upstream_sends_its_key_as_x_api_key() -> None:
    exchange = Exchange(method="POST", path="/v1/messages", headers={
        "x-api-key": "client-key", "authorization": "Bearer client", "anthropic-version": "2023-06-01"})
    headers = Upstream("https://api.anthropic.com", api_key="sk-ant-configured", timeout=5, key_header="x-api-key").request_headers(exchange)
    assert headers["x-api-key"] == "sk-ant-configured" and "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01"
    forwarded = Upstream("https://api.anthropic.com", api_key=None, timeout=5, key_header="x-api-key").request_headers(exchange)
    assert forwarded["x-api-key"] == "client-key"  # no configured key: the client's own goes upstream
