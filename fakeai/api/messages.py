"""Anthropic's Messages API: POST /v1/messages and POST /v1/messages/count_tokens.

Errors on these routes (and on any request sent with ``anthropic-version``) are rendered in
Anthropic's shape by ``errors.py``; the app adds Anthropic's ``request-id`` header.
"""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.openapi import ANTHROPIC_SECURITY, documented
from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import lazy
from fakeai.schemas.anthropic import (
    AnthropicError,
    CountTokensRequest,
    Message,
    MessageParam,
    MessagesRequest,
    TokensCount,
)

synthetic = lazy("messages")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["HANDLERS"]

_MESSAGES = msgspec.json.Decoder(MessagesRequest)
_COUNT = msgspec.json.Decoder(CountTokensRequest)
_HELLO = [MessageParam(role="user", content="Hello, Claude")]


@post(
    "/messages",
    status_code=200,
    **documented(
        "Anthropic",
        "Create a message (Anthropic)",
        body=MessagesRequest,
        example=MessagesRequest(model="claude-sonnet-4-5", max_tokens=256, messages=_HELLO),
        ok=Message,
        stream="`message_start`, `content_block_*`, `message_delta`, `message_stop` (`event:` names each).",
        error=AnthropicError,
        security=ANTHROPIC_SECURITY,
    ),
)
async def create_message(request: Request) -> Response:
    return await answer_json(request, _MESSAGES, lambda ctx, body: synthetic.create_message(ctx, body))


@post(
    "/messages/count_tokens",
    status_code=200,
    **documented(
        "Anthropic",
        "Count tokens (Anthropic)",
        body=CountTokensRequest,
        example=CountTokensRequest(model="claude-sonnet-4-5", messages=_HELLO),
        ok=TokensCount,
        error=AnthropicError,
        security=ANTHROPIC_SECURITY,
    ),
)
async def count_tokens(request: Request) -> Response:
    return await answer_json(request, _COUNT, lambda ctx, body: synthetic.count_message_tokens_answer(ctx, body))


HANDLERS = [create_message, count_tokens]
