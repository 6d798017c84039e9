"""Exact bytes <-> readable values: which serialisation gives a recorded body or stream event back
byte for byte, so a cassette file can show JSON as JSON and still replay exactly."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = [
    "JSON_FORMS",
    "Encoded",
    "common_data_encoding",
    "decode_event",
    "decode_value",
    "encode_event",
    "encode_value",
]

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
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            value = _NOT_JSON
        if value is not _NOT_JSON:
            names = ([prefer] if prefer in JSON_FORMS else []) + [n for n in JSON_FORMS if n != prefer]
            for name in names:
                try:
                    exact = JSON_FORMS[name](value) == core
                except (TypeError, ValueError, OverflowError, RecursionError):
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


def encode_event(offset: float, frame: bytes, prefer: str | None) -> dict[str, Any]:
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
        if ("data" in out or "text" in out) and decode_event(out, prefer) == frame:
            return out
        out = {"t": offset}
    try:
        out["raw"] = frame.decode("utf-8")
    except UnicodeDecodeError:
        out["raw_base64"] = base64.b64encode(frame).decode("ascii")
    return out


def decode_event(event: dict[str, Any], data_encoding: str | None) -> bytes:
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


def common_data_encoding(frames: list[tuple[float, bytes]]) -> str:
    """The serialisation that reproduces the most of a stream's events (an ASCII-only event is
    reproduced by several; the one that also fits the others wins, so few events need their own).
    Forms are tried in order and the first that fits every sampled event ends the search."""
    sample: list[tuple[Any, bytes]] = []
    for _, frame in frames[:50]:
        match = _EVENT.match(frame)
        if match is not None:
            try:
                sample.append((_decode_json(match.group(2)), match.group(2)))
            except (msgspec.DecodeError, RecursionError):
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
