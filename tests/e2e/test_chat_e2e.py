"""Chat completions end to end: a real uvicorn, driven by the official openai SDK (max_retries=0)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import jsonschema
import openai
import pytest

from fakeai.modes.synthetic.tokenizer import count_tokens

MODEL = "gpt-4o-mini"
MSGS = [{"role": "user", "content": "Explain how a lighthouse works."}]
WEATHER_PARAMS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                      "parameters": WEATHER_PARAMS}},
    {"type": "function", "function": {"name": "send_email", "description": "Send an email",
                                      "parameters": {"type": "object", "properties": {"to": {"type": "string",
                                                     "format": "email"}}, "required": ["to"]}}},
]


def test_create(client):
    r = client.chat.completions.create(model=MODEL, messages=MSGS, max_tokens=50)
    assert r.object == "chat.completion" and r.model == MODEL
    content = r.choices[0].message.content
    assert content and r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.completion_tokens == count_tokens(content)
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    assert r.usage.completion_tokens_details.reasoning_tokens == 0


def test_stream_with_usage(client):
    stream = client.chat.completions.create(
        model=MODEL, messages=MSGS, stream=True, stream_options={"include_usage": True}, max_tokens=30
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 30 == count_tokens(text)


def test_n_and_max_tokens(client):
    r = client.chat.completions.create(model=MODEL, messages=MSGS, n=3, max_completion_tokens=5)
    assert len(r.choices) == 3 and all(c.finish_reason == "length" for c in r.choices)
    assert r.usage.completion_tokens == 15


def test_stop(client):
    full = client.chat.completions.create(model=MODEL, messages=MSGS, seed=8).choices[0].message.content
    word = full.split()[4]
    r = client.chat.completions.create(model=MODEL, messages=MSGS, seed=8, stop=[word, "@@@"])
    assert r.choices[0].finish_reason == "stop" and r.choices[0].message.content == full[: full.index(word)]


def test_seed_determinism(client):
    a = client.chat.completions.create(model=MODEL, messages=MSGS, seed=1234).choices[0].message.content
    b = client.chat.completions.create(model=MODEL, messages=MSGS, seed=1234).choices[0].message.content
    c = client.chat.completions.create(model=MODEL, messages=MSGS, seed=1235).choices[0].message.content
    assert a == b != c


def test_unseeded_answers_vary(client):
    outs = {client.chat.completions.create(model=MODEL, messages=MSGS).choices[0].message.content for _ in range(3)}
    assert len(outs) == 3


def test_logprobs(client):
    r = client.chat.completions.create(model=MODEL, messages=MSGS, logprobs=True, top_logprobs=2, max_tokens=6)
    content = r.choices[0].logprobs.content
    assert len(content) == 6 and all(len(t.top_logprobs) == 2 and t.logprob <= 0 for t in content)


@pytest.mark.parametrize("tool_choice", ["auto", "required", {"type": "function", "function": {"name": "send_email"}}])
def test_tools(client, tool_choice):
    msgs = [{"role": "user", "content": "What is the weather in Oslo?"}]
    r = client.chat.completions.create(model=MODEL, messages=msgs, tools=TOOLS, tool_choice=tool_choice)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    expected = "send_email" if isinstance(tool_choice, dict) else "get_weather"
    assert call.function.name == expected
    params = next(t["function"]["parameters"] for t in TOOLS if t["function"]["name"] == expected)
    jsonschema.validate(json.loads(call.function.arguments), params, format_checker=jsonschema.FormatChecker())


def test_tool_choice_none(client):
    r = client.chat.completions.create(model=MODEL, messages=MSGS, tools=TOOLS, tool_choice="none")
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content


def test_tools_streamed(client):
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "weather in Lima"}], tools=TOOLS, tool_choice="required",
        stream=True,
    )
    args, names, finish = "", [], None
    for chunk in stream:
        delta = chunk.choices[0].delta
        for tc in delta.tool_calls or []:
            if tc.function and tc.function.name:
                names.append(tc.function.name)
            args += (tc.function.arguments or "") if tc.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert names == ["get_weather"] and finish == "tool_calls"
    jsonschema.validate(json.loads(args), WEATHER_PARAMS)


def test_json_schema(client):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
              "required": ["name", "age"], "additionalProperties": False}
    r = client.chat.completions.create(
        model=MODEL, messages=MSGS,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}},
    )
    jsonschema.validate(json.loads(r.choices[0].message.content), schema)


def test_reasoning_model(client):
    r = client.chat.completions.create(model="openai/gpt-oss-120b", messages=MSGS)
    reasoning = r.choices[0].message.model_extra["reasoning_content"]
    assert reasoning and r.choices[0].message.content
    assert r.usage.completion_tokens_details.reasoning_tokens == count_tokens(reasoning)
    stream = client.chat.completions.create(model="o3-mini", messages=MSGS, stream=True)
    streamed = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in stream)
    assert streamed


def test_cached_tokens(client):
    system = "Context: " + " ".join(f"fact{i} is stored" for i in range(700))
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": "Which fact is first?"}]
    first = client.chat.completions.create(model=MODEL, messages=msgs).usage
    second = client.chat.completions.create(model=MODEL, messages=msgs).usage
    assert first.prompt_tokens >= 1024 and first.prompt_tokens_details.cached_tokens == 0
    cached = second.prompt_tokens_details.cached_tokens
    # The whole prompt was seen: cached is its length rounded down to 128 (the reply priming is never cached).
    assert cached >= 1024 and cached % 128 == 0 and second.prompt_tokens - 3 - cached < 128


def test_bad_inputs(client, live_server):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[])
    assert e.value.body["param"] == "messages"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=MSGS, n="three")  # type: ignore[arg-type]
    assert e.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError) as e:  # the SDK refuses to send no model, so post raw
        client.post("/chat/completions", body={"messages": MSGS}, cast_to=object)
    assert e.value.body["param"] == "model"
    # Malformed JSON: the SDK cannot send it, so send it with httpx and let the SDK map the answer.
    raw = httpx.post(live_server.base_url + "/chat/completions", content=b'{"model": "x", "messages": [',
                     headers={"Authorization": f"Bearer {live_server.api_key}", "Content-Type": "application/json"})
    error = client._make_status_error_from_response(raw)
    assert isinstance(error, openai.BadRequestError) and "parse" in error.message
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="sk-wrong", base_url=live_server.base_url, max_retries=0).chat.completions.create(
            model=MODEL, messages=MSGS)


# --- the latency model -----------------------------------------------------------------------------------------
def _timed_stream(client, **kw):
    start = time.perf_counter()
    ttft = None
    tokens = 0
    for chunk in client.chat.completions.create(model=MODEL, messages=MSGS, stream=True, **kw):
        if chunk.choices and chunk.choices[0].delta.content:
            tokens += 1
            if ttft is None:
                ttft = time.perf_counter() - start
    return ttft, time.perf_counter() - start, tokens


def test_latency_options_take_effect(start_server):
    server = start_server("--ttft-ms", "300", "--itl-ms", "20")
    client = server.client()
    ttft, total, tokens = _timed_stream(client, max_tokens=40, extra_body={"ignore_eos": True})  # vLLM field
    assert tokens == 40
    # Floors only (a loaded machine can only make answers later); the accuracy is in bench/timing.py.
    assert 0.29 <= ttft <= total
    assert total >= 0.3 + 39 * 0.02 - 0.01
    start = time.perf_counter()
    client.chat.completions.create(model=MODEL, messages=MSGS, max_tokens=20, extra_body={"ignore_eos": True})
    assert 0.3 + 19 * 0.02 - 0.01 <= time.perf_counter() - start
    # A cached prompt prefix shortens time to first token.
    long_msgs = [{"role": "system", "content": " ".join(f"rule{i} applies" for i in range(900))},
                 {"role": "user", "content": "Go."}]
    first = time.perf_counter()
    for _ in client.chat.completions.create(model=MODEL, messages=long_msgs, stream=True, max_tokens=1):
        break
    cold = time.perf_counter() - first
    warm_start = time.perf_counter()
    for _ in client.chat.completions.create(model=MODEL, messages=long_msgs, stream=True, max_tokens=1):
        break
    warm = time.perf_counter() - warm_start
    assert cold >= 0.29 and warm < cold  # by how much: bench/timing.py


def test_concurrent_slow_streams_do_not_block_each_other(start_server):
    """200 streams at 20 ms/token on one worker overlap instead of queueing.

    Driven with httpx rather than the SDK: the client's own parsing must not be what is measured.
    """
    server = start_server("--itl-ms", "20", "--ttft-ms", "50")
    tokens = 50
    single = 0.05 + (tokens - 1) * 0.02  # ~1.03 s
    body = {"model": MODEL, "messages": MSGS, "stream": True, "max_tokens": tokens, "ignore_eos": True}
    headers = {"Authorization": f"Bearer {server.api_key}"}

    async def run(t0: float) -> list[tuple[int, float, float]]:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:

            async def one() -> tuple[int, float, float]:
                count, first = 0, 0.0
                async with http.stream("POST", server.base_url + "/chat/completions", json=body, headers=headers) as r:
                    async for line in r.aiter_lines():
                        if line.startswith('data: {"id"') and '"content"' in line:
                            count += 1
                            first = first or time.perf_counter() - t0
                return count, first, time.perf_counter() - t0

            return await asyncio.gather(*(one() for _ in range(200)))

    start = time.perf_counter()
    results = asyncio.run(run(start))
    elapsed = time.perf_counter() - start
    assert [c for c, _, _ in results] == [tokens] * 200
    assert single <= elapsed  # a floor; how close to it: bench/timing.py
    # Nearly every stream got its first token before the first stream finished: they ran together.
    first_end = min(end for _, _, end in results)
    assert sum(first < first_end for _, first, _ in results) >= 180
