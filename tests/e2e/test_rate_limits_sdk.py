"""Rate limits and quota against a live uvicorn, with the official openai SDK as the client."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.e2e.test_faults_sdk import Arrivals

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}
RATE_HEADERS = (
    "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
)


def test_headers_count_down_then_429_then_reset_when_it_said(start_server) -> None:  # noqa: ANN001
    server = start_server("--rate-limit-rpm", "60", "--rate-limit-tpm", "1000000")
    client = server.client()
    remaining: list[int] = []
    refused = None
    for _ in range(200):
        try:
            raw = client.models.with_raw_response.list()
        except openai.RateLimitError as exc:
            refused = exc
            break
        assert all(name in raw.headers for name in RATE_HEADERS)
        remaining.append(int(raw.headers["x-ratelimit-remaining-requests"]))
    assert refused is not None and len(remaining) >= 60  # 60 at once, plus what refilled meanwhile
    assert remaining[0] == 59 and remaining[-1] == 0
    assert all(b <= a for a, b in zip(remaining, remaining[1:]))  # counts down (a refill only slows it)
    body, headers = refused.body, refused.response.headers
    assert body["type"] == "requests" and body["code"] == "rate_limit_exceeded" and body["param"] is None
    assert "on requests per min (RPM): Limit 60" in body["message"] and "Please try again in" in body["message"]
    wait_ms = int(headers["retry-after-ms"])
    assert 0 < wait_ms <= 1000 and headers["retry-after"] == "1"
    assert headers["x-ratelimit-remaining-requests"] == "0" and headers["x-ratelimit-reset-requests"].endswith("s")
    time.sleep(wait_ms / 1000)  # as long as the server said, and it lets us in again
    assert client.models.with_raw_response.list().headers["x-ratelimit-remaining-requests"] == "0"
    limited = httpx.get(server.root_url + "/metrics").json()["rate_limited"]
    assert limited["/v1/models"]["requests"] == 1
    assert 'fakeai_rate_limited_total{endpoint="/v1/models",limit="requests"} 1' in httpx.get(
        server.root_url + "/metrics", headers={"Accept": "text/plain"}).text


def test_tokens_are_prompt_plus_requested_budget(start_server) -> None:  # noqa: ANN001
    server = start_server("--rate-limit-tpm", "1000")
    raw = server.client().chat.completions.with_raw_response.create(**CHAT, max_tokens=100)
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) == 1000 - (raw.parse().usage.prompt_tokens + 100)
    assert "x-ratelimit-limit-requests" not in raw.headers  # only configured limits are advertised
    with pytest.raises(openai.RateLimitError) as info:
        for _ in range(10):
            server.client().chat.completions.create(**CHAT, max_tokens=300)
    assert info.value.body["type"] == "tokens" and "(TPM): Limit 1000" in info.value.body["message"]


def test_quota_and_request_too_large_are_not_retried(start_server) -> None:  # noqa: ANN001
    server = start_server("--quota-tokens", "250", "--rate-limit-tpm", "1000")
    arrivals = Arrivals()
    client = arrivals.client(server, max_retries=2)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(**CHAT, max_tokens=2000)
    assert info.value.body["message"].startswith("Request too large for gpt-4o-mini")
    assert info.value.response.headers["x-should-retry"] == "false" and len(arrivals.sent) == 1
    client.chat.completions.create(**CHAT, max_tokens=100)
    client.chat.completions.create(**CHAT, max_tokens=100)
    arrivals.sent.clear()
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(**CHAT, max_tokens=100)
    assert info.value.code == "insufficient_quota" and info.value.body["type"] == "insufficient_quota"
    assert info.value.response.headers["x-should-retry"] == "false" and len(arrivals.sent) == 1  # not retried
    assert client.chat.completions.create(**CHAT, max_tokens=1).choices  # what is left still serves a small one


def test_limits_are_exact_across_two_workers(start_server) -> None:  # noqa: ANN001
    server = start_server("--workers", "2", "--rate-limit-rpm", "4")  # one request refills every 15 s

    def call(_: int) -> int:
        return httpx.get(server.base_url + "/models", headers={"Authorization": f"Bearer {server.api_key}"},
                         timeout=30).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(call, range(40)))
    assert statuses.count(200) == 4 and statuses.count(429) == 36
    other = httpx.get(server.base_url + "/models", headers={"Authorization": "Bearer sk-test-abcdefghijklmnop"})
    assert other.status_code == 200 and other.headers["x-ratelimit-remaining-requests"] == "3"  # per key
