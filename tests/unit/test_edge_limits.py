"""Rate limits and quota on a real memory-mapped table file (fakeai/edge)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from fakeai.edge.limits import RateLimiter, format_reset
from fakeai.edge.request_cost import COMPLETIONS_DEFAULT, DEFAULT_COMPLETION_BUDGET, request_cost
from fakeai.edge.shared_table import SharedTable
from fakeai.errors import InsufficientQuotaError, RateLimitError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.02, "20ms"), (0.0004, "1ms"), (1, "1s"), (8.64, "8.64s"), (360, "6m0s"), (3723, "1h2m3s"), (61.5, "1m1.5s")],
)
def test_reset_is_formatted_as_openai_formats_it(seconds: float, text: str) -> None:
    assert format_reset(seconds) == text


def test_requests_count_down_refuse_and_refill(tmp_path: Path) -> None:
    clock = Clock()
    limiter = RateLimiter(SharedTable(tmp_path / "t"), rpm=3, tpm=0, quota=0, clock=clock)
    remaining = [limiter.admit("k", 0, None).headers["x-ratelimit-remaining-requests"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    with pytest.raises(RateLimitError) as info:
        limiter.admit("k", 0, "gpt-4o-mini")
    error = info.value
    assert (error.status_code, error.error_type, error.code) == (429, "requests", "rate_limit_exceeded")
    assert "gpt-4o-mini" in error.message and "Limit 3, Used 3, Requested 1" in error.message
    assert error.headers["retry-after-ms"] == "20000" and error.headers["retry-after"] == "20"
    assert "x-ratelimit-limit-tokens" not in error.headers  # only configured limits are advertised
    assert limiter.admit("other", 0, None).headers["x-ratelimit-remaining-requests"] == "2"  # per key
    clock.now += 20.0  # one request's worth refilled, exactly what retry-after said
    headers = limiter.admit("k", 0, None).headers
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "1m0s"


def test_tokens_too_large_and_quota(tmp_path: Path) -> None:
    clock = Clock()
    table = SharedTable(tmp_path / "t")
    limiter = RateLimiter(table, rpm=0, tpm=1000, quota=0, clock=clock)
    assert limiter.admit("k", 600, None).headers["x-ratelimit-remaining-tokens"] == "400"
    with pytest.raises(RateLimitError) as info:
        limiter.admit("k", 600, None)
    assert info.value.error_type == "tokens" and info.value.headers["retry-after-ms"] == "12000"  # 200 over at 1000/60 s
    with pytest.raises(RateLimitError) as info:
        limiter.admit("k", 1001, None)
    assert info.value.message.startswith("Request too large") and info.value.headers["x-should-retry"] == "false"
    assert info.value.limit == "too_large"
    quota = RateLimiter(SharedTable(tmp_path / "q"), rpm=0, tpm=0, quota=100, clock=clock)
    quota.admit("a", 60, None)
    quota.admit("b", 40, None)  # the quota is the run's, whatever the key
    with pytest.raises(InsufficientQuotaError) as info:
        quota.admit("c", 1, None)
    assert info.value.to_dict()["error"]["type"] == "insufficient_quota"
    assert info.value.headers["x-should-retry"] == "false"


def test_a_refused_request_costs_nothing(tmp_path: Path) -> None:
    limiter = RateLimiter(SharedTable(tmp_path / "t"), rpm=2, tpm=100, quota=0, clock=Clock())
    limiter.admit("k", 90, None)
    with pytest.raises(RateLimitError):
        limiter.admit("k", 50, None)  # over on tokens: the request is not charged either
    assert limiter.admit("k", 10, None).headers["x-ratelimit-remaining-requests"] == "0"


def test_many_keys_fit_and_idle_slots_are_reused(tmp_path: Path) -> None:
    clock = Clock()
    limiter = RateLimiter(SharedTable(tmp_path / "t"), rpm=1, tpm=0, quota=0, clock=clock)
    for i in range(5000):  # more keys than slots: idle or stalest ones make room
        limiter.admit(f"key-{i}", 0, None)
        clock.now += 0.02
    with pytest.raises(RateLimitError):
        limiter.admit("key-4999", 0, None)  # a live key keeps its slot


def _admit_many(path: str, attempts: int, results) -> None:  # noqa: ANN001 - a multiprocessing queue
    limiter = RateLimiter(SharedTable(Path(path)), rpm=150, tpm=0, quota=0, clock=lambda: 5000.0)
    admitted = 0
    for _ in range(attempts):
        try:
            limiter.admit("shared", 0, None)
            admitted += 1
        except RateLimitError:
            pass
    results.put(admitted)


def test_limits_are_exact_across_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_admit_many, args=(str(tmp_path / "t"), 100, results)) for _ in range(4)]
    for process in processes:
        process.start()
    counts = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert sum(counts) == 150  # 400 attempts, one shared budget


def test_request_cost_is_prompt_plus_budget() -> None:
    chat = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there"}], "max_tokens": 50, "n": 2}'
    tokens, model = request_cost("/v1/chat/completions", chat)
    assert model == "gpt-4o-mini" and tokens == 3 + 3 + 2 + 100  # priming + message overhead + words + budget x n
    default, _ = request_cost("/v1/chat/completions", b'{"model": "m", "messages": []}')
    assert default == 3 + DEFAULT_COMPLETION_BUDGET
    assert request_cost("/v1/completions", b'{"model": "m", "prompt": [1, 2, 3]}')[0] == 3 + COMPLETIONS_DEFAULT
    assert request_cost("/v1/embeddings", b'{"model": "m", "input": ["a b", "c"]}')[0] == 3
    assert request_cost("/v1/responses", b'{"model": "m", "input": "hi", "max_output_tokens": 5}')[0] == 6
    assert request_cost("/v1/chat/completions", b"not json") == (0, None)
    assert request_cost("/v1/chat/completions", b'{"messages": 5, "max_tokens": "x", "n": -1}')[0] == DEFAULT_COMPLETION_BUDGET
