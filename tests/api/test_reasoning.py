"""Reasoning models never answer empty: thinking takes at most a quarter of the budget (issue 12, part 1).

gpt-oss is the model of the reference's chat examples; a load generator asking it for 20 tokens must
measure text, and usage must add up (reasoning + text = completion/output tokens).
"""

from __future__ import annotations

import json

import pytest

from fakeai.modes.synthetic.tokenizer import count_tokens

MODEL = "openai/gpt-oss-120b"
MSGS = [{"role": "user", "content": "Explain how volcanoes form."}]


def chat(api, **body):
    body.setdefault("model", MODEL)
    body.setdefault("messages", MSGS)
    r = api.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    return r


def chunks(response) -> list[dict]:
    blocks = [b for b in response.text.split("\n\n") if b]
    assert blocks[-1] == "data: [DONE]"
    return [json.loads(b[6:]) for b in blocks[:-1]]


@pytest.mark.parametrize("max_tokens", [1, 4, 20, 32])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_budget_still_answers(api, max_tokens, seed):
    body = chat(api, max_tokens=max_tokens, seed=seed).json()
    msg, usage = body["choices"][0]["message"], body["usage"]
    assert msg["content"], body
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning <= max_tokens // 4
    assert reasoning == count_tokens(msg.get("reasoning_content") or "")
    assert usage["completion_tokens"] == reasoning + count_tokens(msg["content"]) <= max_tokens


def test_n2_both_choices_answer(api):
    body = chat(api, max_tokens=20, n=2).json()
    assert len(body["choices"]) == 2 and all(c["message"]["content"] for c in body["choices"])
    usage = body["usage"]
    texts = sum(count_tokens(c["message"]["content"]) for c in body["choices"])
    thoughts = sum(count_tokens(c["message"].get("reasoning_content") or "") for c in body["choices"])
    assert usage["completion_tokens"] == texts + thoughts
    assert usage["completion_tokens_details"]["reasoning_tokens"] == thoughts


def test_logprobs_cover_the_answer(api):
    body = chat(api, max_tokens=20, logprobs=True, top_logprobs=2).json()
    choice = body["choices"][0]
    content = choice["logprobs"]["content"]
    assert content and "".join(e["token"] for e in content) == choice["message"]["content"]


@pytest.mark.parametrize("effort", ["none", "minimal"])
def test_no_reasoning_at_effort_none_or_minimal(api, effort):
    body = chat(api, max_tokens=20, reasoning_effort=effort).json()
    assert body["choices"][0]["message"]["content"] and not body["choices"][0]["message"].get("reasoning_content")
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0


def test_high_effort_thinks_longer_than_low(api):
    def thought(effort: str) -> int:
        return sum(chat(api, reasoning_effort=effort, seed=s).json()["usage"]["completion_tokens_details"]
                   ["reasoning_tokens"] for s in range(8))

    assert thought("low") < thought("medium") < thought("high")


@pytest.mark.parametrize("ttft_ms", [0, 30])  # 30: the paced path a latency model takes
def test_stream_has_content_events(make_client, ttft_ms):
    api = make_client(ttft_ms=ttft_ms)
    events = chunks(chat(api, max_tokens=20, stream=True, stream_options={"include_usage": True}))
    deltas = [c["choices"][0]["delta"] for c in events if c["choices"]]
    content = "".join(d.get("content") or "" for d in deltas)
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert content  # a content event exists, so a client's time to first token is defined
    usage = events[-1]["usage"]
    assert usage["completion_tokens"] == count_tokens(content) + count_tokens(reasoning) <= 20
    assert usage["completion_tokens_details"]["reasoning_tokens"] == count_tokens(reasoning)


# --- Responses API -------------------------------------------------------------------------------------------
def respond(api, **body):
    body.setdefault("model", MODEL)
    body.setdefault("input", "Explain how volcanoes form.")
    r = api.post("/v1/responses", json=body)
    assert r.status_code == 200, r.text
    return r


def sse(text: str) -> list[dict]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append(json.loads(lines["data"]))
    return out


def _check_usage(resp: dict) -> tuple[str, str]:
    reasoning_item = [o for o in resp["output"] if o["type"] == "reasoning"]
    thought = reasoning_item[0]["content"][0]["text"] if reasoning_item else ""
    if reasoning_item:
        assert reasoning_item[0]["content"][0]["type"] == "reasoning_text"
    text = "".join(p["text"] for o in resp["output"] if o["type"] == "message" for p in o["content"])
    usage = resp["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == count_tokens(thought)
    assert usage["output_tokens"] == count_tokens(thought) + count_tokens(text)
    return thought, text


@pytest.mark.parametrize("budget", [16, 32])
def test_responses_small_budget_has_text_and_reasoning_text(api, budget):
    resp = respond(api, max_output_tokens=budget).json()
    thought, text = _check_usage(resp)
    assert text and thought and count_tokens(thought) <= budget // 4
    assert resp["usage"]["output_tokens"] <= budget


def test_responses_stream_reasoning_text_events(api):
    events = sse(respond(api, max_output_tokens=32, stream=True, reasoning={"summary": "auto"}).text)
    kinds = [e["type"] for e in events]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = events[-1]["response"]
    thought, text = _check_usage(final)
    deltas = [e for e in events if e["type"] == "response.reasoning_text.delta"]
    assert deltas and "".join(e["delta"] for e in deltas) == thought
    [done] = [e for e in events if e["type"] == "response.reasoning_text.done"]
    assert done["text"] == thought and done["content_index"] == 0 and done["item_id"] == final["output"][0]["id"]
    added = kinds.index("response.content_part.added")
    assert events[added]["part"] == {"type": "reasoning_text", "text": ""} and added < kinds.index(deltas[0]["type"])
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == text and text
    assert final["output"][0]["summary"][0]["text"] == thought


def test_responses_reasoning_effort_minimal_has_no_reasoning_item(api):
    resp = respond(api, max_output_tokens=32, reasoning={"effort": "minimal"}).json()
    assert [o["type"] for o in resp["output"]] == ["message"]
    assert resp["usage"]["output_tokens_details"]["reasoning_tokens"] == 0
