"""Anthropic through a recorder: the anthropic SDK → a recording FakeAI (--anthropic-upstream) → a
synthetic FakeAI; then the same calls against a replaying FakeAI with no upstream give identical bytes
and events. The client's x-api-key is forwarded and never stored; anthropic-version is in the key."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import anthropic
import httpx
import pytest

from fakeai.cassettes.server_process import ServerProcess

MODEL = "claude-haiku-4-5"
WEATHER = {"name": "get_weather", "description": "Weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
EVENT = re.compile(rb".*?\n\n", re.S)


def client(server: ServerProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=server.api_key, base_url=server.root_url, max_retries=0, timeout=60)


def whole(raw) -> tuple[int, bytes]:  # noqa: ANN001
    return raw.http_response.status_code, raw.http_response.content


def events(ctx) -> tuple[int, list[bytes]]:  # noqa: ANN001
    with ctx as response:
        data = b"".join(response.iter_bytes())
    frames = EVENT.findall(data)
    assert b"".join(frames) == data
    return response.status_code, frames


def error(call) -> tuple[int, bytes]:  # noqa: ANN001
    with pytest.raises(anthropic.APIStatusError) as info:
        call()
    return info.value.status_code, info.value.response.content


def helpers(c: anthropic.Anthropic, ask: list) -> tuple[str, dict]:
    with c.messages.stream(model=MODEL, max_tokens=40, messages=ask, system="Be brief.") as stream:
        text = "".join(stream.text_stream)
        return text, stream.get_final_message().to_dict()


def round_trip(c: anthropic.Anthropic, ask: list) -> tuple[dict, dict]:
    first = c.messages.create(model=MODEL, max_tokens=300, messages=ask, tools=[WEATHER], tool_choice={"type": "any"})
    use = next(b for b in first.content if b.type == "tool_use")
    second = c.messages.create(model=MODEL, max_tokens=300, tools=[WEATHER], messages=[
        *ask, {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "12C, rain"}]}])
    assert second.content[0].type == "text"
    return first.to_dict(), second.to_dict()


def scenarios(c: anthropic.Anthropic) -> dict[str, tuple[int, object]]:
    ask = [{"role": "user", "content": "Tell me about the weather in Oslo"}]
    m = c.messages
    return {
        "create": whole(m.with_raw_response.create(model=MODEL, max_tokens=60, messages=ask)),
        "stream": events(m.with_streaming_response.create(model=MODEL, max_tokens=60, messages=ask, stream=True)),
        "tools": events(m.with_streaming_response.create(model=MODEL, max_tokens=300, messages=ask, tools=[WEATHER], stream=True)),
        "thinking": whole(m.with_raw_response.create(model=MODEL, max_tokens=1500, messages=ask,
                                                     thinking={"type": "enabled", "budget_tokens": 1024})),
        "count": whole(m.with_raw_response.count_tokens(model=MODEL, messages=ask)),
        "beta": whole(m.with_raw_response.create(model=MODEL, max_tokens=20, messages=ask,
                                                 extra_headers={"anthropic-beta": "fakeai-test-2026"})),
        "models": whole(c.models.with_raw_response.list()),
        "helpers": helpers(c, ask),
        "round_trip": round_trip(c, ask),
        "bad": error(lambda: m.create(model=MODEL, max_tokens=5, messages=[])),
    }


def test_record_then_replay_is_identical(tmp_path):
    db = str(tmp_path / "cassettes.db")
    with ServerProcess(db=str(tmp_path / "upstream.db")) as upstream:
        with ServerProcess("--mode", "record", "--anthropic-upstream", upstream.root_url, db=db) as recorder:
            recorded = scenarios(client(recorder))
            # OpenAI requests have no upstream here: a clear 502, not a crash.
            openai_error = httpx.post(recorder.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": []},
                                      headers={"Authorization": f"Bearer {recorder.api_key}"}, timeout=30)
    assert recorded["create"][0] == recorded["count"][0] == 200 and recorded["bad"][0] == 400
    assert recorded["helpers"][0] == recorded["helpers"][1]["content"][0]["text"]
    assert openai_error.status_code == 502 and "--upstream" in openai_error.json()["error"]["message"]
    stream_names = [f.split(b"\n", 1)[0] for f in recorded["stream"][1]]
    assert stream_names[:3] == [b"event: message_start", b"event: content_block_start", b"event: ping"]
    assert stream_names[-1] == b"event: message_stop"

    with ServerProcess("--mode", "replay", db=db) as replayer:
        replayed = scenarios(client(replayer))
        assert replayed == recorded  # every status, body and stream event, byte for byte
        with pytest.raises(anthropic.NotFoundError) as miss:
            client(replayer).messages.create(model=MODEL, max_tokens=61, messages=[{"role": "user", "content": "Tell me about the weather in Oslo"}])
        body = miss.value.body
        assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
        assert "max_tokens" in body["error"]["message"]  # the nearest recording and how it differs
        with pytest.raises(anthropic.NotFoundError):  # a different anthropic-version is another request
            client(replayer).messages.create(model=MODEL, max_tokens=60, messages=[{"role": "user", "content": "Tell me about the weather in Oslo"}],
                                             extra_headers={"anthropic-version": "2099-01-01"})

    raw = open(db, "rb").read() + b"".join(p.read_bytes() for p in tmp_path.glob("cassettes.db*"))
    assert ServerProcess(db=db).api_key.encode() not in raw  # the client's x-api-key is never stored
    listing = json.loads(subprocess.run([sys.executable, "-m", "fakeai", "cassettes", "list", "--json", "--db", db],
                                        capture_output=True, text=True, check=True).stdout)
    assert {"/v1/messages", "/v1/messages/count_tokens", "/v1/models"} <= {row["path"] for row in listing}
    out = tmp_path / "exported"
    subprocess.run([sys.executable, "-m", "fakeai", "cassettes", "export", "--out", str(out), "--db", db], check=True,
                   capture_output=True)
    documents = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    streams = [d for d in documents if d["request"]["path"] == "/v1/messages" and d["episodes"][0]["stream"]]
    assert streams and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d["request"]["headers"]["anthropic-version"]) for d in streams)
    assert streams[0]["episodes"][0]["events"][0]["event"] == "message_start"
    # The exported directory replays the same bytes.
    with ServerProcess("--mode", "replay", "--cassettes", str(out), db=str(tmp_path / "fresh.db")) as again:
        assert scenarios(client(again)) == recorded
