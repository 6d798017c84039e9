"""The Responses API: POST /v1/responses, GET/DELETE /v1/responses/{id}, POST .../cancel,
GET .../input_items."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, delete, get, post

from fakeai.api.replies import read_exchange, runtime_of, to_response
from fakeai.modes.base import Reply
from fakeai.modes.synthetic import responses as synthetic
from fakeai.schemas import decode_json
from fakeai.schemas.responses import ResponseCreateRequest

__all__ = ["HANDLERS", "cancel_response", "create_response", "delete_response", "list_input_items", "retrieve_response"]

_DECODER = msgspec.json.Decoder(ResponseCreateRequest)


@post("/responses", status_code=200)
async def create_response(request: Request) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request, limit=runtime.settings.max_body_bytes)

    async def answer() -> Reply:
        # Parsed only for synthetic mode: record/replay work on the raw body.
        body = decode_json(exchange.body, ResponseCreateRequest, _DECODER)
        return await synthetic.create_response(runtime.synthetic, body)

    reply = await runtime.dispatcher.handle(exchange, answer)
    return to_response(request, reply)


@get("/responses/{response_id:str}")
async def retrieve_response(request: Request, response_id: str) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    reply = await runtime.dispatcher.handle(
        exchange, lambda: synthetic.retrieve_response(runtime.synthetic, response_id)
    )
    return to_response(request, reply)


@post("/responses/{response_id:str}/cancel", status_code=200)
async def cancel_response(request: Request, response_id: str) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    reply = await runtime.dispatcher.handle(exchange, lambda: synthetic.cancel_response(runtime.synthetic, response_id))
    return to_response(request, reply)


@delete("/responses/{response_id:str}", status_code=200)
async def delete_response(request: Request, response_id: str) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    reply = await runtime.dispatcher.handle(exchange, lambda: synthetic.delete_response(runtime.synthetic, response_id))
    return to_response(request, reply)


@get("/responses/{response_id:str}/input_items")
async def list_input_items(request: Request, response_id: str) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    q = request.query_params
    reply = await runtime.dispatcher.handle(
        exchange,
        lambda: synthetic.list_input_items(
            runtime.synthetic, response_id, limit=q.get("limit"), after=q.get("after"), order=q.get("order")
        ),
    )
    return to_response(request, reply)


HANDLERS = [create_response, retrieve_response, cancel_response, delete_response, list_input_items]
