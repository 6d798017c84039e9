"""Legacy completions and Azure text generation end to end, with the official openai SDK."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from fakeai.modes.synthetic.tokenizer import count_tokens

MODEL = "gpt-3.5-turbo-instruct"


def test_create(client):
    r = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12)
    assert r.object == "text_completion" and r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 12 == count_tokens(r.choices[0].text)
    assert r.usage.prompt_tokens == 4


def test_prompt_forms_and_n(client):
    r = client.completions.create(model=MODEL, prompt=["Say hi", "Say bye"], n=2, max_tokens=3)
    assert len(r.choices) == 4 and r.usage.completion_tokens == 12
    r = client.completions.create(model=MODEL, prompt=[101, 202, 303], max_tokens=3)
    assert r.usage.prompt_tokens == 3 and len(r.choices) == 1
    r = client.completions.create(model=MODEL, prompt=[[1, 2], [3]], max_tokens=3)
    assert r.usage.prompt_tokens == 3 and len(r.choices) == 2


def test_echo_logprobs_best_of(client):
    r = client.completions.create(model=MODEL, prompt="The sky is", echo=True, logprobs=2, max_tokens=4)
    choice = r.choices[0]
    assert choice.text.startswith("The sky is")
    assert choice.logprobs.tokens[:3] == ["The", " sky", " is"] and choice.logprobs.token_logprobs[0] is None
    assert "".join(choice.logprobs.tokens) == choice.text
    r = client.completions.create(model=MODEL, prompt="x", best_of=3, n=1, max_tokens=2)
    assert len(r.choices) == 1 and r.usage.completion_tokens == 6


def test_stop_suffix_seed(client):
    a = client.completions.create(model=MODEL, prompt="Write:", max_tokens=30, seed=5).choices[0].text
    b = client.completions.create(model=MODEL, prompt="Write:", max_tokens=30, seed=5).choices[0].text
    assert a == b
    word = a.split()[1]
    cut = client.completions.create(model=MODEL, prompt="Write:", max_tokens=30, seed=5, stop=[word]).choices[0]
    assert cut.finish_reason == "stop" and cut.text == a[: a.index(word)]
    r = client.completions.create(model=MODEL, prompt="def f(", suffix="return x", max_tokens=2)
    assert r.usage.prompt_tokens == count_tokens("def f(") + count_tokens("return x")


def test_stream(client):
    stream = client.completions.create(
        model=MODEL, prompt="Once upon a time", stream=True, max_tokens=10, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert count_tokens(text) == 10
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 10


def test_bad_inputs(client, live_server):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=MODEL, prompt=[1, "a"], max_tokens=2)  # type: ignore[list-item]
    assert e.value.body["param"] == "prompt"
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=MODEL, prompt="x", n=2, best_of=1)
    assert e.value.body["param"] == "best_of"
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=MODEL, prompt="x", max_tokens="many")  # type: ignore[arg-type]
    assert e.value.body["param"] == "max_tokens"


def test_text_generation(client, live_server):
    body = client.post(
        "/text/generation",
        body={"input": "Explain quantum computing", "model": "openai/gpt-oss-120b", "max_output_tokens": 40},
        cast_to=httpx.Response,
    ).json()
    assert body["id"].startswith("txtgen-") and body["output"]
    assert body["usage"]["completion_tokens"] == count_tokens(body["output"]) <= 40
    with pytest.raises(openai.BadRequestError) as e:
        client.post("/text/generation", body={"model": "m"}, cast_to=httpx.Response)
    assert e.value.body["param"] == "input"


def test_latency_applies_to_completions(start_server):
    server = start_server("--ttft-ms", "200", "--itl-ms", "10", "--latency-jitter", "0.1")
    client = server.client()
    start = time.perf_counter()
    client.completions.create(model=MODEL, prompt="Hi", max_tokens=21)
    elapsed = time.perf_counter() - start
    assert 0.9 * (0.2 + 20 * 0.01) <= elapsed  # a floor: a loaded machine can only make it later
    start = time.perf_counter()
    first = None
    for chunk in client.completions.create(model=MODEL, prompt="Hi", max_tokens=11, stream=True):
        if first is None and chunk.choices and chunk.choices[0].text:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    assert 0.18 <= first < 1.0 and total >= 0.9 * (0.2 + 10 * 0.01)
