"""The Responses API through Litestar's test client on a fresh database."""

import json
import time

import jsonschema
import pytest

from fakeai.modes.synthetic.tokenizer import count_tokens

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}
SEARCH = {
    "type": "function",
    "name": "search_docs",
    "description": "Search the documentation",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "k": {"type": "integer", "minimum": 1}},
                   "required": ["query", "k"]},
}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 120},
                   "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
    "required": ["name", "age", "tags"],
    "additionalProperties": False,
}


def create(api, **body):
    body.setdefault("model", "gpt-4o")
    r = api.post("/v1/responses", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def message_text(resp) -> str:
    return "".join(p["text"] for o in resp["output"] if o["type"] == "message" for p in o["content"])


def sse(text: str) -> list[dict]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        data = json.loads(lines["data"])
        assert lines["event"] == data["type"]
        events.append(data)
    return events


def test_string_input_shape_and_usage(api):
    resp = create(api, input="Tell me about rivers and deltas", instructions="Be concise", metadata={"k": "v"},
                  temperature=0.5, top_p=0.9)
    assert resp["id"].startswith("resp_") and resp["object"] == "response" and resp["status"] == "completed"
    assert resp["instructions"] == "Be concise" and resp["metadata"] == {"k": "v"}
    assert resp["temperature"] == 0.5 and resp["top_p"] == 0.9 and resp["error"] is None
    [msg] = resp["output"]
    assert msg["type"] == "message" and msg["role"] == "assistant" and msg["id"].startswith("msg_")
    assert msg["content"][0]["type"] == "output_text" and msg["content"][0]["annotations"] == []
    usage = resp["usage"]
    assert usage["output_tokens"] == count_tokens(message_text(resp)) > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"]["cached_tokens"] == 0
    assert usage["output_tokens_details"]["reasoning_tokens"] == 0
    assert resp["text"] == {"format": {"type": "text"}, "verbosity": "medium"}


def test_list_input_items_of_every_kind(api):
    resp = create(api, input=[
        {"role": "system", "content": "You answer about oceans."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What about tides?"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Tides follow the moon."}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    ], tools=[WEATHER])
    # After a tool result, "auto" answers in text.
    assert [o["type"] for o in resp["output"]] == ["message"] and message_text(resp)
    short = create(api, input="What about tides?")
    assert resp["usage"]["input_tokens"] > short["usage"]["input_tokens"]


def test_seed_and_temperature_zero_are_reproducible(api):
    a = create(api, input="Explain compilers", seed=7)
    b = create(api, input="Explain compilers", seed=7)
    assert message_text(a) == message_text(b)
    assert message_text(create(api, input="Explain compilers", temperature=0)) == message_text(
        create(api, input="Explain compilers", temperature=0))


def test_max_output_tokens_cut_is_incomplete(api):
    resp = create(api, input="Write a long essay about history", max_output_tokens=5)
    assert resp["status"] == "incomplete" and resp["incomplete_details"] == {"reason": "max_output_tokens"}
    assert resp["output"][0]["status"] == "incomplete" and resp["usage"]["output_tokens"] == 5
    assert resp["completed_at"] is None
    roomy = create(api, input="Hi", max_output_tokens=4000)
    assert roomy["status"] == "completed" and roomy["incomplete_details"] is None


def test_reasoning_model_counts_reasoning_tokens(api):
    resp = create(api, model="openai/gpt-oss-120b", input="Why is the sky blue?", reasoning={"summary": "auto"})
    reasoning, msg = resp["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"][0]["type"] == "summary_text" and reasoning["summary"][0]["text"]
    details = resp["usage"]["output_tokens_details"]
    assert details["reasoning_tokens"] == count_tokens(reasoning["summary"][0]["text"]) > 0
    assert resp["usage"]["output_tokens"] == details["reasoning_tokens"] + count_tokens(message_text(resp))
    assert resp["reasoning"]["effort"] == "medium"


def test_function_tools_and_tool_choice(api):
    resp = create(api, input="What is the weather in Paris?", tools=[WEATHER, SEARCH])
    calls = [o for o in resp["output"] if o["type"] == "function_call"]
    assert calls and calls[0]["name"] == "get_weather" and calls[0]["call_id"].startswith("call_")
    jsonschema.validate(json.loads(calls[0]["arguments"]), WEATHER["parameters"])
    assert resp["tools"][0]["name"] == "get_weather" and resp["tools"][0]["strict"] is True
    named = create(api, input="anything", tools=[WEATHER, SEARCH], tool_choice={"type": "function", "name": "search_docs"})
    [call] = named["output"]
    assert call["name"] == "search_docs"
    jsonschema.validate(json.loads(call["arguments"]), SEARCH["parameters"])
    assert create(api, input="weather?", tools=[WEATHER], tool_choice="none")["output"][0]["type"] == "message"
    single = create(api, input="weather and search docs", tools=[WEATHER, SEARCH], parallel_tool_calls=False,
                    tool_choice="required")
    assert len(single["output"]) == 1 and single["parallel_tool_calls"] is False


@pytest.mark.parametrize("via", ["text", "response_format"])
def test_json_schema_output_is_valid(api, via):
    if via == "text":
        body = {"text": {"format": {"type": "json_schema", "name": "person", "schema": PERSON, "strict": True}}}
    else:
        body = {"response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}}
    resp = create(api, input="Describe a person", **body)
    jsonschema.validate(json.loads(message_text(resp)), PERSON)
    assert resp["text"]["format"]["type"] == "json_schema" and resp["text"]["format"]["name"] == "person"
    obj = create(api, input="x", text={"format": {"type": "json_object"}})
    assert isinstance(json.loads(message_text(obj)), dict)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "gpt-4o"}, "input"),
        ({"model": "gpt-4o", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "gpt-4o", "input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text"),
        ({"model": "gpt-4o", "input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"model": "gpt-4o", "input": "x", "tools": [{"type": "function", "parameters": {}}]}, "tools[0].name"),
        ({"model": "gpt-4o", "input": "x", "tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}},
         "tool_choice.name"),
        ({"model": "gpt-4o", "input": "x", "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "gpt-4o", "input": "x", "temperature": 3}, "temperature"),
        ({"model": "gpt-4o", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "gpt-4o", "input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
        ({"model": "gpt-4o", "input": "x", "background": True, "store": False}, "store"),
    ],
)
def test_bad_requests_are_400_with_param(api, body, param):
    r = api.post("/v1/responses", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param and r.json()["error"]["type"] == "invalid_request_error"


def test_store_retrieve_input_items_delete(api):
    items = [{"role": "user", "content": f"turn {i} about gardens"} for i in range(5)]
    resp = create(api, input=items, store=True)
    assert resp["store"] is True
    assert api.get(f"/v1/responses/{resp['id']}").json() == resp
    page = api.get(f"/v1/responses/{resp['id']}/input_items", params={"limit": 2}).json()
    assert page["object"] == "list" and page["has_more"] is True and len(page["data"]) == 2
    assert page["data"][0]["content"] == [{"type": "input_text", "text": "turn 4 about gardens"}]  # newest first
    rest = api.get(f"/v1/responses/{resp['id']}/input_items", params={"after": page["last_id"]}).json()
    assert len(rest["data"]) == 3 and rest["has_more"] is False
    asc = api.get(f"/v1/responses/{resp['id']}/input_items", params={"order": "asc"}).json()
    assert [i["content"][0]["text"] for i in asc["data"]] == [i["content"] for i in items]
    assert all(i["id"].startswith("msg_") and i["status"] == "completed" for i in asc["data"])
    r = api.delete(f"/v1/responses/{resp['id']}")
    assert r.status_code == 200 and r.json() == {"id": resp["id"], "object": "response", "deleted": True}
    for path in (f"/v1/responses/{resp['id']}", f"/v1/responses/{resp['id']}/input_items"):
        assert api.get(path).status_code == 404
    assert api.delete(f"/v1/responses/{resp['id']}").status_code == 404


def test_unstored_response_is_not_retrievable(api):
    resp = create(api, input="hello", store=False)
    assert resp["store"] is False
    assert api.get(f"/v1/responses/{resp['id']}").status_code == 404


def test_responses_are_stored_by_default_as_openai_does(api):
    resp = create(api, input="hello")
    assert resp["store"] is True
    assert api.get(f"/v1/responses/{resp['id']}").json()["id"] == resp["id"]


def test_previous_response_id_continues_and_counts_history(api):
    first = create(api, input="Tell me about volcanoes", store=True)
    second = create(api, input="And their eruptions?", previous_response_id=first["id"], store=True)
    assert second["previous_response_id"] == first["id"]
    assert second["usage"]["input_tokens"] > first["usage"]["total_tokens"]
    third = create(api, input="More", previous_response_id=second["id"])
    assert third["usage"]["input_tokens"] > second["usage"]["total_tokens"]
    r = api.post("/v1/responses", json={"model": "gpt-4o", "input": "x", "previous_response_id": "resp_missing"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "previous_response_not_found"
    assert r.json()["error"]["param"] == "previous_response_id"


def test_background_response_completes(api):
    resp = create(api, input="Summarise the report", background=True)
    assert resp["status"] == "queued" and resp["background"] is True and resp["output"] == []
    deadline = time.monotonic() + 5
    while True:
        got = api.get(f"/v1/responses/{resp['id']}").json()
        if got["status"] == "completed" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert got["status"] == "completed" and message_text(got) and got["usage"]["output_tokens"] > 0


def test_stream_event_order_and_sequence(api):
    r = api.post("/v1/responses", json={"model": "gpt-4o", "input": "Explain rivers", "stream": True, "store": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse(r.text)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert kinds == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]
    final = events[-1]["response"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == message_text(final) == events[-4]["text"] and deltas == final["usage"]["output_tokens"]
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    # stored before "completed" went out
    assert api.get(f"/v1/responses/{final['id']}").json() == final


def test_stream_function_call_events(api):
    r = api.post("/v1/responses", json={"model": "gpt-4o", "input": "weather in Oslo", "stream": True,
                                        "tools": [WEATHER], "tool_choice": "required"})
    events = sse(r.text)
    kinds = [e["type"] for e in events]
    assert kinds[2] == "response.output_item.added" and events[2]["item"]["arguments"] == ""
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    args = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    assert args == done["arguments"]
    jsonschema.validate(json.loads(args), WEATHER["parameters"])
    assert kinds[-2:] == ["response.output_item.done", "response.completed"]


def test_cancel_refuses_what_is_not_a_background_response(make_client):
    # That a cancel holds after the generation would have ended: tests/api/test_responses_background.py
    # and tests/e2e/test_background_cancel.py.
    slow = make_client(itl_ms=20)
    plain = create(slow, input="x", store=True, max_output_tokens=2)
    r = slow.post(f"/v1/responses/{plain['id']}/cancel")
    assert r.status_code == 400 and "background" in r.json()["error"]["message"]
    assert slow.post("/v1/responses/resp_nope/cancel").status_code == 404


def test_latency_options_apply(make_client):
    slow = make_client(ttft_ms=150)
    started = time.perf_counter()
    create(slow, input="hello", max_output_tokens=3)
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    r = slow.post("/v1/responses", json={"model": "gpt-4o", "input": "hello", "stream": True, "max_output_tokens": 3})
    assert r.status_code == 200 and time.perf_counter() - started >= 0.15


def test_logprobs_when_included(api):
    resp = create(api, input="Tell me about owls", include=["message.output_text.logprobs"], top_logprobs=3,
                  max_output_tokens=20)
    part = resp["output"][0]["content"][0]
    assert len(part["logprobs"]) == resp["usage"]["output_tokens"]
    first = part["logprobs"][0]
    assert "".join(lp["token"] for lp in part["logprobs"]) == part["text"]
    assert first["logprob"] <= 0 and len(first["top_logprobs"]) == 3 and first["bytes"] == list(first["token"].encode())
    r = api.post("/v1/responses", json={"model": "gpt-4o", "input": "owls", "stream": True, "top_logprobs": 2,
                                        "include": ["message.output_text.logprobs"], "max_output_tokens": 5})
    deltas = [e for e in sse(r.text) if e["type"] == "response.output_text.delta"]
    assert all(len(e["logprobs"]) == 1 and e["logprobs"][0]["token"] == e["delta"] for e in deltas)
    assert create(api, input="owls")["output"][0]["content"][0]["logprobs"] == []
