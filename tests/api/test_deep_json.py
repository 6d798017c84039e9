"""Deeply nested JSON is the client's 400, never a 500 (issue 12, part 3).

msgspec refuses to decode past Python's recursion limit with a ``RecursionError``, and values that do
decode can still be too deep for the code that walks them (the cassette key, schema fakers). Every JSON
endpoint answers such a body with a 400 ``invalid_request_error`` in every mode.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.test_bad_input_sweep import VALID

JSON_ENDPOINTS = [*VALID, "/v1/rerank"]
VALID_BODIES = {**VALID, "/v1/rerank": VALID["/v1/ranking"]}


def deep_object(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def deep_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _embed(body: dict, field: str, inner: bytes) -> bytes:
    """``body`` as JSON with ``field``'s value replaced by the raw bytes ``inner``."""
    marker = "\u0000DEEP\u0000"
    return json.dumps({**body, field: marker}).encode().replace(json.dumps(marker).encode(), inner)


def _assert_400(response) -> None:  # noqa: ANN001
    assert response.status_code == 400, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    assert set(error) >= {"message", "type", "param", "code"}


def _bodies(path: str) -> list[bytes]:
    base = VALID_BODIES[path]
    bodies = [deep_object(10_000), deep_array(10_000)]
    for field in base:  # the deep value in each field, including the free-form ones (schemas, metadata)
        bodies.append(_embed(base, field, deep_object(10_000)))
    bodies.append(_embed(base, "extra_field", deep_object(10_000)))  # an unknown field is still read
    return bodies


@pytest.fixture(params=["synthetic", "replay", "record"])
def mode_client(request, make_client, live_server):
    if request.param == "record":  # a real upstream: another FakeAI, in synthetic mode
        return make_client(mode="record", upstream=live_server.base_url)
    return make_client(mode=request.param)


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_deep_json_is_400_on_every_json_endpoint(mode_client, path):
    for body in _bodies(path):
        _assert_400(mode_client.post(path, content=body, headers={"content-type": "application/json"}))


SCHEMA_PLACES = [
    ("/v1/chat/completions", lambda s: {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                                        "tools": [{"type": "function", "function": {"name": "f", "parameters": s}}]}),
    ("/v1/chat/completions", lambda s: {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                                        "response_format": {"type": "json_schema",
                                                            "json_schema": {"name": "x", "schema": s}}}),
    ("/v1/responses", lambda s: {"model": "gpt-4o", "input": "hi",
                                 "tools": [{"type": "function", "name": "f", "parameters": s}]}),
    ("/v1/responses", lambda s: {"model": "gpt-4o", "input": "hi",
                                 "text": {"format": {"type": "json_schema", "name": "x", "schema": s}}}),
]


@pytest.mark.parametrize("depth", [10_000, 700, 400])
@pytest.mark.parametrize("place", range(len(SCHEMA_PLACES)))
def test_deep_schemas_are_client_errors(api, place, depth):
    # A schema nested as deep as the decoder allows, or deeper, is the client's 400 too (or an answer).
    path, build = SCHEMA_PLACES[place]
    schema = b'{"type":"object","properties":{"a":' * depth + b'{"type":"string"}' + b"}}" * depth
    raw = json.dumps(build({"$deep": True})).encode().replace(b'{"$deep": true}', schema)
    response = api.post(path, content=raw, headers={"content-type": "application/json"})
    if depth == 10_000:
        _assert_400(response)
    else:
        assert response.status_code in (200, 400), (response.status_code, response.text[:300])
        if response.status_code == 400:
            _assert_400(response)


def test_deep_line_in_a_jsonl_upload_is_reported_not_a_crash(api):
    line = b'{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":' + deep_object(10_000) + b"}\n"
    response = api.post("/v1/files", files={"file": ("batch.jsonl", line, "application/jsonl")},
                        data={"purpose": "batch"})
    assert response.status_code in (200, 400), response.text[:300]
    if response.status_code == 200:
        assert response.json()["status"] == "error" and "Line 1" in response.json()["status_details"]
    else:
        _assert_400(response)


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_deep_json_on_a_live_server(live_server, path):
    headers = {"Authorization": f"Bearer {live_server.api_key}", "content-type": "application/json"}
    _assert_400(httpx.post(live_server.root_url + path, content=deep_object(10_000), headers=headers, timeout=30))
