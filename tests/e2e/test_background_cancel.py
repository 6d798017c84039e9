"""A cancelled background response stays cancelled after its generation would have ended, even when
the cancel reaches another worker than the one generating (two real server processes on one SQLite
file: the generating worker's task runs on, only the stored row's guard stops it)."""

from __future__ import annotations

import time

import openai

from fakeai.cassettes.server_process import ServerProcess


def test_cancelled_stays_cancelled_after_the_generation_would_have_ended(tmp_path) -> None:  # noqa: ANN001
    db = str(tmp_path / "shared.db")
    with ServerProcess(db=db) as other:
        with ServerProcess("--itl-ms", "20", db=db) as generating:  # ~1 s of simulated tokens
            queued = generating.client().responses.create(
                model="gpt-4o", input="A very long report", max_output_tokens=50, background=True
            )
            deadline = time.monotonic() + 30  # only turns a hang into a clear failure
            while (status := other.client().responses.retrieve(queued.id).status) == "queued":
                assert time.monotonic() < deadline, "the generation never started"
                time.sleep(0.01)
            assert status == "in_progress"
            assert other.client().responses.cancel(queued.id).status == "cancelled"
        # The generating server has shut down, which waits for its background tasks to end: the
        # generation is over, and the row still says what the user asked for.
        after = other.client().responses.retrieve(queued.id)
    assert after.status == "cancelled"
    assert isinstance(after, openai.types.responses.Response)
