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

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import msgspec

from fakeai.store.cassette_admin import AdminError, CassetteAdmin, Filters, UpsertCounts
from fakeai.store.cassettes import pack_events, unpack_events

__all__ = [
    "CassetteFileError",
    "ExportResult",
    "FORMAT_VERSION",
    "decode_value",
    "encode_value",
    "export_directory",
    "file_name",
    "import_paths",
    "load_directory",
    "read_file",
    "rows_to_document",
]

FORMAT_VERSION = 1
SHORT = 12  # hex digits of the key in a file name: unique among millions of cassettes


class CassetteFileError(click.ClickException):
    """A cassette file or directory that cannot be used; one line, exit code 2 from the CLI."""

    exit_code = 2


# -- exact bytes <-> readable values ---------------------------------------------------------------

_compact = msgspec.json.encode
_decode_json = msgspec.json.decode

# Serialisations tried in order; the first that gives back the exact bytes is named in the file.
JSON_FORMS: dict[str, Callable[[Any], bytes]] = {
    "json": _compact,  # msgspec, serde/pydantic, JavaScript: shortest floats (1e-7), raw UTF-8
    "json-py": lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode(),  # Starlette
    "json-indent-2": lambda v: json.dumps(v, indent=2, ensure_ascii=False).encode(),
    "json-indent-2-msgspec": lambda v: msgspec.json.format(_compact(v), indent=2),
    "json-spaced": lambda v: json.dumps(v, ensure_ascii=False).encode(),
    "json-py-ascii": lambda v: json.dumps(v, separators=(",", ":")).encode(),
    "json-indent-2-ascii": lambda v: json.dumps(v, indent=2).encode(),
    "json-spaced-ascii": lambda v: json.dumps(v).encode(),
    "json-indent-4": lambda v: json.dumps(v, indent=4, ensure_ascii=False).encode(),
}
_SUFFIX = re.compile(rb"[ \t\r\n]*\Z")


@dataclass(frozen=True, slots=True)
class Encoded:
    encoding: str
    value: Any
    suffix: str = ""


def encode_value(data: bytes, prefer: str | None = None) -> Encoded:
    """The most readable exact form of ``data``: JSON when one of ``JSON_FORMS`` reproduces it
    (``prefer`` is tried first, so the events of one stream share one encoding), else text, else base64."""
    match = _SUFFIX.search(data)
    core, suffix = data[: match.start()], data[match.start() :]
    if core[:1] in b'{["' or core[:1].isdigit() or core[:1] in (b"-", b"t", b"f", b"n"):
        try:
            value = _decode_json(core)
        except (msgspec.DecodeError, UnicodeDecodeError):
            value = _NOT_JSON
        if value is not _NOT_JSON:
            names = ([prefer] if prefer in JSON_FORMS else []) + [n for n in JSON_FORMS if n != prefer]
            for name in names:
                try:
                    exact = JSON_FORMS[name](value) == core
                except (TypeError, ValueError, OverflowError):
                    exact = False
                if exact:
                    return Encoded(name, value, suffix.decode())
    try:
        return Encoded("text", data.decode("utf-8"))
    except UnicodeDecodeError:
        return Encoded("base64", base64.b64encode(data).decode("ascii"))


_NOT_JSON = object()


def decode_value(encoding: str, value: Any, suffix: str = "") -> bytes:
    """The exact bytes back from ``encode_value``'s form; ``ValueError`` for a form it cannot read."""
    if encoding in JSON_FORMS:
        return JSON_FORMS[encoding](value) + suffix.encode()
    if encoding == "text":
        if not isinstance(value, str):
            raise ValueError("a 'text' value must be a string")
        return value.encode("utf-8")
    if encoding == "base64":
        if not isinstance(value, str):
            raise ValueError("a 'base64' value must be a string")
        return base64.b64decode(value, validate=True)
    raise ValueError(f"unknown encoding {encoding!r}")


# -- stream events ---------------------------------------------------------------------------------

_EVENT = re.compile(rb"\A(?:event: ?([^\r\n]*)\n)?data: ?([^\r\n]*)\n\n\Z")


def _encode_event(offset: float, frame: bytes, prefer: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"t": offset}
    match = _EVENT.match(frame)
    if match is not None:
        name, data = match.groups()
        if name is not None:
            out["event"] = name.decode("utf-8", "replace")
        encoded = encode_value(data, prefer)
        if encoded.encoding in JSON_FORMS and not encoded.suffix:
            if encoded.encoding != prefer:
                out["encoding"] = encoded.encoding
            out["data"] = encoded.value
        elif encoded.encoding == "text":
            out["text"] = encoded.value
        if ("data" in out or "text" in out) and _decode_event(out, prefer) == frame:
            return out
        out = {"t": offset}
    try:
        out["raw"] = frame.decode("utf-8")
    except UnicodeDecodeError:
        out["raw_base64"] = base64.b64encode(frame).decode("ascii")
    return out


def _decode_event(event: dict[str, Any], data_encoding: str | None) -> bytes:
    if "raw" in event:
        return str(event["raw"]).encode("utf-8")
    if "raw_base64" in event:
        return base64.b64decode(event["raw_base64"], validate=True)
    head = b"event: " + str(event["event"]).encode() + b"\n" if "event" in event else b""
    if "text" in event:
        data = str(event["text"]).encode("utf-8")
    elif "data" in event:
        encoding = event.get("encoding", data_encoding)
        if encoding not in JSON_FORMS:
            raise ValueError(f"unknown data encoding {encoding!r}")
        data = JSON_FORMS[encoding](event["data"])
    else:
        raise ValueError("an event needs 'data', 'text', 'raw' or 'raw_base64'")
    if b"\n" in data or b"\r" in data:
        raise ValueError("event data must be a single line")
    return head + b"data: " + data + b"\n\n"


