"""The cassette key: a canonical form of a request and its sha256.

Two requests that mean the same thing must give the same key, whatever the client did with
incidental bytes: JSON key order and whitespace, the random multipart boundary, the order of
query parameters, secrets in headers. The canonical form is a small JSON document::

    {"body": ..., "headers": {...}, "method": "POST", "path": "/v1/chat/completions", "query": [[k, v], ...]}

encoded with sorted object keys (arrays keep their order) — those bytes are stored beside the key
so a person can see what was matched, and the key is the sha256 (hex) of exactly those bytes.

- ``body``: a JSON body parsed and re-encoded; a multipart body as ``{"multipart": {field: value}}``
  where a file part becomes ``{"filename", "content_type", "sha256", "size"}``; anything else as
  ``{"sha256", "size"}`` of its bytes; ``null`` when empty.
- ``--match-ignore a.b`` removes body fields (dotted paths) from the key; ``--redact-field a.b``
  replaces them with ``"[REDACTED]"`` before hashing and storing (so their value never reaches the
  database and does not change the key).
- ``headers``: only those named by ``--match-header`` (lower-cased), plus ``anthropic-version`` and
  ``anthropic-beta`` (they change an Anthropic answer; OpenAI clients never send them); secrets never,
  even if named.
- ``query``: credential parameters (``api-key``, ``key``, ``access_token``, ...) keep their name but
  not their value.

Matchers (in the style of vcrpy's ``matchers.py``) are tiny named functions that pick one part of a
canonical request; ``differences`` names the dotted fields in which two canonical requests differ,
which is what a replay miss shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from fakeai.errors import JSONTooDeepError
from fakeai.providers import ANTHROPIC_MATCHED_HEADERS

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_QUERY",
    "CanonicalRequest",
    "KeyConfig",
    "MATCHERS",
    "canonical_request",
    "decode_request",
    "differences",
    "parse_multipart",
]

REDACTED = "[REDACTED]"

# Never part of a stored request, whatever the flags say.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
    }
)

# Query parameters that carry credentials (Azure-style ``?api-key=``, ``?key=``, OAuth tokens): their
# values are redacted like --redact-field body fields (so they neither reach the database nor the key).
SECRET_QUERY = frozenset({"api-key", "api_key", "key", "access_token", "token"})

_encode_sorted = msgspec.json.Encoder(order="sorted").encode
_decode_any = msgspec.json.Decoder().decode


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """What the flags change about keys; built once per worker from the settings."""

    match_headers: tuple[str, ...] = ()
    match_ignore: tuple[tuple[str, ...], ...] = ()
    redact_headers: frozenset[str] = frozenset()
    redact_fields: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> KeyConfig:
        redact = frozenset(h.lower() for h in settings.redact_header)
        hidden = SECRET_HEADERS | redact
        return cls(
            match_headers=tuple(sorted(({h.lower() for h in settings.match_header} | set(ANTHROPIC_MATCHED_HEADERS)) - hidden)),
            match_ignore=tuple(_split(p) for p in settings.match_ignore),
            redact_headers=redact,
            redact_fields=tuple(_split(p) for p in settings.redact_field),
        )

    def is_secret_query(self, name: str) -> bool:
        name = name.lower()
        return name in SECRET_QUERY or name in self.redact_headers

    def is_secret(self, header: str) -> bool:
        header = header.lower()
        return header in SECRET_HEADERS or header in self.redact_headers


def _split(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.strip().split(".") if part)


@dataclass(frozen=True, slots=True)
class CanonicalRequest:
    key: str  # sha256 hex of ``request``
    request: bytes  # the canonical JSON, as stored
    model: str | None  # the body's "model" field, if any (a column for listing and filtering)


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
    config: KeyConfig = KeyConfig(),
) -> CanonicalRequest:
    """The canonical form and key of one request (``headers`` lower-cased, as ``Exchange`` has them).

    A JSON body nested too deeply to decode or re-encode cannot be keyed: ``JSONTooDeepError`` (400).
    """
    content_type = headers.get("content-type", "")
    try:
        value, model = _canonical_body(body, content_type, config)
        document = {
            "method": method.upper(),
            "path": path,
            "query": sorted([k, REDACTED if config.is_secret_query(k) else v] for k, v in query),
            "headers": {h: headers[h] for h in config.match_headers if h in headers},
            "body": value,
        }
        encoded = _encode_sorted(document)
    except RecursionError:
        raise JSONTooDeepError() from None
    return CanonicalRequest(key=hashlib.sha256(encoded).hexdigest(), request=encoded, model=model)


def decode_request(request: bytes) -> dict[str, Any]:
    """A stored canonical request back as a dict (for display and ``differences``)."""
    return _decode_any(request)


_NOT_JSON = object()


def _canonical_body(body: bytes, content_type: str, config: KeyConfig) -> tuple[Any, str | None]:
    if not body:
        return None, None
    media = content_type.split(";", 1)[0].strip().lower()
    if media.startswith("multipart/form-data"):
        parts = parse_multipart(body, content_type)
        if parts is not None:
            fields = _apply_paths(parts, config)
            model = fields.get("model")
            return {"multipart": fields}, model if isinstance(model, str) else None
    elif media in ("", "application/json") or media.endswith("+json"):
        try:
            value = _decode_any(body)
        except msgspec.DecodeError:
            value = _NOT_JSON
        if value is not _NOT_JSON:
            value = _apply_paths(value, config)
            model = value.get("model") if isinstance(value, dict) else None
            return value, model if isinstance(model, str) else None
    return {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}, None


def _apply_paths(value: Any, config: KeyConfig) -> Any:
    for path in config.redact_fields:
        _visit(value, path, _redact)
    for path in config.match_ignore:
        _visit(value, path, _drop)
    return value


def _redact(container: dict | list, name: str | int) -> None:
    container[name] = REDACTED  # type: ignore[index]


def _drop(container: dict | list, name: str | int) -> None:
    if isinstance(container, dict):
        container.pop(name, None)  # type: ignore[arg-type]
    else:
        container[name] = None  # dropping from an array would shift its neighbours  # type: ignore[index]


def _visit(node: Any, path: tuple[str, ...], action: Callable[[Any, Any], None]) -> None:
    """Apply ``action`` at a dotted path. A number indexes an array, ``*`` (or a name met on an
    array) applies to every element: ``messages.content`` reaches every message's content."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        if head.isdigit():
            index = int(head)
            if index < len(node):
                if rest:
                    _visit(node[index], rest, action)
                else:
                    action(node, index)
            return
        for item in node:
            _visit(item, rest if head == "*" else path, action)
        return
    if not isinstance(node, dict):
        return
    if head == "*":
        for name in list(node):
            if rest:
                _visit(node[name], rest, action)
            else:
                action(node, name)
        return
    if head not in node:
        return
    if rest:
        _visit(node[head], rest, action)
    else:
        action(node, head)


