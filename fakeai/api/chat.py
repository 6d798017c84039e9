"""POST /v1/chat/completions."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import chat as synthetic
from fakeai.schemas.chat import ChatCompletionRequest

__all__ = ["create_chat_completion"]

_DECODER = msgspec.json.Decoder(ChatCompletionRequest)


@post("/chat/completions", status_code=200)
async def create_chat_completion(request: Request) -> Response:
    return await answer_json(request, _DECODER, synthetic.create_chat_completion)
