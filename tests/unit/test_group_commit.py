"""Group commit: what is submitted during a write goes into the next one, each waiter gets its own
result, and a failure is handed to exactly the items it concerns."""

from __future__ import annotations

import asyncio

import pytest

from fakeai.store.group_commit import GroupCommit


class Writes:
    def __init__(self, bad: frozenset[str] = frozenset()) -> None:
        self.calls: list[list[str]] = []
        self.bad = bad

    async def many(self, items: list[str]) -> list[str]:
        self.calls.append(list(items))
        await asyncio.sleep(0.01)  # a transaction in flight
        if self.bad & set(items):
            raise ValueError("refused")
        return [item.upper() for item in items]

    async def one(self, item: str) -> str:
        return (await self.many([item]))[0]


def test_submissions_during_a_write_share_the_next_one_in_order_and_bounded():
    writes = Writes()
    group = GroupCommit(writes.many, writes.one, lambda exc: True, max_batch=4)

    async def run() -> list[str]:
        first = asyncio.ensure_future(group.submit("a"))
        await asyncio.sleep(0)  # "a" is being written alone
        rest = [asyncio.ensure_future(group.submit(x)) for x in "bcdefg"]
        return await asyncio.gather(first, *rest)

    assert asyncio.run(run()) == list("ABCDEFG")
    assert writes.calls == [["a"], ["b", "c", "d", "e"], ["f", "g"]]


@pytest.mark.parametrize("item_by_item", [True, False])
def test_a_failed_batch_is_written_again_one_by_one_or_fails_as_a_whole(item_by_item: bool):
    writes = Writes(bad=frozenset({"c"}))
    group = GroupCommit(writes.many, writes.one, lambda exc: item_by_item)

    async def run() -> list:
        first = asyncio.ensure_future(group.submit("a"))
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(group.submit(x)) for x in "bcd"]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = asyncio.run(run())
    assert results[0] == "A"
    if item_by_item:
        assert results[1] == "B" and isinstance(results[2], ValueError) and results[3] == "D"
        assert writes.calls == [["a"], ["b", "c", "d"], ["b"], ["c"], ["d"]]
    else:
        assert all(isinstance(r, ValueError) for r in results[1:]) and writes.calls == [["a"], ["b", "c", "d"]]


def test_a_waiter_that_leaves_does_not_take_its_write_with_it():
    writes = Writes()
    group = GroupCommit(writes.many, writes.one, lambda exc: True)

    async def run() -> None:
        leaving = asyncio.ensure_future(group.submit("x"))
        await asyncio.sleep(0)
        leaving.cancel()
        assert await group.submit("y") == "Y"

    asyncio.run(run())
    assert [item for call in writes.calls for item in call] == ["x", "y"]  # "x" was written all the same
