"""A sweep of hostile bodies across every JSON endpoint: each answer is a 4xx with an OpenAI-shaped
error (or a normal 200 where the value happens to be acceptable), never a 500 or Litestar's shape."""

import itertools
import json
import random

import pytest

VALID = {
    "/v1/chat/completions": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
    "/v1/completions": {"model": "gpt-3.5-turbo-instruct", "prompt": "Once", "max_tokens": 5},
    "/v1/text/generation": {"model": "openai/gpt-oss-120b", "input": "hi", "max_output_tokens": 5},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "hello"},
    "/v1/images/generations": {"prompt": "a cat", "size": "256x256", "response_format": "b64_json"},
    "/v1/responses": {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16},
    "/v1/ranking": {"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": {"text": "q"}, "passages": [{"text": "p"}]},
    "/v2/rerank": {"model": "rerank", "query": "q", "documents": ["a", "b"]},
    "/rerank": {"query": "q", "texts": ["a", "b"]},
}

MODEL_REQUIRED = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")

HOSTILE_VALUES = [None, -1, 0, 2**63, 1e308, -1e308, "", "x" * 5000, [], {}, [None], [[]], {"a": {"b": {}}}, True,
                  "\udcff", "💥", [1, "a", None], {"type": "unknown"}]


def _check(response) -> None:  # noqa: ANN001
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) >= {"message", "type", "param", "code"}, response.text
        assert isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize("path", list(VALID))
def test_every_field_replaced_by_hostile_values(api, path):
    base = VALID[path]
    assert api.post(path, json=base).status_code == 200  # the baseline is valid
    for field, value in itertools.product(list(base), HOSTILE_VALUES):
        # json.dumps escapes a lone surrogate ("\udcff" on the wire), which httpx's own encoder
        # refuses to send: serialise here so every hostile value really reaches the server.
        raw = json.dumps({**base, field: value}).encode()
        response = api.post(path, content=raw, headers={"content-type": "application/json"})
        _check(response)
        if value == "\udcff":
            assert b"\\udcff" in raw and response.status_code in (200, 400), response.text
        if field == "model" and path in MODEL_REQUIRED and (value is None or value in (0, [], {})):
            assert response.status_code == 400


@pytest.mark.parametrize("path", list(VALID))
def test_structural_garbage(api, path):
    rng = random.Random(path)
    bodies = [b"", b"{", b"[]", b"null", b"42", b'"text"', b'{"model": }', b"\xff\xfe", b'{"a":1}' * 3,
              bytes(rng.getrandbits(8) for _ in range(64))]
    for body in bodies:  # none of these is a request object: each one is a 400, never a 200
        response = api.post(path, content=body, headers={"content-type": "application/json"})
        _check(response)
        assert response.status_code == 400, (body, response.status_code)
        assert response.json()["error"]["type"] == "invalid_request_error"
    for field in VALID[path]:  # each required-looking field missing in turn
        body = {k: v for k, v in VALID[path].items() if k != field}
        _check(api.post(path, json=body))


def test_oversized_body_is_413(make_client):
    api = make_client(max_body_bytes=4096)
    response = api.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [
        {"role": "user", "content": "x" * 10_000}]})
    assert response.status_code == 413
    _check(response)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/files?limit=abc", "/v1/files?limit=-5", "/v1/files?order=sideways",
        "/v1/files/file-doesnotexist", "/v1/files/file-doesnotexist/content", "/v1/responses/resp_nope",
        "/v1/responses/resp_nope/input_items?limit=zero", "/v1/models/%00", "/v1/images/files/nope.png",
    ],
)
def test_bad_query_and_ids_are_4xx(api, path):
    response = api.get(path)
    assert 400 <= response.status_code < 500
    _check(response)


def test_a_body_in_many_chunks_is_read_whole_and_bounded(make_client):
    import json as _json

    api = make_client(max_body_bytes=4096)
    body = _json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "chunked " * 100}]}).encode()
    response = api.post("/v1/chat/completions", content=iter([body[i : i + 64] for i in range(0, len(body), 64)]),
                        headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["object"] == "chat.completion"
    big = _json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 10_000}]}).encode()
    response = api.post("/v1/chat/completions", content=iter([big[i : i + 512] for i in range(0, len(big), 512)]),
                        headers={"content-type": "application/json"})
    assert response.status_code == 413
    _check(response)
