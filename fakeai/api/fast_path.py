"""The hot JSON endpoints, answered without Litestar's router in front of them.

Chat, completions, messages, embeddings and the other ``POST`` endpoints that take a JSON body and
nothing else are what load generators hammer. Around the controller, Litestar's routing, its
signature model, the exception middleware's send wrapper and the per-request handler lookups cost
about a fifth of a small chat request's CPU (in process, driving the app's ASGI callable: 145 -> 116 us
per gpt-oss chat request). For an exact
``POST`` to one of those paths, ``FastRoutes`` calls the same controller function with a
``Request`` it builds itself, after the same key check, and turns any exception into an answer
with the same exception handlers (``errors.EXCEPTION_HANDLERS``), so the wire is identical.

Everything else (other methods, paths with parameters, uploads, a trailing slash Litestar would
normalise) goes through Litestar as before, and the OpenAPI document still lists these routes:
they are ordinary Litestar routes that most requests simply do not need to be routed to.
"""

from __future__ import annotations

from inspect import getmro, signature
from typing import Any

from litestar import Litestar, Request
from litestar.exceptions import LitestarException
from litestar.routes import HTTPRoute
from litestar.types import Receive, Scope, Send

from fakeai.api.auth import require_api_key
from fakeai.api.errors import EXCEPTION_HANDLERS

__all__ = ["FastRoutes", "RESPONSE_STARTED"]

RESPONSE_STARTED = "fakeai_response_started"  # set in the scope by app.py's send wrapper


class _Route:
    __slots__ = ("fn", "handler", "template")

    def __init__(self, fn: Any, handler: Any, template: str) -> None:
        self.fn, self.handler, self.template = fn, handler, template


def _takes_request_only(fn: Any) -> bool:
    return list(signature(fn).parameters) == ["request"]


def _handler_for(exc: Exception) -> Any:
    for cls in getmro(type(exc)):
        handler = EXCEPTION_HANDLERS.get(cls)
        if handler is not None:
            return handler
    return EXCEPTION_HANDLERS[Exception]


class FastRoutes:
    """``path -> controller`` for the keyed ``POST`` routes whose controller takes only the request."""

    def __init__(self, app: Litestar, fns: list[Any]) -> None:
        wanted = {fn.fn for fn in fns}
        self._routes: dict[str, _Route] = {}
        for route in app.routes:
            if not isinstance(route, HTTPRoute) or route.path_parameters or "POST" not in route.route_handler_map:
                continue
            handler = route.route_handler_map["POST"][0]
            if handler.fn in wanted and _takes_request_only(handler.fn):
                self._routes[route.path] = _Route(handler.fn, handler, route.path)
        missing = wanted - {r.fn for r in self._routes.values()}
        if missing:  # a renamed path or a new parameter: say so at startup, not as a slow route later
            raise RuntimeError(f"fast path: no plain POST route for {sorted(f.__name__ for f in missing)}")

    @property
    def paths(self) -> list[str]:
        return sorted(self._routes)

    def get(self, scope: Scope) -> _Route | None:
        if scope["method"] != "POST":
            return None
        return self._routes.get(scope["path"])

    async def __call__(self, route: _Route, scope: Scope, receive: Receive, send: Send) -> None:
        scope["path_template"] = route.template  # type: ignore[typeddict-unknown-key] # the metrics key
        scope["route_handler"] = route.handler
        scope.setdefault("path_params", {})
        request: Request = Request(scope, receive, send)
        try:
            await require_api_key(request)
            response = await route.fn(request)
            await response.to_asgi_response(None, request)(scope, receive, send)
        except Exception as exc:
            if scope.get(RESPONSE_STARTED):  # as Litestar's exception middleware: too late for an error answer
                raise LitestarException("Exception caught after response started") from exc
            answer = _handler_for(exc)(request, exc)
            await answer.to_asgi_response(None, request)(scope, receive, send)
