"""Hostile values in every field (and nested field) of Anthropic's endpoints: always a 4xx in
Anthropic's error shape (or a 200 where the value happens to be acceptable), never a 500."""

from __future__ import annotations

import copy
import itertools

import pytest

from tests.api.test_messages import HEADERS

TOOL = {"name": "lookup", "description": "Look a word up", "cache_control": {"type": "ephemeral"},
        "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}}
VALID = {
    "/v1/messages": {
        "model": "claude-sonnet-4-5", "max_tokens": 1100, "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [TOOL], "tool_choice": {"type": "auto"}, "thinking": {"type": "enabled", "budget_tokens": 1024},
        "stop_sequences": ["zzz"], "metadata": {"user_id": "u"}, "top_k": 5, "top_p": 0.9, "stream": False,
    },
    "/v1/messages/count_tokens": {
        "model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}], "tools": [TOOL],
        "system": "Be brief.",
    },
}
NESTED = [("messages", 0, "content"), ("messages", 0, "role"), ("messages", 0, "content", 0, "type"),
          ("messages", 0, "content", 0, "text"), ("tools", 0, "input_schema"), ("tools", 0, "name"),
          ("tools", 0, "input_schema", "properties"), ("tool_choice", "type"), ("thinking", "budget_tokens"),
          ("system", 0, "text"), ("tools", 0, "cache_control")]
HOSTILE = [None, -1, 0, 2**63, 1e308, "", "x" * 3000, [], {}, [None], [[]], {"a": {"b": {}}}, True, "💥",
           [1, "a", None], {"type": "unknown"}]


def check(response) -> None:  # noqa: ANN001
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert body["type"] == "error" and set(body["error"]) >= {"type", "message"}, response.text
        assert body["error"]["message"] and response.headers["request-id"] == body["request_id"]


def put(body: dict, path: tuple, value: object) -> dict | None:
    out = copy.deepcopy(body)
    node = out
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(node, (dict, list)) and (isinstance(node, dict) or path[-1] < len(node)):
        node[path[-1]] = value
        return out
    return None


@pytest.mark.parametrize("path", list(VALID))
def test_every_field_replaced_by_hostile_values(api, path):
    base = VALID[path]
    assert api.post(path, json=base, headers=HEADERS).status_code == 200
    fields = [(f,) for f in base] + [n for n in NESTED if n[0] in base]
    for field, value in itertools.product(fields, HOSTILE):
        body = put(base, field, value)
        if body is not None:
            check(api.post(path, json=body, headers=HEADERS))


@pytest.mark.parametrize("path", list(VALID))
def test_structural_garbage(api, path):
    for raw in [b"", b"{", b"[]", b"null", b"42", b'"text"', b'{"model": }', b"\xff\xfe"]:
        check(api.post(path, content=raw, headers={**HEADERS, "content-type": "application/json"}))
    for field in VALID[path]:
        check(api.post(path, json={k: v for k, v in VALID[path].items() if k != field}, headers=HEADERS))


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=5000", "after_id=nope", "before_id=%00", "limit=-1"])
def test_model_pages_with_bad_queries(api, query):
    response = api.get(f"/v1/models?{query}", headers=HEADERS)
    check(response)
    if response.status_code == 200:
        assert response.json()["data"] == [] or "limit" not in query
