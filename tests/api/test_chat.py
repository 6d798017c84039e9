"""POST /v1/chat/completions through Litestar's test client (synthetic mode)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from fakeai.modes.synthetic.tokenizer import count_message_tokens, count_tokens

URL = "/v1/chat/completions"
MODEL = "gpt-4o-mini"
MSGS = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Tell me about volcanoes."}]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search_web",
        "description": "Search the web",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}


def post(api, **body):
    body.setdefault("model", MODEL)
    body.setdefault("messages", MSGS)
    return api.post(URL, json=body)


def events(response) -> list:
    """The SSE data payloads, parsed, and a check of the framing."""
    text = response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in text.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks)
    assert blocks[-1] == "data: [DONE]"
    return [json.loads(b[6:]) for b in blocks[:-1]]


def test_basic_shape_and_usage(api):
    r = post(api, seed=1)
    assert r.status_code == 200
    assert r.headers["x-request-id"]
    body = r.json()
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion" and body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant"
    assert "reasoning_content" not in choice["message"] and "tool_calls" not in choice["message"]
    content = choice["message"]["content"]
    assert len(content.split()) > 5 and choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] == count_message_tokens(MSGS)
    assert usage["completion_tokens"] == count_tokens(content)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
    assert body["system_fingerprint"]


def test_unknown_fields_and_content_parts(api):
    parts = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
    ]
    r = post(api, messages=[{"role": "user", "content": parts}], some_future_field={"x": 1})
    assert r.status_code == 200
    assert r.json()["usage"]["prompt_tokens"] > count_tokens("What is in this picture?") + 50


def test_n_choices_differ(api):
    body = post(api, n=3, seed=5).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert len({c["message"]["content"] for c in body["choices"]}) == 3
    total = sum(count_tokens(c["message"]["content"]) for c in body["choices"])
    assert body["usage"]["completion_tokens"] == total


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_is_length(api, field):
    body = post(api, **{field: 7}).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 7 == count_tokens(body["choices"][0]["message"]["content"])


def test_ignore_eos_runs_to_max_tokens(api):
    body = post(api, max_tokens=300, ignore_eos=True).json()
    assert body["usage"]["completion_tokens"] == 300


def test_stop_string(api):
    full = post(api, seed=11).json()["choices"][0]["message"]["content"]
    word = full.split()[3]
    cut = post(api, seed=11, stop=[word]).json()["choices"][0]
    assert cut["finish_reason"] == "stop" and cut["message"]["content"] == full[: full.index(word)]


def test_seed_determinism(api):
    a = post(api, seed=42).json()["choices"][0]["message"]["content"]
    b = post(api, seed=42).json()["choices"][0]["message"]["content"]
    c = post(api, seed=43).json()["choices"][0]["message"]["content"]
    other = post(api, seed=42, messages=[{"role": "user", "content": "How do bees fly?"}]).json()
    assert a == b and a != c and other["choices"][0]["message"]["content"] != a


def test_reasoning_model(api):
    body = post(api, model="openai/gpt-oss-120b", seed=3).json()
    msg = body["choices"][0]["message"]
    assert msg["reasoning_content"] and msg["content"]
    usage = body["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == count_tokens(msg["reasoning_content"])
    assert usage["completion_tokens"] == count_tokens(msg["reasoning_content"]) + count_tokens(msg["content"])


def test_logprobs(api):
    body = post(api, logprobs=True, top_logprobs=3, max_tokens=10).json()
    content = body["choices"][0]["logprobs"]["content"]
    assert len(content) == 10
    assert "".join(e["token"] for e in content) == body["choices"][0]["message"]["content"]
    for e in content:
        assert e["logprob"] <= 0 and bytes(e["bytes"]).decode() == e["token"]
        assert len(e["top_logprobs"]) == 3 and e["top_logprobs"][0]["token"] == e["token"]
    assert post(api).json()["choices"][0]["logprobs"] is None


def test_top_logprobs_needs_logprobs(api):
    r = post(api, top_logprobs=2)
    assert r.status_code == 400 and r.json()["error"]["param"] == "top_logprobs"


@pytest.mark.parametrize("choice", ["auto", "required", {"type": "function", "function": {"name": "get_weather"}}])
def test_tool_calls(api, choice):
    msgs = [{"role": "user", "content": "What's the weather in Paris?"}]
    body = post(api, messages=msgs, tools=[SEARCH, WEATHER], tool_choice=choice).json()
    ch = body["choices"][0]
    assert ch["finish_reason"] == "tool_calls" and ch["message"]["content"] is None
    call = ch["message"]["tool_calls"][0]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"  # the prompt says weather
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER["function"]["parameters"])
    assert body["usage"]["completion_tokens"] > 0


def test_tool_choice_none_and_after_tool_result(api):
    body = post(api, tools=[WEATHER], tool_choice="none").json()
    assert body["choices"][0]["finish_reason"] == "stop" and body["choices"][0]["message"]["content"]
    msgs = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
    ]
    after = post(api, messages=msgs, tools=[WEATHER]).json()
    assert after["choices"][0]["finish_reason"] == "stop" and after["choices"][0]["message"]["content"]


def test_named_tool_must_exist(api):
    r = post(api, tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "nope"}})
    assert r.status_code == 400 and r.json()["error"]["param"] == "tool_choice"


def test_tool_call_stream_deltas(api):
    r = post(api, tools=[WEATHER], tool_choice="required", stream=True, stream_options={"include_usage": True})
    chunks = events(r)
    args = ""
    name = None
    for c in chunks[:-1]:
        for tc in c["choices"][0]["delta"].get("tool_calls", []):
            assert tc["index"] == 0
            name = tc.get("function", {}).get("name") or name
            args += tc["function"].get("arguments", "")
    assert name == "get_weather"
    jsonschema.validate(json.loads(args), WEATHER["function"]["parameters"])
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_json_schema_response_format(api):
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
                       "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
        "required": ["title", "year", "tags"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "movie", "schema": schema, "strict": True}}
    body = post(api, response_format=fmt).json()
    content = body["choices"][0]["message"]["content"]
    jsonschema.validate(json.loads(content), schema)
    assert body["usage"]["completion_tokens"] == count_tokens(content)


def test_json_object_response_format(api):
    body = post(api, response_format={"type": "json_object"}).json()
    assert isinstance(json.loads(body["choices"][0]["message"]["content"]), dict)


def test_stream_shape(api):
    r = post(api, stream=True, stream_options={"include_usage": True}, max_tokens=20, seed=9)
    chunks = events(r)
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "length"}
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == [] and usage["completion_tokens"] == len(pieces) == 20
    same = post(api, max_tokens=20, seed=9).json()["choices"][0]["message"]["content"]
    assert "".join(pieces) == same  # streaming and not give the same answer for the same seed


def test_stream_without_usage_and_n(api):
    chunks = events(post(api, stream=True, n=2, max_tokens=5))
    assert all(c["choices"] for c in chunks)  # no usage chunk unless asked
    texts = {0: "", 1: ""}
    for c in chunks:
        ch = c["choices"][0]
        texts[ch["index"]] += ch["delta"].get("content", "")
    assert all(count_tokens(t) == 5 for t in texts.values())


def test_stream_reasoning_and_logprobs(api):
    chunks = events(post(api, model="deepseek-ai/DeepSeek-R1", stream=True, logprobs=True,
                         stream_options={"include_usage": True}))
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks[:-1])
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
    assert reasoning and content
    with_lp = [c for c in chunks[:-1] if c["choices"][0].get("logprobs")]
    assert len(with_lp) == count_tokens(content)
    details = chunks[-1]["usage"]["completion_tokens_details"]
    assert details["reasoning_tokens"] == count_tokens(reasoning)


def test_cached_tokens_follow_openai_rule(api):
    long = " ".join(f"word{i % 97} token" for i in range(800))  # well over 1024 tokens
    msgs = [{"role": "system", "content": long}, {"role": "user", "content": "Summarise."}]
    first = post(api, messages=msgs).json()["usage"]
    second = post(api, messages=msgs).json()["usage"]
    assert first["prompt_tokens"] > 1024
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    cached = second["prompt_tokens_details"]["cached_tokens"]
    assert cached >= 1024 and cached % 128 == 0 and cached <= second["prompt_tokens"]
    short = post(api, messages=[{"role": "user", "content": "hi"}]).json()["usage"]
    assert short["prompt_tokens_details"]["cached_tokens"] == 0


@pytest.mark.parametrize(
    "body,param",
    [
        ({"model": MODEL}, "messages"),
        ({"messages": MSGS}, "model"),
        ({"model": MODEL, "messages": []}, "messages"),
        ({"model": MODEL, "messages": "hello"}, "messages"),
        ({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"model": MODEL, "messages": MSGS, "n": "two"}, "n"),
        ({"model": MODEL, "messages": MSGS, "temperature": 5}, "temperature"),
        ({"model": MODEL, "messages": MSGS, "max_tokens": 0}, "max_tokens"),
        ({"model": MODEL, "messages": MSGS, "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": MODEL, "messages": MSGS, "stream": "yes"}, "stream"),
    ],
)
def test_validation_errors_name_the_field(api, body, param):
    r = api.post(URL, json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param and err["message"]


def test_malformed_json(api):
    r = api.post(URL, content=b'{"model": "x", "messages": [', headers={"content-type": "application/json"})
    assert r.status_code == 400
    # OpenAI's shape, every key present: a malformed body has no param to name and no code.
    assert r.json() == {"error": {"message": r.json()["error"]["message"], "type": "invalid_request_error",
                                  "param": None, "code": None}}
    assert "could not parse the JSON body" in r.json()["error"]["message"]


def test_strict_models(make_client):
    strict = make_client(strict_models=True)
    r = strict.post(URL, json={"model": "no-such-model", "messages": MSGS})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert strict.post(URL, json={"model": MODEL, "messages": MSGS}).status_code == 200


def test_unknown_model_is_added_to_catalogue(api):
    assert post(api, model="acme/brand-new-model").status_code == 200
    ids = [m["id"] for m in api.get("/v1/models").json()["data"]]
    assert "acme/brand-new-model" in ids


def test_requires_key(api):
    r = api.post(URL, json={"model": MODEL, "messages": MSGS}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_parallel_tool_calls(api):
    email = {"type": "function", "function": {"name": "send_email", "description": "Send an email",
                                              "parameters": {"type": "object", "properties": {"to": {"type": "string"}},
                                                             "required": ["to"]}}}
    msgs = [{"role": "user", "content": "Check the weather in Rome and email the result to Ann."}]
    calls = post(api, messages=msgs, tools=[WEATHER, email]).json()["choices"][0]["message"]["tool_calls"]
    assert sorted(c["function"]["name"] for c in calls) == ["get_weather", "send_email"]
    assert len({c["id"] for c in calls}) == 2
    one = post(api, messages=msgs, tools=[WEATHER, email], parallel_tool_calls=False).json()
    assert len(one["choices"][0]["message"]["tool_calls"]) == 1
    chunks = events(post(api, messages=msgs, tools=[WEATHER, email], stream=True))
    indexes = {tc["index"] for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", [])}
    assert indexes == {0, 1}


def test_reasoning_effort_none_turns_reasoning_off(api):
    msg = post(api, model="openai/gpt-oss-20b", reasoning_effort="none").json()["choices"][0]["message"]
    assert msg["content"] and not msg.get("reasoning_content")


@pytest.mark.parametrize(
    "params",
    [
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": "abc"}}, "required": ["n"]},
        {"$ref": "#"},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "required": ["a"]},
        {"type": "banana"},
    ],
)
def test_unusable_tool_schema_is_400(api, params):
    tools = [{"type": "function", "function": {"name": "f", "parameters": params}}]
    r = post(api, tools=tools, tool_choice="required")
    assert r.status_code == 400 and r.json()["error"]["param"] == "tools"


def _finish_and_text(api, stream: bool, **body) -> tuple[str, str, int]:  # noqa: ANN001
    """(finish_reason, the content or the tool arguments, completion tokens), streamed or not."""
    if not stream:
        answer = post(api, **body).json()
        choice = answer["choices"][0]
        calls = choice["message"].get("tool_calls") or []
        text = "".join(c["function"]["arguments"] for c in calls) if calls else choice["message"]["content"]
        return choice["finish_reason"], text, answer["usage"]["completion_tokens"]
    chunks = events(post(api, stream=True, stream_options={"include_usage": True}, **body))
    reasons = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(reasons) == 1
    text = ""
    for c in chunks:
        delta = c["choices"][0]["delta"] if c["choices"] else {}
        text += delta.get("content") or ""
        text += "".join(t["function"].get("arguments") or "" for t in delta.get("tool_calls") or [])
    return reasons[0], text, chunks[-1]["usage"]["completion_tokens"]


@pytest.mark.parametrize("stream", [False, True])
def test_json_mode_cut_by_max_tokens_is_length(api, stream):
    fmt = {"response_format": {"type": "json_object"}, "seed": 3}
    reason, text, tokens = _finish_and_text(api, stream, max_tokens=4, **fmt)
    assert (reason, tokens) == ("length", 4)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # cut mid-object, as a real model's would be
    reason, text, tokens = _finish_and_text(api, stream, max_tokens=4000, **fmt)
    assert reason == "stop" and isinstance(json.loads(text), dict) and tokens < 4000


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_cut_by_max_tokens_is_length(api, stream):
    tools = {"tools": [WEATHER], "tool_choice": "required", "seed": 3}
    reason, text, tokens = _finish_and_text(api, stream, max_tokens=3, **tools)
    assert (reason, tokens) == ("length", 3)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    reason, text, tokens = _finish_and_text(api, stream, max_tokens=4000, **tools)
    assert reason == "tool_calls" and tokens < 4000
    jsonschema.validate(json.loads(text), WEATHER["function"]["parameters"])
