"""Every other ``/v1/...`` route: record and replay cover endpoints FakeAI does not synthesize.

The catch-all goes through the dispatcher with no synthetic thunk, so in synthetic mode (and on a
replay miss with ``--on-miss synthetic``) it is the usual 404 ``unknown_url``. Litestar matches a
path parameter only after every static route, so real routes are never shadowed.
"""

from __future__ import annotations

from litestar import Request, Response, route

from fakeai.api.replies import answer

__all__ = ["any_v1_route"]

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@route("/{rest:path}", http_method=METHODS, include_in_schema=False)
async def any_v1_route(request: Request, rest: str) -> Response:
    return await answer(request, None)  # bounded by Litestar's request_max_body_size
