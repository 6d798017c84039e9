"""The official anthropic SDK against a live synthetic FakeAI (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import anthropic
import jsonschema
import pytest

from fakeai.cassettes.server_process import ServerProcess

MODEL = "claude-sonnet-4-5"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def sdk(server: ServerProcess, **kwargs) -> anthropic.Anthropic:
    kwargs.setdefault("api_key", server.api_key)
    return anthropic.Anthropic(base_url=server.root_url, max_retries=0, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def claude(live_server) -> anthropic.Anthropic:
    return sdk(live_server)


def test_create(claude):
    message = claude.messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hi there"}])
    assert isinstance(message, anthropic.types.Message)
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens") and message.usage.output_tokens > 0
    assert message._request_id and message._request_id.startswith("req_")


def test_stream_helpers_agree_with_create(claude):
    params = dict(model=MODEL, max_tokens=80, system="Be brief.",
                  messages=[{"role": "user", "content": "Describe a lighthouse"}])
    whole = claude.messages.create(**params)
    with claude.messages.stream(**params) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == whole.content[0].text == final.content[0].text
    assert final.stop_reason == whole.stop_reason and final.usage.output_tokens == whole.usage.output_tokens
    assert final.usage.input_tokens == whole.usage.input_tokens
    raw = [event.type for event in claude.messages.create(**params, stream=True)]
    assert raw[0] == "message_start" and raw[-1] == "message_stop" and "message_delta" in raw


def test_tool_round_trip(claude):
    first = claude.messages.create(model=MODEL, max_tokens=500, tools=[WEATHER], messages=ASK)
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    jsonschema.validate(use.input, WEATHER["input_schema"])
    with claude.messages.stream(model=MODEL, max_tokens=500, tools=[WEATHER], messages=ASK,
                                tool_choice={"type": "tool", "name": "get_weather"}) as stream:
        streamed = stream.get_final_message()
    jsonschema.validate(next(b for b in streamed.content if b.type == "tool_use").input, WEATHER["input_schema"])
    second = claude.messages.create(
        model=MODEL, max_tokens=500, tools=[WEATHER],
        messages=[*ASK, {"role": "assistant", "content": first.content},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18C, sunny"}]}],
    )
    assert second.stop_reason != "tool_use" and second.content[0].type == "text" and second.content[0].text


def test_thinking(claude):
    params = dict(model=MODEL, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}, messages=ASK)
    message = claude.messages.create(**params)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking and message.content[0].signature and message.content[1].text
    with claude.messages.stream(**params) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "thinking" and final.content[0].signature and final.content[1].text


def test_count_tokens_matches_usage(claude):
    counted = claude.messages.count_tokens(model=MODEL, messages=ASK, tools=[WEATHER])
    message = claude.messages.create(model=MODEL, max_tokens=300, messages=ASK, tools=[WEATHER])
    assert counted.input_tokens == message.usage.input_tokens > 0


def test_models(claude):
    models = list(claude.models.list(limit=5))  # the SDK pages through every model
    ids = [m.id for m in models]
    assert MODEL in ids and len(ids) == len(set(ids)) > 5
    assert claude.models.retrieve(MODEL).display_name == "Claude Sonnet 4.5"


def test_errors_are_sdk_exceptions(live_server, claude):
    with pytest.raises(anthropic.AuthenticationError) as info:
        sdk(live_server, api_key="sk-wrong").messages.create(model=MODEL, max_tokens=5, messages=ASK)
    assert info.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.messages.create(model=MODEL, max_tokens=5, messages=ASK, extra_body={"temperature": 3})
    assert info.value.body["type"] == "error" and info.value.request_id
    with pytest.raises(anthropic.NotFoundError):
        claude.models.retrieve("claude-does-not-exist")
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(model=MODEL, max_tokens=1000, messages=ASK, thinking={"type": "enabled", "budget_tokens": 1024})


def test_bearer_auth(live_server):
    client = anthropic.Anthropic(auth_token=live_server.api_key, base_url=live_server.root_url, max_retries=0)
    assert client.messages.create(model=MODEL, max_tokens=5, messages=ASK).content
