"""POST /v1/text/generation (Azure-style text generation)."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.openapi import documented
from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import lazy
from fakeai.schemas.text_generation import TextGenerationRequest, TextGenerationResponse

synthetic = lazy("text_generation")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["create_text_generation"]

_DECODER = msgspec.json.Decoder(TextGenerationRequest)


@post(
    "/text/generation",
    status_code=200,
    **documented(
        "Completions",
        "Generate text (Azure style)",
        body=TextGenerationRequest,
        example=TextGenerationRequest(model="gpt-4o-mini", input="Write a haiku about testing."),
        ok=TextGenerationResponse,
    ),
)
async def create_text_generation(request: Request) -> Response:
    return await answer_json(request, _DECODER, lambda ctx, body: synthetic.create_text_generation(ctx, body))
