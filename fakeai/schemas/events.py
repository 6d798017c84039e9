"""One server-sent event, as streaming answers frame them (``event:`` line optional, then ``data:``);
the OpenAPI document describes each ``text/event-stream`` answer as a sequence of these."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["ServerSentEvent"]


class ServerSentEvent(msgspec.Struct, kw_only=True):
    data: str  # one JSON object, or the literal [DONE] that ends a chat or completions stream
    event: str | UnsetType = UNSET  # the Responses API and image streams name each event's type
