"""``create_app(settings)``: the Litestar application for one worker."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.app import ExperimentalFeatures  # noqa: F401 - kept for readers looking for knobs
from litestar.plugins.core import MsgspecDIPlugin
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from fakeai import __version__
from fakeai.api import FAST_HANDLERS, ROOT_HANDLERS, v1_router
from fakeai.api.fast_path import RESPONSE_STARTED, FastRoutes
from fakeai.api.errors import EXCEPTION_HANDLERS
from fakeai.api.openapi import openapi_config
from fakeai.api.protocol import ARRIVAL_KEY
from fakeai.ids import random_hex
from fakeai.modes.synthetic import load_generators
from fakeai.providers import ANTHROPIC_PATH
from fakeai.runtime import Runtime
from fakeai.settings import Settings

__all__ = ["create_app", "app_from_env"]

MULTIPART_OVERHEAD = 1024 * 1024


def _request_id(app: ASGIApp, runtime: Runtime, fast: FastRoutes) -> ASGIApp:
    """Add ``x-request-id`` to every HTTP response (and Anthropic's ``request-id`` to answers to
    Anthropic requests, and ``x-fakeai-source: synthetic`` to those no mode labelled: errors raised
    before a mode runs, image files), and put the runtime, the arrival time, the request id, whether the
    request speaks Anthropic's wire and the server's ``send`` (see ``replies.drop_connection``) in
    the scope (one dict store each, where Litestar's ``app.state`` costs a few microseconds per read).

    A plain ASGI wrapper rather than Litestar's ``before_send`` hook: that hook runs through
    Litestar's generic send wrapper for every body message, which was the largest per-token cost
    of a streamed answer; this wrapper costs one dict lookup per message.

    The hot JSON endpoints are answered from here without Litestar's router (``api.fast_path``).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = b"req_" + random_hex(12).encode()
        anthropic = _speaks_anthropic(scope)
        scope["fakeai_runtime"] = runtime  # type: ignore[typeddict-unknown-key]
        # When uvicorn parsed the request (api.protocol), else now: latency and the engine's TTFT count from it.
        scope["fakeai_started"] = scope.get(ARRIVAL_KEY) or time.perf_counter()  # type: ignore[typeddict-unknown-key]
        scope["fakeai_request_id"] = request_id.decode()  # type: ignore[typeddict-unknown-key]
        scope["fakeai_anthropic"] = anthropic  # type: ignore[typeddict-unknown-key]
        scope["fakeai_send"] = send  # type: ignore[typeddict-unknown-key] # the server's own, to drop a connection

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                scope[RESPONSE_STARTED] = True  # type: ignore[literal-required]
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                if b"x-request-id" not in names:
                    headers.append((b"x-request-id", request_id))
                if anthropic and b"request-id" not in names:  # a replayed upstream's own id stays
                    headers.append((b"request-id", request_id))
                if b"x-fakeai-source" not in names:  # FakeAI's own answers: 401, 404, 405, 413, files
                    headers.append((b"x-fakeai-source", b"synthetic"))
                message["headers"] = headers
            await send(message)

        route = fast.get(scope)
        try:
            if route is not None:
                await fast(route, scope, receive, send_with_id)
            else:
                await app(scope, receive, send_with_id)
        finally:
            # uvicorn's request cycle holds the scope, and the scope held the cycle's `send`: a reference
            # cycle per request (cycle, its transport, flow control, events), freed only by the collector.
            # With a connection per request those piled up, and a full collection paused the worker for
            # 40-100 ms under 800 streams (late TTFTs and ITL spikes). Without the cycle, refcounts free them.
            del scope["fakeai_send"]  # type: ignore[misc]

    return middleware


def _speaks_anthropic(scope: Scope) -> bool:
    """``fakeai.providers.is_anthropic`` on raw ASGI headers (no dict built for OpenAI requests)."""
    if scope["path"].startswith(ANTHROPIC_PATH):
        return True
    return any(name == b"anthropic-version" for name, _ in scope["headers"])


class _App(Litestar):
    """Litestar without the plugins it adds whenever pydantic or attrs is installed: FakeAI's types are
    msgspec Structs, and those plugins import pydantic (~0.15 s of a start) for nothing."""

    @staticmethod
    def _get_default_plugins(plugins: list) -> list:
        plugins.append(MsgspecDIPlugin())  # what Litestar itself always adds
        return plugins


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.load()
    if settings.synthesizes:  # else they load on first use (images' file routes), if ever
        load_generators()
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    logging.getLogger("fakeai").setLevel(settings.log_level.upper())
    app = _App(
        route_handlers=[*ROOT_HANDLERS, v1_router()],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        request_max_body_size=max(settings.max_body_bytes, settings.max_file_bytes) + MULTIPART_OVERHEAD,
        openapi_config=openapi_config("FakeAI", __version__),
        logging_config=None,
        debug=False,
    )
    app.asgi_handler = _request_id(app.asgi_handler, runtime, FastRoutes(app, FAST_HANDLERS))  # outermost, so routing 404/405 get the id too
    return app


def app_from_env() -> Litestar:
    """Factory uvicorn workers call (``--factory``); settings come from FAKEAI_* variables."""
    app = create_app(Settings.load())
    # A server worker's startup heap (routes, model catalogue, the synthetic vocabulary: ~160k objects)
    # lives as long as the process; freezing it keeps the garbage collector from rescanning it on every
    # full collection under load (~10% of a chat request's CPU, measured). Not in create_app: test
    # suites build many apps and frozen objects are never freed. No gc.collect() first: it took
    # 70-140 ms of a start here to find ~1,200 unreachable objects, which stay frozen instead.
    # `fakeai serve` disables the collector for the start (cli.py); it runs again from here on.
    gc.freeze()
    # A full collection scans every live object: ~60k for 600 open streams, 30-45 ms during which the
    # worker answers nothing. The default thresholds ran one about every second under 800 streams
    # (each stream's objects outlive two young collections and count towards the next full one), which
    # showed as late TTFTs and ITL spikes. A request leaves no reference cycles behind (app.py's
    # wrapper breaks the one uvicorn's cycle and the scope made), so what reaches the old generation is
    # freed by refcounting anyway; a full collection is needed only for rare cycles, and 100x fewer
    # of them is plenty. The young generations keep their defaults: they are short.
    gc.set_threshold(700, 10, 1000)
    gc.enable()
    # One BLAS thread per worker: the synthetic embeddings' small matrix products gain nothing from a
    # BLAS thread pool, whose threads spin on the cores the event loop and the clients need (measured:
    # 16 inputs x 1536 dimensions went from ~50 to ~600 us under load). Also a server-only setting.
    threadpool_limits(1, user_api="blas")
    return app
