"""The Responses API: POST /v1/responses, GET/DELETE /v1/responses/{id}, POST .../cancel,
GET .../input_items."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, delete, get, post

from fakeai.api.replies import answer, answer_json
from fakeai.modes.synthetic import responses as synthetic
from fakeai.schemas.responses import ResponseCreateRequest

__all__ = ["HANDLERS", "cancel_response", "create_response", "delete_response", "list_input_items", "retrieve_response"]

_DECODER = msgspec.json.Decoder(ResponseCreateRequest)


@post("/responses", status_code=200)
async def create_response(request: Request) -> Response:
    return await answer_json(request, _DECODER, synthetic.create_response)


@get("/responses/{response_id:str}")
async def retrieve_response(request: Request, response_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.retrieve_response(ctx, response_id))


@post("/responses/{response_id:str}/cancel", status_code=200)
async def cancel_response(request: Request, response_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.cancel_response(ctx, response_id))


@delete("/responses/{response_id:str}", status_code=200)
async def delete_response(request: Request, response_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.delete_response(ctx, response_id))


@get("/responses/{response_id:str}/input_items")
async def list_input_items(request: Request, response_id: str) -> Response:
    q = request.query_params
    return await answer(
        request,
        lambda ctx, _: synthetic.list_input_items(
            ctx, response_id, limit=q.get("limit"), after=q.get("after"), order=q.get("order")
        ),
    )


HANDLERS = [create_response, retrieve_response, cancel_response, delete_response, list_input_items]
