"""Tasks that outlive a request: each failure logged once with what it lost, and nothing left
running when shutdown moves on (a real event loop, real tasks)."""

from __future__ import annotations

import asyncio
import gc
import logging

from fakeai.modes.base import TaskSet


def test_a_failure_is_logged_once_with_what_was_lost(caplog) -> None:  # noqa: ANN001
    async def main() -> None:
        tasks = TaskSet()

        async def broken() -> None:
            raise OSError("disk full")

        task = tasks.track(asyncio.create_task(broken()), "background response resp_42")
        await asyncio.wait({task})
        await asyncio.sleep(0)  # done callbacks run on the next loop turn
        assert len(tasks) == 0

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
        gc.collect()  # an unretrieved task exception would be reported now, by asyncio's logger
    lines = [r.getMessage() for r in caplog.records]
    assert [line for line in lines if "resp_42" in line] == ["background response resp_42 was lost: OSError: disk full"]
    assert not [line for line in lines if "never retrieved" in line]


def test_settle_cancels_what_is_left_and_says_what(caplog) -> None:  # noqa: ANN001
    ended: list[str] = []

    async def main() -> None:
        tasks = TaskSet()
        stuck_started = asyncio.Event()

        async def stuck() -> None:
            stuck_started.set()
            try:
                await asyncio.Event().wait()  # never set
            finally:
                ended.append("stuck")

        async def quick() -> None:
            ended.append("quick")

        tasks.track(asyncio.create_task(stuck()), "the recording of POST /v1/chat/completions")
        tasks.track(asyncio.create_task(quick()), "a quick save")
        await stuck_started.wait()
        await tasks.settle(timeout=0.01)
        # settle returned: nothing it tracked still runs (the database may close now)
        assert ended == ["quick", "stuck"]
        assert len(tasks) == 0

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
    (line,) = [r.getMessage() for r in caplog.records if "shutdown cancelled" in r.getMessage()]
    assert "1 unfinished task" in line and "the recording of POST /v1/chat/completions" in line
    assert "quick save" not in line
