"""Which mode answers a request.

A controller hands over the raw ``Exchange`` and a thunk that produces the synthetic answer.
Synthetic mode calls the thunk; replay answers from cassettes (and applies ``--on-miss``);
record forwards upstream and stores the exchange.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fakeai.errors import NotFoundError, NotImplementedYetError
from fakeai.modes.base import Exchange, Reply
from fakeai.settings import Mode, Settings

__all__ = ["Dispatcher", "SyntheticThunk"]

SyntheticThunk = Callable[[], Awaitable[Reply]]

SOURCE = "x-fakeai-source"


class Dispatcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mode = settings.mode

    async def handle(self, exchange: Exchange, synthetic: SyntheticThunk | None) -> Reply:
        if self.mode is Mode.SYNTHETIC:
            return await self.synthesize(exchange, synthetic)
        raise NotImplementedYetError(f"{self.mode.value} mode is not implemented yet; use --mode synthetic.")

    async def synthesize(self, exchange: Exchange, synthetic: SyntheticThunk | None) -> Reply:
        if synthetic is None:
            raise NotFoundError(f"Invalid URL ({exchange.method} {exchange.path})", code="unknown_url")
        reply = await synthetic()
        reply.headers[SOURCE] = "synthetic"
        return reply

    async def start(self) -> None:
        """Open long-lived resources (the upstream client)."""

    async def stop(self) -> None:
        """Close what ``start`` opened."""
