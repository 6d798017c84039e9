"""Everything a worker builds once at start and shares across requests."""

from __future__ import annotations

import asyncio

from fakeai.edge import Edge
from fakeai.metrics import Metrics
from fakeai.modes.dispatch import Dispatcher
from fakeai.modes.single_flight import ServerRecordingLocks
from fakeai.modes.synthetic import SyntheticContext
from fakeai.run_dir import RunDir
from fakeai.settings import Mode, Settings
from fakeai.store import Database, upgrade_database

__all__ = ["Runtime"]


class Runtime:
    shutdown_grace = 10.0  # seconds unfinished tasks get at shutdown before they are cancelled

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.run_dir = RunDir.open(settings.run_dir)  # set by `fakeai serve` for all its workers
        # Every worker writes its metrics here and any worker reads them all (see fakeai/metrics.py).
        self.metrics = Metrics(self.run_dir.sub("metrics"))
        self.accepted_keys = settings.accepted_keys
        # One pool per worker process: --db-pool-size connections kept, --db-max-overflow more under a burst.
        # Synthetic mode needs the store only for files, images by URL and stored responses: its engine
        # (and SQLAlchemy, ~0.2-0.45 s of a start) come with the first such request. Record and replay
        # use it from the start, so they get it at once as before.
        self.db = Database(
            settings.db_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            lazy=settings.mode is Mode.SYNTHETIC,
        )
        self.synthetic = SyntheticContext(settings, self.db, self.metrics)
        # Shared by the server's workers through a file in the run directory. One worker has nobody to
        # share with, and its per-key asyncio locks are the whole lock: the file's system calls (each
        # lets the store's writing thread take the GIL) were ~7% of a recording's CPU.
        locks = ServerRecordingLocks(self.run_dir.sub("recording-locks") if settings.workers > 1 else None)
        self.dispatcher = Dispatcher(settings, self.db, self.metrics, recording_locks=locks)
        self.edge = Edge(settings, self.dispatcher, self.metrics, self.run_dir, self.db)  # rate limits, injected faults

    async def start(self) -> None:
        # Under `fakeai serve` the schema was brought to head before any worker started, so a worker
        # needs nothing from the database to start. It used to upgrade again (idempotent, but a
        # connection): a worker started or restarted by uvicorn while the database was down then failed
        # its startup, and uvicorn stops the whole server when a worker fails to start. It now starts
        # and answers 503 on the routes that need the store until the database is back.
        if not self.run_dir.database_ready(self.settings.db_url):
            await asyncio.to_thread(upgrade_database, self.settings.db_url)
        await self.dispatcher.start()
        if self.run_dir.owned:  # an app of its own (not a worker of `fakeai serve`, which rewinds once)
            await self.dispatcher.rewind()

    async def stop(self) -> None:
        # Background responses and recordings finish (or are cancelled) before the database closes.
        await self.synthetic.tasks.settle(self.shutdown_grace)
        await self.dispatcher.stop(self.shutdown_grace)
        await self.db.dispose()
        self.edge.close()
        self.metrics.close()
        self.run_dir.close()
