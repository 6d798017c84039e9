"""The Responses API end to end with the openai SDK against the shared live server.

Besides reading values, every object and event is validated against the SDK's own pydantic types
(``model_validate`` / a ``TypeAdapter`` over the event union), so a missing field, a wrong literal or
an item the SDK could only keep as a raw dict fails here.
"""

import json
import time

import jsonschema
import openai
import pydantic
import pytest
from fakeai.cassettes.server_process import ServerProcess
from openai.types.responses import (
    Response,
    ResponseFunctionToolCall,
    ResponseItem,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseStreamEvent,
)

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
    "strict": True,
}
EVENTS = pydantic.TypeAdapter(ResponseStreamEvent)


@pytest.fixture(scope="module")
def client(module_db_url):  # noqa: ANN201 - a server of this module's own: SQLite, then PostgreSQL
    with ServerProcess(db=module_db_url) as server:
        yield server.client()


ITEMS = pydantic.TypeAdapter(ResponseItem)


def strict(resp) -> Response:
    """The SDK's Response type accepts exactly what the server sent."""
    return Response.model_validate(resp.to_dict())


def test_create_with_string_and_list_input(client):
    r = client.responses.create(model="gpt-4o", input="Tell me about glaciers", instructions="Be concise",
                                metadata={"run": "e2e"}, temperature=0.2, top_p=0.5)
    strict(r)
    assert r.status == "completed" and r.output_text and r.metadata == {"run": "e2e"}
    assert isinstance(r.output[0], ResponseOutputMessage)
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.usage.input_tokens_details.cached_tokens == 0 and r.usage.output_tokens_details.reasoning_tokens == 0
    r2 = client.responses.create(model="gpt-4o", input=[
        {"role": "developer", "content": "Answer about ice."},
        {"role": "user", "content": [{"type": "input_text", "text": "How do glaciers move?"}]},
    ])
    strict(r2)
    assert r2.output_text and r2.usage.input_tokens > 10


def test_max_output_tokens_incomplete(client):
    r = client.responses.create(model="gpt-4o", input="Write a saga", max_output_tokens=16)
    strict(r)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.usage.output_tokens == 16


def test_reasoning_model(client):
    r = client.responses.create(model="o3-mini", input="Why do leaves fall?", reasoning={"effort": "low",
                                                                                          "summary": "auto"})
    strict(r)
    assert isinstance(r.output[0], ResponseReasoningItem) and r.output[0].summary[0].text
    assert r.usage.output_tokens_details.reasoning_tokens > 0 and r.output_text


def test_function_calls_and_tool_output_round_trip(client):
    r = client.responses.create(model="gpt-4o", input="What's the weather in Lima?", tools=[WEATHER])
    strict(r)
    [call] = [o for o in r.output if o.type == "function_call"]
    assert isinstance(call, ResponseFunctionToolCall)
    jsonschema.validate(json.loads(call.arguments), WEATHER["parameters"])
    follow = client.responses.create(model="gpt-4o", tools=[WEATHER], store=True, input=[
        {"role": "user", "content": "What's the weather in Lima?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 21}'},
    ])
    strict(follow)
    assert follow.output_text and not [o for o in follow.output if o.type == "function_call"]
    items = list(client.responses.input_items.list(follow.id, order="asc"))
    assert [type(i).__name__ for i in items] == [
        "ResponseInputMessageItem", "ResponseFunctionToolCallItem", "ResponseFunctionToolCallOutputItem"]
    for item in items:
        ITEMS.validate_python(item.to_dict())
    assert items[2].call_id == call.call_id and items[2].output == '{"temp": 21}'


def test_parse_with_json_schema(client):
    class Person(pydantic.BaseModel):
        name: str
        age: int
        hobbies: list[str]

    parsed = client.responses.parse(model="gpt-4o", input="Invent a person", text_format=Person)
    assert isinstance(parsed.output_parsed, Person)
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer", "maximum": 9}},
              "required": ["ok", "n"], "additionalProperties": False}
    r = client.responses.create(model="gpt-4o", input="x",
                                text={"format": {"type": "json_schema", "name": "x", "schema": schema, "strict": True}})
    strict(r)
    jsonschema.validate(json.loads(r.output_text), schema)


def test_store_retrieve_input_items_delete(client):
    r = client.responses.create(model="gpt-4o", store=True, input=[
        {"role": "user", "content": "first question about bridges"},
        {"role": "assistant", "content": "An answer."},
        {"role": "user", "content": "second question"},
    ])
    got = client.responses.retrieve(r.id)
    strict(got)
    assert got.id == r.id and got.output_text == r.output_text and got.usage == r.usage
    items = list(client.responses.input_items.list(r.id, order="asc", limit=2))  # pages through all three
    assert [i.role for i in items] == ["user", "assistant", "user"]
    for item in items:
        ITEMS.validate_python(item.to_dict())
    assert items[1].content[0].type == "output_text"
    client.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)


def test_previous_response_id(client):
    first = client.responses.create(model="gpt-4o", input="Tell me about castles", store=True)
    second = client.responses.create(model="gpt-4o", input="Who built them?", previous_response_id=first.id)
    strict(second)
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > first.usage.total_tokens
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.create(model="gpt-4o", input="x", previous_response_id="resp_does_not_exist")
    assert "resp_does_not_exist" in info.value.message


def _check_events(events) -> list[str]:
    for event in events:
        EVENTS.validate_python(event.to_dict(warnings=False))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    return [e.type for e in events]


