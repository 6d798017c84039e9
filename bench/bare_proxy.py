"""The recording baseline: a bare Litestar app that forwards chat requests to an upstream and relays
the answer, storing nothing, over the same pooled HTTP/1.1 client FakeAI's recorder uses.

What any Python hop on this stack costs on this machine: what a recording FakeAI adds on top of it
is recording's own work (the request's key, the cassette, the locks). ``bench/recording.py`` runs it.
Run: BARE_UPSTREAM=http://127.0.0.1:N uvicorn bench.bare_proxy:app --port M
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
from litestar import Litestar, Request, Response, get, post
from litestar.response import Stream

from fakeai.modes.upstream_transport import AsyncioTransport

UPSTREAM = os.environ.get("BARE_UPSTREAM", "http://127.0.0.1:8000").rstrip("/")
TRANSPORT = AsyncioTransport()
URL = httpx.URL(UPSTREAM + "/v1/chat/completions")


async def _relay(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    finally:
        await response.aclose()


@post("/v1/chat/completions", status_code=200)
async def forward(request: Request) -> Response | Stream:
    body = await request.body()
    headers = {"authorization": request.headers.get("authorization", ""), "content-type": "application/json"}
    response = await TRANSPORT.handle_async_request(httpx.Request("POST", URL, headers=headers, content=body))
    media_type = response.headers.get("content-type", "application/json")
    if media_type.startswith("text/event-stream"):
        return Stream(content=_relay(response), media_type=media_type, status_code=response.status_code)
    content = await response.aread()
    await response.aclose()
    return Response(content=content, media_type=media_type, status_code=response.status_code)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[forward, health], logging_config=None)
