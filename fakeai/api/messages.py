"""Anthropic's Messages API: POST /v1/messages and POST /v1/messages/count_tokens.

Errors on these routes (and on any request sent with ``anthropic-version``) are rendered in
Anthropic's shape by ``errors.py``; the app adds Anthropic's ``request-id`` header.
"""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import messages as synthetic
from fakeai.schemas.anthropic import CountTokensRequest, MessagesRequest

__all__ = ["HANDLERS"]

_MESSAGES = msgspec.json.Decoder(MessagesRequest)
_COUNT = msgspec.json.Decoder(CountTokensRequest)


@post("/messages", status_code=200)
async def create_message(request: Request) -> Response:
    return await answer_json(request, _MESSAGES, synthetic.create_message)


@post("/messages/count_tokens", status_code=200)
async def count_tokens(request: Request) -> Response:
    return await answer_json(request, _COUNT, synthetic.count_message_tokens_answer)


HANDLERS = [create_message, count_tokens]
