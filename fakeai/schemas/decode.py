"""Decoding request bodies into Structs, with errors a client can act on."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from fakeai.errors import InvalidRequestError, JSONTooDeepError

__all__ = ["decode_json", "encode_json", "param_of"]

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
encode_json = _encoder.encode

# msgspec says where a value is wrong as "... - at `$.messages[0].role`"; missing fields as
# "Object missing required field `model`" (possibly "- at `$.tools[0]`").
_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")


def param_of(message: str) -> tuple[str, str | None]:
    """Split a msgspec validation message into (human message, OpenAI ``param``)."""
    at = _AT.search(message)
    path = at.group("path") if at else ""
    text = message[: at.start()] if at else message
    missing = _MISSING.search(text)
    if missing:
        field = missing.group("field")
        path = f"{path}.{field}" if path else field
        return f"Missing required parameter: '{path}'.", path
    return (f"Invalid value for '{path}': {text}." if path else f"{text}."), (path or None)


def decode_json(body: bytes, type_: type[T], decoder: msgspec.json.Decoder | None = None) -> T:
    """Decode and validate ``body``; raise ``InvalidRequestError`` (400) with ``param`` set."""
    if not body.strip():
        raise InvalidRequestError(
            "We could not parse the JSON body of your request: the body is empty. "
            "(HINT: send a JSON object with Content-Type: application/json.)"
        )
    try:
        if decoder is not None:
            return decoder.decode(body)
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        message, param = param_of(str(exc))
        raise InvalidRequestError(message, param=param) from None
    except RecursionError:  # msgspec's answer to {"a":{"a":...}} past the recursion limit
        raise JSONTooDeepError() from None
    except msgspec.DecodeError as exc:
        raise InvalidRequestError(
            f"We could not parse the JSON body of your request ({exc}). "
            "(HINT: This likely means you aren't using your HTTP library correctly.)"
        ) from None


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)
