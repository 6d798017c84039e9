"""The models endpoints."""

from __future__ import annotations

from fakeai.modes.base import Body
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.schemas import encode_json
from fakeai.schemas.models import ModelList

__all__ = ["list_models", "retrieve_model"]


async def list_models(ctx: SyntheticContext) -> Body:
    return Body(content=encode_json(ModelList(data=ctx.catalogue.list())))


async def retrieve_model(ctx: SyntheticContext, model_id: str) -> Body:
    return Body(content=encode_json(ctx.catalogue.get(model_id)))