def _common_data_encoding(frames: list[tuple[float, bytes]]) -> str:
    """The serialisation that reproduces the most of a stream's events (an ASCII-only event is
    reproduced by several; the one that also fits the others wins, so few events need their own).
    Forms are tried in order and the first that fits every sampled event ends the search."""
    sample: list[tuple[Any, bytes]] = []
    for _, frame in frames[:50]:
        match = _EVENT.match(frame)
        if match is not None:
            try:
                sample.append((_decode_json(match.group(2)), match.group(2)))
            except msgspec.DecodeError:
                continue
    best, best_count = "json", 0
    for name, form in JSON_FORMS.items():
        count = 0
        for value, data in sample:
            try:
                count += form(value) == data
            except (TypeError, ValueError, OverflowError):
                pass
        if count > best_count:
            best, best_count = name, count
        if count == len(sample):
            break
    return best


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
        prefer = _common_data_encoding(frames)
        out["data_encoding"] = prefer
        out["events"] = [_encode_event(offset, frame, prefer) for offset, frame in frames]
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
        frames = [(_offset(e), _decode_event(e, prefer)) for e in _field(episode, "events", list)]
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
    text = msgspec.json.format(_compact(shaped), indent=2).decode("utf-8")
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


def cassette_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The ``*.json`` files named, and those under the directories named, in a stable order."""
    for item in paths:
        path = Path(item)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise CassetteFileError(f"no such file or directory: {path}")


# -- export / import -------------------------------------------------------------------------------


@dataclass(slots=True)
class ExportResult:
    cassettes: int = 0
    written: int = 0  # files created or changed
    unchanged: int = 0
    stale: list[Path] | None = None  # cassette files in the directory no longer in the database
    removed: int = 0


def export_directory(
    admin: CassetteAdmin, out: str | os.PathLike[str], *, filters: Filters = Filters(), clean: bool = False
) -> ExportResult:
    """Write one file per cassette under ``out`` (only files whose content changed are touched).
    Files there for cassettes no longer in the database are reported as stale, removed with ``clean``."""
    root = Path(out)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CassetteFileError(f"cannot create {root}: {exc}") from None
    result = ExportResult(stale=[])
    kept: set[str] = set()  # names relative to root
    for rows in _grouped(admin.iter_rows(filters)):
        document = rows_to_document(rows)
        text = dumps(document)
        _verify(rows, text)
        name = file_name(rows[0]["path"], rows[0]["key"])
        target = root / name
        kept.add(name)
        result.cassettes += 1
        try:
            if target.is_file() and target.read_text(encoding="utf-8") == text:
                result.unchanged += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".json.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            raise CassetteFileError(f"cannot write {target}: {exc}") from None
        result.written += 1
    for existing in sorted(root.rglob("*.json")):
        if existing.relative_to(root).as_posix() in kept or not _looks_like_cassette(existing):
            continue
        result.stale.append(existing)
        if clean:
            existing.unlink()
            result.removed += 1
    return result


def _looks_like_cassette(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as fh:
            return '"fakeai_cassette"' in fh.read(200)
    except (OSError, UnicodeDecodeError):
        return False


def _grouped(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    group: list[dict[str, Any]] = []
    for row in rows:
        if group and row["key"] != group[0]["key"]:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


_EXACT = ("request", "headers", "body", "status", "stream", "episode", "recorded_at")


def _verify(rows: list[dict[str, Any]], text: str) -> None:
    """Read the text back as an import would and insist on the same bytes (a bug here would
    otherwise surface much later, as a replay that differs from the recording)."""
    again = document_to_rows(json.loads(text))
    for old, new in zip(rows, again, strict=True):
        same = all(_bytes(old[name]) == _bytes(new[name]) for name in _EXACT)
        if old["events"] is not None or new["events"] is not None:
            same = same and unpack_events(bytes(old["events"])) == unpack_events(new["events"])
        if not same:
            raise CassetteFileError(f"cassette {old['key'][:SHORT]}: export would not reproduce the recorded bytes")


def _bytes(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def import_paths(admin: CassetteAdmin, paths: Iterable[str | os.PathLike[str]]) -> tuple[int, UpsertCounts]:
    """Load cassette files (or directories of them) into the database in one transaction;
    every file is read and checked before anything is written. Returns (files, counts)."""
    rows: list[dict[str, Any]] = []
    files = 0
    seen: dict[tuple[str, int], Path] = {}
    for path in cassette_files(paths):
        for row in read_file(path):
            where = (row["key"], row["episode"])
            if where in seen and seen[where] != path:
                raise CassetteFileError(f"{path}: cassette {row['key'][:SHORT]} episode {row['episode']} also in {seen[where]}")
            seen[where] = path
            rows.append(row)
        files += 1
    return files, admin.upsert(rows)


def load_directory(settings: Any, path: str | os.PathLike[str]) -> UpsertCounts:
    """``fakeai serve --cassettes DIR``: load an exported directory into ``settings.db`` before
    serving. A missing directory or a corrupt file stops the start with a one-line error (exit 2)."""
    root = Path(path)
    if not root.is_dir():
        raise CassetteFileError(f"--cassettes {path}: not a directory")
    try:
        with CassetteAdmin(settings.db_url, create=True) as admin:
            files, counts = import_paths(admin, [root])
    except AdminError as exc:
        raise CassetteFileError(str(exc)) from None
    click.echo(
        f"cassettes: {files} files from {root} ({counts.inserted} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged episodes)",
        err=True,
    )
    return counts
