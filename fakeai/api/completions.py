"""POST /v1/completions (legacy text completions)."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import completions as synthetic
from fakeai.schemas.completions import CompletionRequest

__all__ = ["create_completion"]

_DECODER = msgspec.json.Decoder(CompletionRequest)


@post("/completions", status_code=200)
async def create_completion(request: Request) -> Response:
    return await answer_json(request, _DECODER, synthetic.create_completion)
