"""The key guard on /v1: ``Authorization: Bearer KEY`` (OpenAI), ``x-api-key: KEY`` (Anthropic) or
``api-key: KEY`` (Azure), the same keys for all. Keys are compared, never logged or echoed back."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from fakeai.api.passthrough import any_v1_route
from fakeai.api.replies import runtime_of
from fakeai.errors import AuthenticationError

__all__ = ["require_api_key"]

_MISSING = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or an x-api-key header."
)
_CATCH_ALL_FN = any_v1_route.fn
_WRONG = "Incorrect API key provided. Use one of the keys this FakeAI server accepts (see its --api-keys)."


# async on purpose: Litestar runs a sync guard in a worker thread, which cost ~0.4 ms per request.
# Usable as a guard or (on /v1) as a before_request hook: Litestar copies the route handler for every
# guard call (~20 us a request); a hook is called with the request alone.
async def require_api_key(connection: ASGIConnection, _: BaseRouteHandler | None = None) -> None:
    runtime = runtime_of(connection)
    if not runtime.settings.require_api_key or runtime.dispatcher.upstream_checks_keys[connection.scope["fakeai_anthropic"]]:
        return
    handler = connection.scope.get("route_handler")  # Litestar copies handlers: compare what they wrap
    if runtime.dispatcher.synthetic_only and getattr(handler, "fn", None) is _CATCH_ALL_FN:
        return  # an unknown route is 404 unknown_url with or without a key, as OpenAI answers
    value = azure = None
    for name, raw in connection.scope["headers"]:  # raw ASGI headers: no Headers object per request
        if name == b"authorization":
            value = raw
        elif name == b"x-api-key" or name == b"api-key":  # Anthropic's header, Azure's
            azure = raw
    if value is not None:
        scheme, _, key_bytes = value.partition(b" ")
        if scheme.lower() != b"bearer":
            raise AuthenticationError(_MISSING)
        key = key_bytes.strip().decode("latin-1")
    elif azure is not None:
        key = azure.decode("latin-1")
    else:
        raise AuthenticationError(_MISSING)
    if key not in runtime.accepted_keys:
        raise AuthenticationError(_WRONG)
