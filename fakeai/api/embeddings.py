"""POST /v1/embeddings."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.openapi import documented
from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import lazy
from fakeai.schemas.embeddings import EmbeddingList, EmbeddingRequest

synthetic = lazy("embeddings")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["create_embeddings"]

_DECODER = msgspec.json.Decoder(EmbeddingRequest)


@post(
    "/embeddings",
    status_code=200,
    **documented(
        "Embeddings",
        "Create embeddings",
        body=EmbeddingRequest,
        example=EmbeddingRequest(model="text-embedding-3-small", input="The food was delicious."),
        ok=EmbeddingList,
    ),
)
async def create_embeddings(request: Request) -> Response:
    return await answer_json(request, _DECODER, lambda ctx, body: synthetic.create_embeddings(ctx, body))
