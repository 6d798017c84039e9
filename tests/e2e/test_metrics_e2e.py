"""/metrics speaks for the whole server: with --workers 2, N requests read N on every scrape, in the
JSON and in the Prometheus text, and vLLM's series parse with prometheus_client's own parser."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakeai.metrics import FAMILIES

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
MSGS = [{"role": "user", "content": "Say something."}]
N = 24
VLLM_TYPES = {
    "vllm:num_requests_running": "gauge",
    "vllm:num_requests_waiting": "gauge",
    "vllm:kv_cache_usage_perc": "gauge",
    "vllm:prompt_tokens": "counter",
    "vllm:generation_tokens": "counter",
    "vllm:request_success": "counter",
    "vllm:num_preemptions": "counter",
    "vllm:prefix_cache_queries": "counter",
    "vllm:prefix_cache_hits": "counter",
    "vllm:time_to_first_token_seconds": "histogram",
    "vllm:inter_token_latency_seconds": "histogram",
    "vllm:e2e_request_latency_seconds": "histogram",
    "vllm:request_queue_time_seconds": "histogram",
    "vllm:request_prefill_time_seconds": "histogram",
    "vllm:request_decode_time_seconds": "histogram",
    "vllm:request_prompt_tokens": "histogram",
    "vllm:request_generation_tokens": "histogram",
    "vllm:request_params_n": "histogram",
}


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _total(family, sample: str, **labels) -> float:  # noqa: ANN001
    return sum(s.value for s in family.samples
               if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):  # noqa: ANN201
    from fakeai.cassettes.server_process import ServerProcess

    db = tmp_path_factory.mktemp("metrics") / "fakeai.db"
    with ServerProcess("--workers", "2", "--itl-ms", "1", db=str(db)) as server:
        client = server.client()
        for i in range(N):
            if i % 2:
                client.chat.completions.create(model=MODEL, messages=MSGS, max_tokens=8)
            else:
                for _ in client.chat.completions.create(model=MODEL, messages=MSGS, max_tokens=8, stream=True):
                    pass
        yield server


def test_every_scrape_counts_every_worker(two_workers):  # noqa: ANN001
    url = two_workers.root_url
    with httpx.Client() as http:  # new connections: each scrape may land on either worker
        for _ in range(8):
            js = httpx.get(url + "/metrics", headers={"connection": "close"}).json()
            assert js["requests"]["/v1/chat/completions"] == N
            assert js["engine"][MODEL]["request_success"]["length"] == N
            assert js["engine"][MODEL]["requests_running"] == 0
            prom = _families(http.get(url + "/prometheus/metrics", headers={"connection": "close"}).text)
            assert _total(prom["fakeai_requests"], "fakeai_requests_total", endpoint="/v1/chat/completions") == N
            assert _total(prom["vllm:request_success"], "vllm:request_success_total", model_name=MODEL) == N
            assert _total(prom["vllm:generation_tokens"], "vllm:generation_tokens_total") == N * 8


def test_vllm_series_have_vllms_types_labels_and_buckets(two_workers):  # noqa: ANN001
    text = httpx.get(two_workers.root_url + "/metrics", headers={"accept": "text/plain"}).text
    families = _families(text)
    for name, kind in VLLM_TYPES.items():
        assert families[name].type == kind, name
    ttft = families["vllm:time_to_first_token_seconds"]
    bounds = [s.labels["le"] for s in ttft.samples if s.name.endswith("_bucket") and s.labels["model_name"] == MODEL]
    assert bounds == ["0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75", "1.0",
                      "2.5", "5.0", "7.5", "10.0", "20.0", "40.0", "80.0", "160.0", "640.0", "2560.0", "+Inf"]
    count = _total(ttft, "vllm:time_to_first_token_seconds_count", model_name=MODEL, engine="0")
    assert count == N
    itl = families["vllm:inter_token_latency_seconds"]
    assert _total(itl, "vllm:inter_token_latency_seconds_count", model_name=MODEL) == N * 7  # 7 gaps per answer
    assert [s.labels["le"] for s in families["vllm:request_params_n"].samples if s.name.endswith("_bucket")] == [
        "1.0", "2.0", "5.0", "10.0", "20.0", "+Inf"]
    e2e = families["vllm:e2e_request_latency_seconds"]
    assert [s.labels["le"] for s in e2e.samples if s.name.endswith("_bucket")][:4] == ["0.3", "0.5", "0.8", "1.0"]
    assert set(FAMILIES) >= set(VLLM_TYPES)


def test_a_full_queue_answers_429_in_openai_shape(start_server):  # noqa: ANN001
    import concurrent.futures

    import openai

    server = start_server("--max-concurrency", "1", "--max-queue", "1", "--ttft-ms", "300", "--itl-ms", "10")
    client = server.client(max_retries=0)

    def call():  # noqa: ANN202
        try:
            client.chat.completions.create(model=MODEL, messages=MSGS, max_tokens=4)
            return 200
        except openai.RateLimitError as exc:
            body = exc.response.json()["error"]
            assert body["code"] == "rate_limit_exceeded" and body["type"] == "rate_limit_error"
            assert int(exc.response.headers["retry-after"]) >= 1
            return 429

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(lambda _: call(), range(6)))
    assert statuses.count(200) >= 2 and statuses.count(429) >= 1
    js = httpx.get(server.root_url + "/metrics").json()
    assert js["engine"][MODEL]["rejected"] == statuses.count(429)
    assert js["errors"]["/v1/chat/completions"] == statuses.count(429)


def test_a_client_leaving_mid_stream_is_an_abort_and_frees_its_slot(start_server):  # noqa: ANN001
    """The stream response's disconnect listener cancels the answer: vLLM's abort, nothing left running,
    and with --max-concurrency 1 the next request gets the slot at once."""
    server = start_server("--max-concurrency", "1", "--ttft-ms", "20", "--itl-ms", "50")
    body = {"model": MODEL, "messages": MSGS, "max_tokens": 200, "min_tokens": 200, "stream": True}
    with httpx.Client(base_url=server.base_url, headers={"Authorization": "Bearer sk-fakeai-1234567890abcdef"}) as c:
        with c.stream("POST", "/chat/completions", json=body) as r:
            lines = r.iter_lines()
            got = [next(lines) for _ in range(3)]  # a few events of a ten-second answer, then leave
        assert got[0].startswith("data: ")
        deadline = time.monotonic() + 10
        while True:
            families = _families(httpx.get(server.root_url + "/metrics", headers={"accept": "text/plain"}).text)
            aborted = _total(families["vllm:request_success"], "vllm:request_success_total", finished_reason="abort")
            running = _total(families["vllm:num_requests_running"], "vllm:num_requests_running")
            if aborted == 1 and running == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert (aborted, running) == (1, 0)
        started = time.monotonic()
        answer = c.post("/chat/completions", json={**body, "stream": False, "max_tokens": 2, "min_tokens": 2})
        assert answer.status_code == 200
        assert time.monotonic() - started < 5  # the slot was free: no wait behind the old stream
