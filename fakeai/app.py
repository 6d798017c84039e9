"""``create_app(settings)``: the Litestar application for one worker."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.app import ExperimentalFeatures  # noqa: F401 - kept for readers looking for knobs
from litestar.datastructures import MutableScopeHeaders
from litestar.openapi import OpenAPIConfig
from litestar.types import Message, Scope

from fakeai import __version__
from fakeai.api import ROOT_HANDLERS, v1_router
from fakeai.api.errors import EXCEPTION_HANDLERS
from fakeai.runtime import Runtime
from fakeai.settings import Settings

__all__ = ["create_app", "app_from_env"]

MULTIPART_OVERHEAD = 1024 * 1024


async def _add_request_id(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        if "x-request-id" not in headers:
            headers["x-request-id"] = "req_" + os.urandom(12).hex()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.load()
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    logging.getLogger("fakeai").setLevel(settings.log_level.upper())
    app = Litestar(
        route_handlers=[*ROOT_HANDLERS, v1_router()],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        before_send=[_add_request_id],
        request_max_body_size=max(settings.max_body_bytes, settings.max_file_bytes) + MULTIPART_OVERHEAD,
        openapi_config=OpenAPIConfig(title="FakeAI", version=__version__, path="/docs"),
        logging_config=None,
        debug=False,
    )
    app.state.runtime = runtime
    return app


def app_from_env() -> Litestar:
    """Factory uvicorn workers call (``--factory``); settings come from FAKEAI_* variables."""
    return create_app(Settings.load())
