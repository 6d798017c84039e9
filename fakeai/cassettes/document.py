"""Cassettes as files a person can review: one pretty-printed JSON document per cassette.

``fakeai cassettes export`` writes, and ``import`` / ``serve --cassettes DIR`` read, a directory of::

    <endpoint slug>/<first 12 hex digits of the key>.json      e.g. chat-completions/3f2a9c1b04d7.json

One file per cassette *key*; its episodes (the same request recorded several times, replayed in
order) are a list inside. Every file has the same key order, JSON bodies are written as JSON (not
escaped strings), and a stream is a list of events, one line each, with its offset in
milliseconds — so a re-recording shows up in ``git diff`` as a few changed lines::

    {
      "fakeai_cassette": 1,
      "key": "3f2a9c1b04d7...",
      "method": "POST",
      "path": "/v1/chat/completions",
      "model": "gpt-4o",
      "request_encoding": "json",
      "request": {"body": {...}, "headers": {}, "method": "POST", ...},
      "episodes": [
        {
          "episode": 0,
          "recorded_at": "2026-11-25T21:58:32.123456",
          "upstream": "http://127.0.0.1:9000/v1",
          "status": 200,
          "headers": {"content-type": "text/event-stream; charset=utf-8"},
          "stream": true,
          "data_encoding": "json",
          "events": [
            {"t": 12.5, "data": {"id": "chatcmpl-1", "choices": [...]}},
            {"t": 13.1, "text": "[DONE]"}
          ]
        }
      ]
    }

Replay is byte for byte, so beside each readable value the file says how to get the exact bytes
back (``*_encoding``), chosen at export time by re-serialising and comparing:

- ``json``: compact with shortest floats (``{"a":1e-7}``: FakeAI, msgspec, pydantic, JavaScript);
  ``json-py`` / ``json-py-ascii``: compact from Python's ``json`` (``1e-07``; Starlette, FastAPI);
  ``json-spaced`` / ``json-spaced-ascii``: Python's default ``{"a": 1}``; ``json-indent-2`` /
  ``json-indent-2-ascii`` / ``json-indent-2-msgspec`` / ``json-indent-4``: pretty-printed, as OpenAI,
  vLLM and many servers send (``-ascii``: non-ASCII escaped). Any of them may carry a ``*_suffix``
  (usually ``"\\n"``) that followed the document;
- ``text``: the value is the exact UTF-8 text (JSON no serialisation reproduces, plain text);
- ``base64``: the raw bytes, only where nothing above is exact (binary file contents).

A stream event is ``{"t", "event"?, "data"}`` (data serialised with the episode's ``data_encoding``
or the event's own ``encoding``), ``{"t", "event"?, "text"}`` for non-JSON data such as ``[DONE]``,
or ``{"t", "raw"}`` / ``{"t", "raw_base64"}`` for an event framed any other way. What is not
recorded content — hits, last use — is not exported, so replaying never dirties the files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import msgspec

from fakeai.cassettes.encoding import (
    common_data_encoding,
    decode_event,
    decode_value,
    encode_event,
    encode_value,
)
from fakeai.store.cassettes import pack_events, unpack_events

__all__ = [
    "CassetteFileError",
    "FORMAT_VERSION",
    "SHORT",
    "document_to_rows",
    "dumps",
    "file_name",
    "read_file",
    "rows_to_document",
]

FORMAT_VERSION = 1
SHORT = 12  # hex digits of the key in a file name: unique among millions of cassettes


class CassetteFileError(click.ClickException):
    """A cassette file or directory that cannot be used; one line, exit code 2 from the CLI."""

    exit_code = 2


# -- rows <-> documents ----------------------------------------------------------------------------


def file_name(path: str, key: str) -> str:
    """``/v1/chat/completions`` + key → ``chat-completions/<12 hex>.json`` (POSIX separators)."""
    trimmed = path.strip("/")
    if trimmed.startswith("v1/"):
        trimmed = trimmed[3:]
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", trimmed).strip("-.")[:80] or "root"
    return f"{slug}/{key[:SHORT]}.json"


def rows_to_document(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The file document for the episodes (rows of one key, in episode order)."""
    first = rows[0]
    request = encode_value(bytes(first["request"]))
    document: dict[str, Any] = {
        "fakeai_cassette": FORMAT_VERSION,
        "key": first["key"],
        "method": first["method"],
        "path": first["path"],
        "model": first["model"],
        "request_encoding": request.encoding,
    }
    if request.suffix:
        document["request_suffix"] = request.suffix
    document["request"] = request.value
    document["episodes"] = [_episode_document(row) for row in rows]
    return document


def _episode_document(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "episode": row["episode"],
        "recorded_at": row["recorded_at"].isoformat(),
        "upstream": row["upstream"],
        "status": row["status"],
    }
    if row.get("duration_ms") is not None:  # how long the upstream took: --replay-speed > 0 uses it
        out["duration_ms"] = row["duration_ms"]
    headers = encode_value(bytes(row["headers"]))
    if headers.encoding != "json" or headers.suffix:
        out["headers_encoding"] = headers.encoding
        if headers.suffix:
            out["headers_suffix"] = headers.suffix
    out["headers"] = headers.value
    out["stream"] = bool(row["stream"])
    if row["events"] is not None:
        frames = unpack_events(bytes(row["events"]))
        prefer = common_data_encoding(frames)
        out["data_encoding"] = prefer
        out["events"] = [encode_event(offset, frame, prefer) for offset, frame in frames]
    if row["body"] is not None:
        body = encode_value(bytes(row["body"]))
        out["body_encoding"] = body.encoding
        if body.suffix:
            out["body_suffix"] = body.suffix
        out["body"] = body.value
    return out


