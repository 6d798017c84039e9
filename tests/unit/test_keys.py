"""The canonical request and its key: what changes the key and what must not."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from fakeai.modes import keys
from fakeai.modes.keys import KeyConfig, canonical_request, decode_request, differences, parse_multipart
from fakeai.settings import Settings

JSON_HEADERS = {"content-type": "application/json"}


def key(body: bytes = b"", *, method: str = "POST", path: str = "/v1/chat/completions", query=(), headers=None, config=KeyConfig()):  # noqa: ANN001, ANN201
    return canonical_request(method, path, list(query), headers or JSON_HEADERS, body, config)


def config(**settings) -> KeyConfig:  # noqa: ANN003
    return KeyConfig.from_settings(Settings(**settings))


def test_json_key_order_and_whitespace_do_not_matter() -> None:
    a = key(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 1}')
    b = key(b'{\n  "n":1,"messages":[{"content":"hi","role":"user"}],\n "model":"m"}')
    assert a.key == b.key
    assert a.request == b.request
    assert a.key == hashlib.sha256(a.request).hexdigest()
    assert a.model == "m"


def test_array_order_method_path_and_values_do_matter() -> None:
    base = key(b'{"input": ["a", "b"]}')
    assert key(b'{"input": ["b", "a"]}').key != base.key
    assert key(b'{"input": ["a", "b"]}', method="PUT").key != base.key
    assert key(b'{"input": ["a", "b"]}', path="/v1/embeddings").key != base.key
    assert key(b'{"input": ["a", "c"]}').key != base.key
    assert key(b'{"input": ["a", "b"], "x": null}').key != base.key


def test_query_is_sorted() -> None:
    a = key(method="GET", path="/v1/files", query=[("limit", "2"), ("order", "asc")])
    b = key(method="GET", path="/v1/files", query=[("order", "asc"), ("limit", "2")])
    c = key(method="GET", path="/v1/files", query=[("order", "desc"), ("limit", "2")])
    assert a.key == b.key != c.key
    assert decode_request(a.request)["query"] == [["limit", "2"], ["order", "asc"]]


def test_credentials_in_the_query_are_redacted() -> None:
    a = key(method="GET", path="/v1/models", query=[("api-key", "secret-1"), ("limit", "2")])
    b = key(method="GET", path="/v1/models", query=[("api-key", "secret-2"), ("limit", "2")])
    assert a.key == b.key and b"secret" not in a.request
    assert decode_request(a.request)["query"] == [["api-key", keys.REDACTED], ["limit", "2"]]


def _multipart(boundary: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    request = httpx.Request(
        "POST",
        "http://x/v1/files",
        data={"purpose": "batch"},
        files={"file": ("a.jsonl", data, "application/jsonl")},
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    return request.read(), {"content-type": request.headers["content-type"]}


def test_multipart_boundary_does_not_matter_but_file_bytes_do() -> None:
    body1, headers1 = _multipart("aaaa1111", b'{"x": 1}\n')
    body2, headers2 = _multipart("bbbb2222zz", b'{"x": 1}\n')
    body3, headers3 = _multipart("aaaa1111", b'{"x": 2}\n')
    assert body1 != body2
    k1 = key(body1, path="/v1/files", headers=headers1)
    k2 = key(body2, path="/v1/files", headers=headers2)
    k3 = key(body3, path="/v1/files", headers=headers3)
    assert k1.key == k2.key != k3.key
    fields = decode_request(k1.request)["body"]["multipart"]
    assert fields["purpose"] == "batch"
    assert fields["file"] == {
        "filename": "a.jsonl",
        "content_type": "application/jsonl",
        "sha256": hashlib.sha256(b'{"x": 1}\n').hexdigest(),
        "size": 9,
    }


def test_parse_multipart_repeated_fields_and_garbage() -> None:
    body = (
        b"--B\r\ncontent-disposition: form-data; name=\"tag\"\r\n\r\none\r\n"
        b"--B\r\ncontent-disposition: form-data; name=\"tag\"\r\n\r\ntwo\r\n--B--\r\n"
    )
    assert parse_multipart(body, "multipart/form-data; boundary=B") == {"tag": ["one", "two"]}
    assert parse_multipart(b"nothing", "multipart/form-data; boundary=B") is None
    assert parse_multipart(body, "multipart/form-data") is None


def test_non_json_bodies_are_hashed_and_empty_is_null() -> None:
    raw = key(b"\x00\x01binary", headers={"content-type": "application/octet-stream"})
    assert decode_request(raw.request)["body"] == {"sha256": hashlib.sha256(b"\x00\x01binary").hexdigest(), "size": 8}
    broken = key(b"{not json")
    assert decode_request(broken.request)["body"]["size"] == 9
    assert decode_request(key(method="GET", path="/v1/models").request)["body"] is None


def test_match_ignore_drops_fields_from_the_key() -> None:
    cfg = config(match_ignore=("seed", "metadata.run_id", "messages.name"))
    a = key(b'{"seed": 1, "metadata": {"run_id": "a", "keep": 1}, "messages": [{"content": "x", "name": "p"}]}', config=cfg)
    b = key(b'{"seed": 2, "metadata": {"run_id": "b", "keep": 1}, "messages": [{"content": "x", "name": "q"}]}', config=cfg)
    c = key(b'{"seed": 2, "metadata": {"run_id": "b", "keep": 2}, "messages": [{"content": "x", "name": "q"}]}', config=cfg)
    assert a.key == b.key != c.key
    assert decode_request(a.request)["body"] == {"metadata": {"keep": 1}, "messages": [{"content": "x"}]}


def test_match_ignore_array_index_and_wildcard() -> None:
    cfg = config(match_ignore=("input.1", "tools.*.id"))
    a = key(b'{"input": ["a", "b"], "tools": [{"id": 1, "t": "f"}]}', config=cfg)
    b = key(b'{"input": ["a", "z"], "tools": [{"id": 2, "t": "f"}]}', config=cfg)
    assert a.key == b.key
    assert decode_request(a.request)["body"]["input"] == ["a", None]  # the neighbours keep their place


def test_redact_field_replaces_before_hashing_and_storing() -> None:
    cfg = config(redact_field=("user", "metadata.card"))
    a = key(b'{"user": "alice-secret", "metadata": {"card": "4111"}, "model": "m"}', config=cfg)
    b = key(b'{"user": "bob-secret", "metadata": {"card": "5555"}, "model": "m"}', config=cfg)
    assert a.key == b.key
    assert b"alice-secret" not in a.request and b"4111" not in a.request
    assert decode_request(a.request)["body"]["user"] == keys.REDACTED


def test_match_header_joins_the_key_but_secrets_never_do() -> None:
    cfg = config(match_header=("OpenAI-Beta", "Authorization", "X-Team"), redact_header=("X-Team",))
    assert cfg.match_headers == ("anthropic-beta", "anthropic-version", "openai-beta")
    a = key(b"{}", headers={**JSON_HEADERS, "openai-beta": "assistants=v2", "authorization": "Bearer sk-1", "x-team": "t"}, config=cfg)
    b = key(b"{}", headers={**JSON_HEADERS, "openai-beta": "assistants=v2", "authorization": "Bearer sk-2"}, config=cfg)
    c = key(b"{}", headers={**JSON_HEADERS, "openai-beta": "assistants=v1"}, config=cfg)
    assert a.key == b.key != c.key
    assert decode_request(a.request)["headers"] == {"openai-beta": "assistants=v2"}
    assert b"sk-1" not in a.request
    # Without --match-header, headers never matter.
    plain = key(b"{}", headers={**JSON_HEADERS, "openai-beta": "x", "user-agent": "y"})
    assert plain.key == key(b"{}").key


# Written out here, not read from the product: deleting one from keys.SECRET_HEADERS must fail a test.
NEVER_STORED = [
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "cookie",
    "set-cookie",
    "openai-organization",
    "openai-project",
]


@pytest.mark.parametrize("name", NEVER_STORED)
def test_secret_headers(name: str) -> None:
    assert KeyConfig().is_secret(name) and KeyConfig().is_secret(name.upper())
    assert config(redact_header=("X-Mine",)).is_secret("x-mine")
    # Named by --match-header, the header still never reaches the key or the stored request.
    named = config(match_header=(name, "openai-beta"))
    secret = "secret-value-of-" + name
    request = key(b"{}", headers={**JSON_HEADERS, name: secret, "openai-beta": "v2"}, config=named)
    assert secret.encode() not in request.request
    assert decode_request(request.request)["headers"] == {"openai-beta": "v2"}
    other = key(b"{}", headers={**JSON_HEADERS, name: "another-" + secret, "openai-beta": "v2"}, config=named)
    assert other.key == request.key


def test_canonical_form_is_sorted_json() -> None:
    request = key(b'{"b": 1, "a": {"d": 2, "c": 3}}').request
    assert request == json.dumps(json.loads(request), sort_keys=True, separators=(",", ":")).encode()


def test_matchers_and_differences() -> None:
    a = decode_request(key(b'{"model": "m", "messages": [{"content": "hi"}], "temperature": 0.5}').request)
    b = decode_request(key(b'{"model": "m", "messages": [{"content": "ho"}], "top_p": 1}').request)
    assert keys.method(a) == "POST" and keys.path(a) == "/v1/chat/completions"
    assert keys.body(a)["model"] == "m" and keys.query(a) == [] and keys.headers(a) == {}
    assert differences(a, a) == []
    assert differences(a, b) == ["body.messages.0.content", "body.temperature", "body.top_p"]
    c = decode_request(key(b'{"model": "m"}', method="GET", path="/v1/x", query=[("a", "1")]).request)
    assert differences(a, c)[:3] == ["method", "path", "query"]
    assert len(differences(a, c, limit=2)) == 2
