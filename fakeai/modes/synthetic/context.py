"""What synthetic generators share for the life of a worker."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fakeai.modes.synthetic.catalogue import Catalogue
from fakeai.modes.synthetic.latency import LatencyModel
from fakeai.modes.synthetic.prompt_cache import PrefixCache

if TYPE_CHECKING:
    from fakeai.settings import Settings
    from fakeai.store import Database

__all__ = ["SyntheticContext"]


class SyntheticContext:
    """Settings, the model catalogue and the database, built once per worker."""

    def __init__(self, settings: Settings, db: Database | None) -> None:
        self.settings = settings
        self.db = db
        self.catalogue = Catalogue(strict=settings.strict_models)
        self.latency = LatencyModel.from_settings(settings)  # --ttft-ms / --itl-ms / --latency-jitter
        self.prompt_cache = PrefixCache()  # OpenAI's cached_tokens rule for text endpoints
        self._tasks: set[asyncio.Task] = set()

    def track(self, task: asyncio.Task) -> asyncio.Task:
        """Keep a task that outlives its request (a background response, a save after a hang-up)
        referenced until it ends, and let ``settle`` wait for it at shutdown."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait (bounded) for tracked tasks, so their writes land before the database closes."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    @property
    def database(self) -> Database:
        """The database, for endpoints that persist (files, images, stored responses). Unit tests of
        pure generators build a context without one."""
        if self.db is None:
            raise RuntimeError("this endpoint needs a database; the runtime always provides one")
        return self.db
