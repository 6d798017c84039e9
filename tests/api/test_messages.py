"""Anthropic's Messages API in synthetic mode, through the HTTP layer: shapes from anthropic.types,
planning rules (tools, thinking, stop sequences, caching) and Anthropic-shaped errors."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.conftest import API_KEY

HEADERS = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
    },
}
USER = [{"role": "user", "content": "What is the weather in Paris today?"}]


def post(api, body: dict, path: str = "/v1/messages", headers: dict | None = None):
    return api.post(path, json=body, headers=headers if headers is not None else HEADERS)


def events(text: str) -> list[tuple[str, dict]]:
    out = []
    for frame in text.strip().split("\n\n"):
        name_line, data_line = frame.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: "), frame
        data = json.loads(data_line[6:])
        assert data["type"] == name_line[7:]
        out.append((name_line[7:], data))
    return out


def test_message_shape_and_usage(api):
    r = post(api, {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": USER})
    assert r.status_code == 200
    assert r.headers["request-id"].startswith("req_")
    m = r.json()
    assert m["id"].startswith("msg_") and m["type"] == "message" and m["role"] == "assistant"
    assert [b["type"] for b in m["content"]] == ["text"] and m["content"][0]["text"]
    assert m["stop_reason"] in ("end_turn", "max_tokens")
    count = post(api, {"model": "claude-sonnet-4-5", "messages": USER}, "/v1/messages/count_tokens").json()
    assert m["usage"]["input_tokens"] == count["input_tokens"] > 0
    assert m["usage"]["cache_read_input_tokens"] == m["usage"]["cache_creation_input_tokens"] == 0
    assert 1 <= m["usage"]["output_tokens"] <= 64


def test_max_tokens_cuts_the_answer(api):
    m = post(api, {"model": "claude-sonnet-4-5", "max_tokens": 3, "messages": USER}).json()
    assert m["stop_reason"] == "max_tokens" and m["usage"]["output_tokens"] == 3


def test_stop_sequences(api):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 400, "messages": USER, "stop_sequences": ["e"]}
    m = post(api, body).json()
    assert m["stop_reason"] == "stop_sequence" and m["stop_sequence"] == "e"
    assert "e" not in m["content"][0]["text"]


def test_answers_are_reproducible_unless_a_temperature_is_asked_and_stream_agrees(api):
    body = {"model": "claude-haiku-4-5", "max_tokens": 60, "messages": USER}
    a, b = post(api, body).json(), post(api, body).json()
    assert a["content"] == b["content"]
    varied = {post(api, {**body, "temperature": 1}).json()["content"][0]["text"] for _ in range(4)}
    assert len(varied) > 1
    streamed = events(post(api, {**body, "stream": True}).text)
    text = "".join(d["delta"]["text"] for name, d in streamed if name == "content_block_delta")
    assert text == a["content"][0]["text"]
    assert streamed[-2][1]["usage"]["output_tokens"] == a["usage"]["output_tokens"]


@pytest.mark.parametrize("choice", [None, {"type": "auto"}, {"type": "any"}, {"type": "tool", "name": "get_weather"}])
def test_tool_use_input_is_valid(api, choice):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 400, "messages": USER, "tools": [WEATHER]}
    if choice:
        body["tool_choice"] = choice
    m = post(api, body).json()
    assert m["stop_reason"] == "tool_use"
    uses = [b for b in m["content"] if b["type"] == "tool_use"]
    assert uses and all(u["id"].startswith("toolu_") and u["name"] == "get_weather" for u in uses)
    for use in uses:
        jsonschema.validate(use["input"], WEATHER["input_schema"])
    if choice and choice["type"] != "auto":
        assert m["content"][0]["type"] == "tool_use"  # a forced call comes without a preamble


def test_tool_result_gives_text_and_none_never_calls(api):
    first = post(api, {"model": "claude-sonnet-4-5", "max_tokens": 400, "messages": USER, "tools": [WEATHER]}).json()
    use = next(b for b in first["content"] if b["type"] == "tool_use")
    turn = [
        *USER,
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "18C and sunny"}]},
    ]
    second = post(api, {"model": "claude-sonnet-4-5", "max_tokens": 400, "messages": turn, "tools": [WEATHER]}).json()
    assert second["stop_reason"] in ("end_turn", "max_tokens")
    assert [b["type"] for b in second["content"]] == ["text"]
    none = post(api, {"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": USER, "tools": [WEATHER],
                      "tool_choice": {"type": "none"}}).json()
    assert [b["type"] for b in none["content"]] == ["text"]


def test_thinking_within_budget_and_text_never_empty(api):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 1025, "messages": USER,
            "thinking": {"type": "enabled", "budget_tokens": 1024}}
    m = post(api, body).json()
    thinking, text = m["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] and thinking["signature"]
    assert text["type"] == "text" and text["text"]
    assert m["usage"]["output_tokens"] <= 1025
    streamed = events(post(api, {**body, "stream": True}).text)
    kinds = [d["delta"]["type"] for n, d in streamed if n == "content_block_delta"]
    assert kinds.index("signature_delta") > kinds.index("thinking_delta")
    assert kinds.index("text_delta") > kinds.index("signature_delta")


def test_stream_event_sequence(api):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 300, "messages": USER, "tools": [WEATHER], "stream": True}
    r = post(api, body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    names = [n for n, _ in events(r.text)]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") >= 2
    parsed = events(r.text)
    partial = "".join(d["delta"]["partial_json"] for n, d in parsed
                      if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta")
    jsonschema.validate(json.loads(partial.split("}{")[0] + ("}" if "}{" in partial else "")), WEATHER["input_schema"])
    assert parsed[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_prompt_cache_breakpoint(api):
    system = [{"type": "text", "text": "You answer questions about rivers and lakes. " * 150,
               "cache_control": {"type": "ephemeral"}}]
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "system": system, "messages": USER}
    first = post(api, body).json()["usage"]
    second = post(api, body).json()["usage"]
    total = post(api, {"model": "claude-sonnet-4-5", "system": system, "messages": USER},
                 "/v1/messages/count_tokens").json()["input_tokens"]
    assert first["cache_creation_input_tokens"] > 1024 and first["cache_read_input_tokens"] == 0
    assert second["cache_read_input_tokens"] >= 1024 and second["cache_creation_input_tokens"] < 128
    for usage in (first, second):
        assert usage["input_tokens"] + usage["cache_creation_input_tokens"] + usage["cache_read_input_tokens"] == total
    plain = post(api, {**body, "system": system[0]["text"]}).json()["usage"]
    assert plain["cache_read_input_tokens"] == plain["cache_creation_input_tokens"] == 0  # no breakpoint, no caching


def test_models_in_anthropic_shape_only_with_anthropic_version(api):
    page = api.get("/v1/models?limit=2", headers=HEADERS).json()
    assert [m["type"] for m in page["data"]] == ["model", "model"] and page["has_more"] is True
    assert all(m["id"].startswith("claude") and m["display_name"] and m["created_at"] for m in page["data"])
    after = api.get(f"/v1/models?limit=2&after_id={page['last_id']}", headers=HEADERS).json()
    assert after["first_id"] not in {m["id"] for m in page["data"]}
    one = api.get("/v1/models/claude-sonnet-4-5", headers=HEADERS).json()
    assert one["id"] == "claude-sonnet-4-5" and one["type"] == "model"
    openai_shape = api.get("/v1/models").json()
    assert openai_shape["object"] == "list" and "claude-sonnet-4-5" in {m["id"] for m in openai_shape["data"]}


@pytest.mark.parametrize(
    "body",
    [
        {"model": "claude-sonnet-4-5", "messages": USER},  # max_tokens missing
        {"model": "claude-sonnet-4-5", "max_tokens": 0, "messages": USER},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": []},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER, "temperature": 1.5},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "bogus"}]}]},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER, "tool_choice": {"type": "tool", "name": "x"}},
        {"model": "claude-sonnet-4-5", "max_tokens": 2000, "messages": USER, "thinking": {"type": "enabled", "budget_tokens": 10}},
        {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": USER, "thinking": {"type": "enabled", "budget_tokens": 1024}},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER, "tools": [{"name": "t", "input_schema": {"type": "string"}}]},
        {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": USER, "tools": [{"name": "t", "input_schema": {"type": "object", "properties": {"a": {"type": "nonsense"}}, "required": ["a"]}}]},
        [1, 2],
        "not json",
    ],
)
def test_bad_input_is_an_anthropic_400(api, body):
    if isinstance(body, str):
        r = api.post("/v1/messages", content=body, headers={**HEADERS, "content-type": "application/json"})
    else:
        r = post(api, body)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error" and error["error"]["message"]
    assert error["request_id"] == r.headers["request-id"]


def test_error_statuses(make_client):
    api = make_client(strict_models=True, max_body_bytes=2048)
    keyless = make_client()
    keyless.headers.pop("Authorization")
    cases = [
        (keyless.post("/v1/messages", json={"model": "x"}, headers={"anthropic-version": "2023-06-01"}), 401, "authentication_error"),
        (keyless.post("/v1/messages", json={"model": "x"}, headers={"x-api-key": "wrong"}), 401, "authentication_error"),
        (post(api, {"model": "claude-nope", "max_tokens": 5, "messages": USER}), 404, "not_found_error"),
        (post(api, {"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 5000}]}),
         413, "request_too_large"),
        (api.get("/v1/messages", headers=HEADERS), 405, "invalid_request_error"),
        (api.post("/v1/messages/nothing", json={}, headers=HEADERS), 404, "not_found_error"),
    ]
    for response, status, kind in cases:
        assert response.status_code == status, response.text
        assert response.json()["type"] == "error" and response.json()["error"]["type"] == kind
        assert response.headers["request-id"].startswith("req_")


def test_bearer_key_works_and_openai_routes_keep_their_shape(api):
    r = api.post("/v1/messages", json={"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": USER})  # Bearer
    assert r.status_code == 200
    bad = api.post("/v1/chat/completions", json={"model": "gpt-4o"})
    assert bad.status_code == 400 and "param" in bad.json()["error"] and "request-id" not in bad.headers
