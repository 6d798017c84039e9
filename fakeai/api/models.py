"""GET /v1/models and /v1/models/{id}: ids contain slashes, sent raw or as %2F. In OpenAI's shape,
or Anthropic's when the request carries ``anthropic-version`` (the anthropic SDK always sends it)."""

from __future__ import annotations

from litestar import Request, Response, get

from fakeai.api.openapi import documented
from fakeai.api.replies import answer
from fakeai.modes.synthetic import lazy
from fakeai.schemas.models import Model, ModelList

anthropic_models = lazy("anthropic_models")
synthetic = lazy("models")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["list_models", "retrieve_model"]


@get("/models", **documented("Models", "List models", ok=ModelList))
async def list_models(request: Request) -> Response:
    if request.scope["fakeai_anthropic"]:
        query = dict(request.query_params)
        return await answer(request, lambda ctx, _: anthropic_models.list_models(ctx, query))
    return await answer(request, lambda ctx, _: synthetic.list_models(ctx))


@get("/models/{model_id:path}", **documented("Models", "Retrieve a model", ok=Model))
async def retrieve_model(request: Request, model_id: str) -> Response:
    model_id = model_id.lstrip("/")
    if request.scope["fakeai_anthropic"]:
        return await answer(request, lambda ctx, _: anthropic_models.retrieve_model(ctx, model_id))
    return await answer(request, lambda ctx, _: synthetic.retrieve_model(ctx, model_id))
