"""POST /v1/embeddings."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.replies import read_exchange, runtime_of, to_response
from fakeai.modes.base import Reply
from fakeai.modes.synthetic import embeddings as synthetic
from fakeai.schemas import decode_json
from fakeai.schemas.embeddings import EmbeddingRequest

__all__ = ["create_embeddings"]

_DECODER = msgspec.json.Decoder(EmbeddingRequest)


@post("/embeddings", status_code=200)
async def create_embeddings(request: Request) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request, limit=runtime.settings.max_body_bytes)

    async def answer() -> Reply:
        body = decode_json(exchange.body, EmbeddingRequest, _DECODER)
        return await synthetic.create_embeddings(runtime.synthetic, body)

    reply = await runtime.dispatcher.handle(exchange, answer)
    return to_response(request, reply)
