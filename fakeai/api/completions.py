"""POST /v1/completions (legacy text completions)."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.replies import read_exchange, runtime_of, to_response
from fakeai.modes.base import Reply
from fakeai.modes.synthetic import completions as synthetic
from fakeai.schemas import decode_json
from fakeai.schemas.completions import CompletionRequest

__all__ = ["create_completion"]

_DECODER = msgspec.json.Decoder(CompletionRequest)


@post("/completions", status_code=200)
async def create_completion(request: Request) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request, limit=runtime.settings.max_body_bytes)

    async def answer() -> Reply:
        # Parsed only for synthetic mode: record/replay work on the raw body.
        body = decode_json(exchange.body, CompletionRequest, _DECODER)
        return await synthetic.create_completion(runtime.synthetic, body)

    reply = await runtime.dispatcher.handle(exchange, answer)
    return to_response(request, reply)