# -- multipart ------------------------------------------------------------------------------------


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any] | None:
    """A multipart/form-data body as ``{name: value}`` (a repeated name gives a list), where a text
    field is its string and a file is described by its name, type, sha256 and size. The boundary
    does not appear in the result. ``None`` when the body is not well-formed multipart."""
    boundary = _boundary(content_type)
    if not boundary:
        return None
    delimiter = b"--" + boundary
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        return None
    fields: dict[str, Any] = {}
    for chunk in chunks[1:-1]:
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.lstrip(b"\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = chunk.partition(b"\n\n")
            if not sep:
                return None
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        part_headers = _part_headers(head)
        disposition = _params(part_headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            return None
        if "filename" in disposition:
            value: Any = {
                "filename": disposition["filename"],
                "content_type": part_headers.get("content-type", "application/octet-stream"),
                "sha256": hashlib.sha256(content).hexdigest(),
                "size": len(content),
            }
        else:
            value = content.decode("utf-8", errors="replace")
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields


def _boundary(content_type: str) -> bytes | None:
    boundary = _params(content_type).get("boundary")
    return boundary.encode("latin-1") if boundary else None


def _part_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", errors="replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _params(header: str) -> dict[str, str]:
    """``form-data; name="file"; filename="a.jsonl"`` → ``{"name": "file", "filename": "a.jsonl"}``."""
    out: dict[str, str] = {}
    for piece in header.split(";")[1:]:
        name, sep, value = piece.strip().partition("=")
        if sep:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"')
            out[name.strip().lower()] = value
    return out


# -- matchers -------------------------------------------------------------------------------------
# Each picks one part of a canonical request (a dict from ``decode_request``); two requests match
# when every matcher gives equal values — which is what equal keys already guarantee. They name
# the parts for ``differences`` (the nearest-miss explanation) and for tools built on cassettes.


def method(request: dict[str, Any]) -> Any:
    return request.get("method")


def path(request: dict[str, Any]) -> Any:
    return request.get("path")


def query(request: dict[str, Any]) -> Any:
    return request.get("query")


def headers(request: dict[str, Any]) -> Any:
    return request.get("headers")


def body(request: dict[str, Any]) -> Any:
    return request.get("body")


MATCHERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "method": method,
    "path": path,
    "query": query,
    "headers": headers,
    "body": body,
}


def differences(a: dict[str, Any], b: dict[str, Any], limit: int = 20) -> list[str]:
    """Dotted paths at which two canonical requests differ, e.g. ``["body.temperature",
    "body.messages.0.content"]`` (at most ``limit``, in document order)."""
    out: list[str] = []
    for name, matcher in MATCHERS.items():
        _diff(matcher(a), matcher(b), name, out, limit)
    return out[:limit]


def _diff(a: Any, b: Any, where: str, out: list[str], limit: int) -> None:
    if len(out) >= limit or a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for name in sorted(a.keys() | b.keys()):
            if name not in a or name not in b:
                out.append(f"{where}.{name}")
            else:
                _diff(a[name], b[name], f"{where}.{name}", out, limit)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{where}.{index}", out, limit)
        return
    out.append(where)
