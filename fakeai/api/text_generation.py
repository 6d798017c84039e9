"""POST /v1/text/generation (Azure-style text generation)."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.replies import read_exchange, runtime_of, to_response
from fakeai.modes.base import Reply
from fakeai.modes.synthetic import text_generation as synthetic
from fakeai.schemas import decode_json
from fakeai.schemas.text_generation import TextGenerationRequest

__all__ = ["create_text_generation"]

_DECODER = msgspec.json.Decoder(TextGenerationRequest)


@post("/text/generation", status_code=200)
async def create_text_generation(request: Request) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request, limit=runtime.settings.max_body_bytes)

    async def answer() -> Reply:
        body = decode_json(exchange.body, TextGenerationRequest, _DECODER)
        return await synthetic.create_text_generation(runtime.synthetic, body)

    reply = await runtime.dispatcher.handle(exchange, answer)
    return to_response(request, reply)