def test_stream_helper_text(client):
    with client.responses.stream(model="gpt-4o", input="Describe a harbour", store=True) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = _check_events(events)
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert final.output_text == "".join(deltas) and final.status == "completed" and len(deltas) > 1
    assert events[-2].item.content[0].text == final.output_text
    assert client.responses.retrieve(final.id).output_text == final.output_text  # stored too


def test_create_stream_true_with_reasoning_and_cut(client):
    stream = client.responses.create(model="openai/gpt-oss-20b", input="Plan a trip", stream=True,
                                     reasoning={"summary": "detailed"}, max_output_tokens=120)
    events = list(stream)
    kinds = _check_events(events)
    assert kinds[2] == "response.output_item.added" and events[2].item.type == "reasoning"
    assert "response.reasoning_summary_text.delta" in kinds
    last = events[-1].response
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary == last.output[0].summary[0].text
    if last.status == "incomplete":
        assert kinds[-1] == "response.incomplete" and last.incomplete_details.reason == "max_output_tokens"
    else:
        assert kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == last.output_text
    assert last.usage.output_tokens <= 120


def test_stream_function_call(client):
    with client.responses.stream(model="gpt-4o", input="weather in Rome", tools=[WEATHER],
                                 tool_choice="required") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = _check_events(events)
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    [call] = final.output
    assert call.type == "function_call" and call.parsed_arguments["unit"] in ("celsius", "fahrenheit")


def test_background(client):
    r = client.responses.create(model="gpt-4o", input="A long report", background=True)
    assert r.status in ("queued", "in_progress") and r.background is True
    deadline = time.monotonic() + 10
    while r.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.05)
        r = client.responses.retrieve(r.id)
    strict(r)
    assert r.status == "completed" and r.output_text and r.usage.output_tokens > 0
    assert client.responses.cancel(r.id).status == "completed"  # finished already: returned as it is


def test_logprobs_parse(client):
    r = client.responses.create(model="gpt-4o", input="owls", include=["message.output_text.logprobs"],
                                top_logprobs=2, max_output_tokens=8)
    strict(r)
    assert r.output[0].content[0].logprobs[0].top_logprobs[1].logprob < r.output[0].content[0].logprobs[0].logprob
    events = list(client.responses.create(model="gpt-4o", input="owls", include=["message.output_text.logprobs"],
                                          top_logprobs=2, max_output_tokens=4, stream=True))
    _check_events(events)
    assert all(e.logprobs[0].token == e.delta for e in events if e.type == "response.output_text.delta")


def test_stored_stream_is_saved_when_the_client_leaves_early(start_server):
    """The client reads two events of a slow stored stream and hangs up; the response is still stored."""
    import json as _json
    import time as _time

    import httpx

    server = start_server("--itl-ms", "20")
    body = {"model": "gpt-4o", "input": "Tell me a long story", "max_output_tokens": 300, "stream": True}
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.stream("POST", server.base_url + "/responses", json=body, headers=headers, timeout=30) as r:
        data = None
        for line in r.iter_lines():
            if line.startswith("data: "):
                data = _json.loads(line[6:])
                break
    response_id = data["response"]["id"]
    client = server.client()
    deadline = _time.monotonic() + 10
    while True:
        try:
            stored = client.responses.retrieve(response_id)
            break
        except openai.NotFoundError:  # not saved yet: the save runs once the server notices the hang-up
            assert _time.monotonic() < deadline, "the response was never stored"
            _time.sleep(0.2)
    assert stored.status in ("completed", "incomplete") and stored.output_text


def test_background_response_finishes_across_a_shutdown(tmp_path):
    """Stopping the server while a background response is still running lets it finish and be stored."""
    from fakeai.cassettes.server_process import ServerProcess

    db = str(tmp_path / "bg.db")
    with ServerProcess("--itl-ms", "10", db=db) as server:
        queued = server.client().responses.create(
            model="gpt-4o", input="Write a long report", max_output_tokens=100, background=True
        )
        assert queued.status in ("queued", "in_progress")
    with ServerProcess(db=db) as again:
        stored = again.client().responses.retrieve(queued.id)
    assert stored.status in ("completed", "incomplete") and stored.output_text


@pytest.mark.parametrize("stream", [False, True])
def test_gpt_oss_small_budget_has_text_and_reasoning_text(client, stream):
    # aiperf's responses profile at --osl 32: every answer must carry text (issue 12, part 1).
    kwargs = dict(model="openai/gpt-oss-120b", input="Explain how volcanoes form.", max_output_tokens=32)
    if stream:
        events = list(client.responses.create(**kwargs, stream=True))  # the answer is cut: response.incomplete
        kinds = _check_events(events)
        final = events[-1].response
        thought = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
        assert thought and "response.reasoning_text.done" in kinds
        assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == final.output_text
    else:
        final = client.responses.create(**kwargs)
        strict(final)
        thought = final.output[0].content[0].text
    item = final.output[0]
    assert isinstance(item, ResponseReasoningItem) and item.content[0].type == "reasoning_text"
    assert item.content[0].text == thought and final.output_text
    usage = final.usage
    assert usage.output_tokens == count_tokens(thought) + count_tokens(final.output_text)
    assert usage.output_tokens_details.reasoning_tokens == count_tokens(thought)
    assert 0 < usage.output_tokens_details.reasoning_tokens <= 8 and usage.output_tokens <= 32
