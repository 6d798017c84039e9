"""The Responses API: POST /v1/responses, GET/DELETE /v1/responses/{id}, POST .../cancel,
GET .../input_items."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, delete, get, post

from fakeai.api.openapi import documented
from fakeai.api.replies import answer, answer_json
from fakeai.modes.synthetic import lazy
from fakeai.schemas.responses import (
    InputItemsQuery,
    ItemList,
    ResponseCancelRequest,
    ResponseCreateRequest,
    ResponseDeleted,
)
from fakeai.schemas.responses import Response as ResponseObject

synthetic = lazy("responses")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["HANDLERS", "cancel_response", "create_response", "delete_response", "list_input_items", "retrieve_response"]

_DECODER = msgspec.json.Decoder(ResponseCreateRequest)


@post(
    "/responses",
    status_code=200,
    **documented(
        "Responses",
        "Create a response",
        body=ResponseCreateRequest,
        example=ResponseCreateRequest(model="gpt-4o-mini", input="Tell me a three sentence bedtime story."),
        ok=ResponseObject,
        stream="`response.*` events (`event:` names the type), each with its JSON object.",
    ),
)
async def create_response(request: Request) -> Response:
    return await answer_json(request, _DECODER, lambda ctx, body: synthetic.create_response(ctx, body))


@get("/responses/{response_id:str}", **documented("Responses", "Retrieve a response", ok=ResponseObject))
async def retrieve_response(request: Request, response_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.retrieve_response(ctx, response_id))


@post(
    "/responses/{response_id:str}/cancel",
    status_code=200,
    **documented(
        "Responses",
        "Cancel a background response",
        body=ResponseCancelRequest,
        body_required=False,
        ok=ResponseObject,
        errors=("400",),
    ),
)
async def cancel_response(request: Request, response_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.cancel_response(ctx, response_id))


@delete(
    "/responses/{response_id:str}", status_code=200, **documented("Responses", "Delete a response", ok=ResponseDeleted)
)
async def delete_response(request: Request, response_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.delete_response(ctx, response_id))


@get(
    "/responses/{response_id:str}/input_items",
    **documented("Responses", "List a response's input items", query=InputItemsQuery, ok=ItemList),
)
async def list_input_items(request: Request, response_id: str) -> Response:
    q = request.query_params
    return await answer(
        request,
        lambda ctx, _: synthetic.list_input_items(
            ctx, response_id, limit=q.get("limit"), after=q.get("after"), order=q.get("order")
        ),
    )


HANDLERS = [create_response, retrieve_response, cancel_response, delete_response, list_input_items]
