"""POST /v1/completions (legacy text completions)."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.openapi import documented
from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import lazy
from fakeai.schemas.completions import Completion, CompletionRequest

synthetic = lazy("completions")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["create_completion"]

_DECODER = msgspec.json.Decoder(CompletionRequest)


@post(
    "/completions",
    status_code=200,
    **documented(
        "Completions",
        "Create a completion (legacy)",
        body=CompletionRequest,
        example=CompletionRequest(model="gpt-3.5-turbo-instruct", prompt="Say this is a test", max_tokens=16),
        ok=Completion,
        stream="`text_completion` objects, then `data: [DONE]`.",
    ),
)
async def create_completion(request: Request) -> Response:
    return await answer_json(request, _DECODER, lambda ctx, body: synthetic.create_completion(ctx, body))
