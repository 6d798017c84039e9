"""POST /v1/chat/completions."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.openapi import documented
from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import lazy
from fakeai.schemas.chat import ChatCompletion, ChatCompletionRequest, ChatMessage

synthetic = lazy("chat")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["create_chat_completion"]

_DECODER = msgspec.json.Decoder(ChatCompletionRequest)


@post(
    "/chat/completions",
    status_code=200,
    **documented(
        "Chat",
        "Create a chat completion",
        body=ChatCompletionRequest,
        example=ChatCompletionRequest(model="gpt-4o-mini", messages=[ChatMessage(role="user", content="Hello!")]),
        ok=ChatCompletion,
        stream="`chat.completion.chunk` objects, then `data: [DONE]`.",
    ),
)
async def create_chat_completion(request: Request) -> Response:
    return await answer_json(request, _DECODER, lambda ctx, body: synthetic.create_chat_completion(ctx, body))
