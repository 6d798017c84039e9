"""GET /v1/models and /v1/models/{id}: ids contain slashes, sent raw or as %2F."""

from __future__ import annotations

from litestar import Request, Response, get

from fakeai.api.replies import read_exchange, runtime_of, to_response
from fakeai.modes.synthetic import models as synthetic

__all__ = ["list_models", "retrieve_model"]


@get("/models")
async def list_models(request: Request) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    reply = await runtime.dispatcher.handle(exchange, lambda: synthetic.list_models(runtime.synthetic))
    return to_response(request, reply)


@get("/models/{model_id:path}")
async def retrieve_model(request: Request, model_id: str) -> Response:
    runtime = runtime_of(request)
    model_id = model_id.lstrip("/")
    exchange = await read_exchange(request)
    reply = await runtime.dispatcher.handle(exchange, lambda: synthetic.retrieve_model(runtime.synthetic, model_id))
    return to_response(request, reply)
