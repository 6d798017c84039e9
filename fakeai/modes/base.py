"""What flows between the API layer and the modes.

A controller turns the HTTP request into an ``Exchange`` (the raw request, which is what
record and replay key on), parses it for synthetic mode, and asks the dispatcher for a
``Reply``: either a whole ``Body`` or an ``EventStream`` of ready-framed SSE events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Union

import msgspec

__all__ = ["Body", "EventStream", "Exchange", "Reply", "StreamStats", "TaskSet", "sse_event", "SSE_DONE"]

JSON = "application/json"
SSE_TYPE = "text/event-stream"
SSE = SSE_TYPE + "; charset=utf-8"  # what OpenAI sends

_log = logging.getLogger("fakeai.tasks")


class Exchange(msgspec.Struct, kw_only=True):
    """One incoming request as it came over the wire (headers lower-cased, secrets included:
    the record/replay layer is responsible for dropping them before anything is stored)."""

    method: str
    path: str  # "/v1/chat/completions", no query string
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    body: bytes = b""
    base_url: str = "http://127.0.0.1:8000"  # scheme://host:port the client used, for links we hand out
    started: float = 0.0  # time.perf_counter() when the request arrived (record offsets, metrics)
    endpoint: str = ""  # the route template ("/v1/files/{file_id:str}"), the metrics key

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class StreamStats:
    """Counters a stream generator fills in as it goes, read by metrics when it ends."""

    __slots__ = ("tokens",)

    def __init__(self) -> None:
        self.tokens = 0


class Body(msgspec.Struct, kw_only=True):
    content: bytes
    status: int = 200
    media_type: str = JSON
    headers: dict[str, str] = {}
    tokens: int = 0  # tokens generated, for metrics


class EventStream(msgspec.Struct, kw_only=True):
    """An SSE answer: each item of ``events`` is one whole framed event (``data: ...\\n\\n``)."""

    events: AsyncIterator[bytes]
    status: int = 200
    media_type: str = SSE
    headers: dict[str, str] = {}
    stats: StreamStats = msgspec.field(default_factory=StreamStats)


Reply = Union[Body, EventStream]

SSE_DONE = b"data: [DONE]\n\n"


def sse_event(data: bytes, event: str | None = None) -> bytes:
    """Frame one SSE event. ``data`` is a single-line JSON document."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


class TaskSet:
    """Tasks that outlive their request (a recording's upstream pump, a background response, a save
    after a hang-up): kept referenced until they end, each failure logged once with what it lost,
    and at shutdown waited for (bounded), then whatever is left cancelled and awaited, so no task
    still runs when the database closes."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task, str] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def track(self, task: asyncio.Task, lost: str) -> asyncio.Task:
        """Keep ``task`` until it ends; ``lost`` says what a failure costs (``"response resp_1"``)."""
        self._tasks[task] = lost
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        lost = self._tasks.pop(task, "a task's work")
        if task.cancelled():
            return  # cancelled on purpose (a cancelled response) or at shutdown, which says so itself
        exc = task.exception()  # retrieved here, so asyncio never adds "exception was never retrieved"
        if exc is not None:
            _log.error("%s was lost: %s: %s", lost, type(exc).__name__, exc, exc_info=exc)

    async def settle(self, timeout: float = 10.0) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        if not pending:
            return
        lost = sorted(self._tasks[task] for task in pending if task in self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=timeout)  # cancellation is delivered at their next await
        _log.warning("shutdown cancelled %d unfinished task(s) after %gs; lost: %s", len(lost), timeout, ", ".join(lost))