def document_to_rows(document: Any) -> list[dict[str, Any]]:
    """Table rows (content columns) from a file document; ``ValueError`` says what is wrong."""
    if not isinstance(document, dict) or document.get("fakeai_cassette") != FORMAT_VERSION:
        raise ValueError(f"not a FakeAI cassette file (expected \"fakeai_cassette\": {FORMAT_VERSION})")
    key = _field(document, "key", str)
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        raise ValueError("'key' must be 64 lower-case hex digits")
    method = _field(document, "method", str)
    path = _field(document, "path", str)
    model = document.get("model")
    request = decode_value(
        _field(document, "request_encoding", str), document.get("request"), document.get("request_suffix", "")
    )
    actual = hashlib.sha256(request).hexdigest()
    if actual != key:
        # Replay looks cassettes up by the hash of the incoming request, so an edited request
        # would silently never match; say so instead.
        raise ValueError(f"the request hashes to {actual}, not to the file's key (was the request edited?)")
    episodes = _field(document, "episodes", list)
    if not episodes:
        raise ValueError("'episodes' is empty")
    rows = []
    for position, episode in enumerate(episodes):
        try:
            rows.append(_episode_row(episode, key, method, path, request, model))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"episode #{position}: {exc}") from None
    return rows


def _episode_row(
    episode: Any, key: str, method: str, path: str, request: bytes, model: Any
) -> dict[str, Any]:
    if not isinstance(episode, dict):
        raise ValueError("must be an object")
    stream = bool(_field(episode, "stream", bool))
    events_blob = body = None
    size = 0
    if "events" in episode:
        prefer = episode.get("data_encoding", "json")
        frames = [(_offset(e), decode_event(e, prefer)) for e in _field(episode, "events", list)]
        events_blob = pack_events(frames)
        size = sum(len(frame) for _, frame in frames)
    if "body" in episode or "body_encoding" in episode:
        body = decode_value(
            _field(episode, "body_encoding", str), episode.get("body"), episode.get("body_suffix", "")
        )
        size = len(body)
    if events_blob is None and body is None:
        raise ValueError("needs 'body' or 'events'")
    headers = decode_value(
        episode.get("headers_encoding", "json"), _field(episode, "headers", dict), episode.get("headers_suffix", "")
    )
    status = _field(episode, "status", int)
    upstream = episode.get("upstream")
    if upstream is not None and not isinstance(upstream, str):
        raise ValueError("'upstream' must be a string or null")
    duration = episode.get("duration_ms")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        raise ValueError("'duration_ms' must be a number or null")
    return {
        "key": key,
        "episode": _field(episode, "episode", int),
        "method": method,
        "path": path,
        "request": request,
        "model": model if isinstance(model, str) else None,
        "upstream": upstream,
        "status": status,
        "headers": headers,
        "stream": stream,
        "body": body,
        "events": events_blob,
        "size": size,
        "recorded_at": datetime.fromisoformat(_field(episode, "recorded_at", str)),
        "duration_ms": float(duration) if duration is not None else None,
    }


def _field(container: dict[str, Any], name: str, kind: type) -> Any:
    if name not in container:
        raise ValueError(f"missing {name!r}")
    value = container[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{name!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _offset(event: Any) -> float:
    if not isinstance(event, dict):
        raise ValueError("an event must be an object")
    t = event.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
        raise ValueError("an event's 't' must be a non-negative number of milliseconds")
    return float(t)


# -- the file text ---------------------------------------------------------------------------------


def dumps(document: dict[str, Any]) -> str:
    """Pretty JSON (2 spaces, key order as built) with each stream event on one line."""
    lines: dict[str, str] = {}
    nonce = os.urandom(6).hex()  # so no string in a body can pass for a placeholder
    shaped = dict(document)
    shaped["episodes"] = []
    for episode in document["episodes"]:
        if "events" in episode:
            episode = dict(episode)
            placeholders = []
            for event in episode["events"]:
                mark = f"@@fakeai-event-{nonce}-{len(lines)}@@"
                lines[f'"{mark}"'] = _one_line(event)
                placeholders.append(mark)
            episode["events"] = placeholders
        shaped["episodes"].append(episode)
    text = msgspec.json.format(msgspec.json.encode(shaped), indent=2).decode("utf-8")
    if lines:
        text = _PLACEHOLDER.sub(lambda m: lines[m.group(0)], text)
    return text + "\n"


_PLACEHOLDER = re.compile(r'"@@fakeai-event-[0-9a-f]{12}-\d+@@"')


def _one_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def read_file(path: Path) -> list[dict[str, Any]]:
    """The rows of one cassette file; ``CassetteFileError`` names the file and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteFileError(f"cannot read {path}: {exc}") from None
    try:
        return document_to_rows(json.loads(text))
    except json.JSONDecodeError as exc:
        raise CassetteFileError(f"{path}: corrupt JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (ValueError, TypeError) as exc:
        raise CassetteFileError(f"{path}: {exc}") from None
