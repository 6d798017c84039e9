"""Group commit: writes that arrive while a transaction is running share the next one.

A recording server under load stores a cassette per answer. One transaction per cassette, each in
a thread of its own, made SQLite's writers queue on its file lock, and SQLite's busy handler makes a
writer that finds the lock taken sleep (1, 2, 5, 10 ... 100 ms): at 32 concurrent clients the
recorder spent more time waiting for its own writes than doing anything else, and the key locks held
until a write commits backed up into the answers. Here a worker has at most one write transaction
of a kind in flight; whatever was submitted meanwhile goes into the next one, together.

Nothing about a single write changes: each item is still whole or absent (a transaction commits all
its items or none), and a batch that fails for a reason other than an unavailable database is
written again item by item, so one bad item fails alone, as it would have on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        write_many: Callable[[list[Item]], Awaitable[list[Result]]],
        write_one: Callable[[Item], Awaitable[Result]],
        alone: Callable[[BaseException], bool],
        max_batch: int = 500,
    ) -> None:
        """``write_many(items)``: one transaction, a result per item in order. ``write_one(item)``:
        the item alone (with its own retries). ``alone(error)``: a failed batch is worth retrying
        item by item (a constraint or lock error, not an unavailable database). ``max_batch``: items
        per transaction at most (a transaction's size and its statements' parameters stay bounded)."""
        self._write_many = write_many
        self._write_one = write_one
        self._alone = alone
        self._max_batch = max_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, future))
        draining = self._draining
        if draining is None or draining.done() or draining.get_loop() is not loop:
            self._draining = loop.create_task(self._drain())
        # A waiter that is cancelled (a client left) cancels only its future: the item is written.
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            try:
                await self._write(batch)
            finally:  # cancelled (the loop is closing): its waiters learn it rather than wait forever
                for _, future in batch:
                    if not future.done():
                        future.cancel()

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        items = [item for item, _ in batch]
        try:
            results = await self._write_many(items) if len(items) > 1 else [await self._write_one(items[0])]
        except Exception as exc:  # noqa: BLE001 - handed to the waiters
            if len(items) > 1 and self._alone(exc):
                for item, future in batch:  # one after another: concurrent writers would contend again
                    await self._one(item, future)
            else:
                for _, future in batch:
                    _settle(future, exc=exc)
            return
        for (_, future), result in zip(batch, results):
            _settle(future, result)

    async def _one(self, item: Item, future: asyncio.Future[Result]) -> None:
        try:
            _settle(future, await self._write_one(item))
        except Exception as exc:  # noqa: BLE001 - handed to the waiter
            _settle(future, exc=exc)


def _settle(future: asyncio.Future, result: object = None, *, exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
