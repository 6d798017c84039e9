"""Injected faults: which request meets which fault, and what each fault does to an answer.

A fault is chosen before a mode runs. The ones that replace the answer (``rate_limit``,
``server_error``, ``overloaded``, ``timeout``, ``disconnect``) raise before any mode is asked;
the ones that damage an answer (``stream_cut``, ``stream_error``, ``malformed``) damage a preview
(see ``Dispatcher.preview``: synthetic, or the replay episode at the cursor without moving it;
never the upstream), so no fault is ever forwarded, stored or consumes a cassette.

With ``--fault-seed`` the n-th request of the server (counted across workers in the run directory)
gets the same draw on every run: ``random.Random(f"{seed}:{n}")``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

from fakeai.errors import ConnectionDropped, FakeAIError, InvalidRequestError, OverloadedError, RateLimitError
from fakeai.modes.base import Body, EventStream, Reply, sse_event
from fakeai.providers import anthropic_error_event
from fakeai.schemas import encode_json
from fakeai.settings import FAULT_TYPES

__all__ = ["FAULT_TYPES", "Fault", "FaultPolicy", "TruncatedBody", "damage", "drop_after", "fault_error", "forced"]

DAMAGING = frozenset({"stream_cut", "stream_error", "malformed"})  # need an answer to damage
DEFAULT_AFTER = 3  # events before a forced stream fault, without x-fakeai-fault-after
MAX_RANDOM_AFTER = 8  # a drawn stream fault strikes after 1..8 events
SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"


class TruncatedBody(Body, kw_only=True):
    """A whole answer whose connection closes after ``cut_at`` bytes (its content-length promised more)."""

    cut_at: int = 0


class Fault:
    """One request's fault: its type and, for stream faults, after how many events it strikes."""

    __slots__ = ("type", "after")

    def __init__(self, type: str, after: int) -> None:  # noqa: A002 - the fault's type, as users write it
        self.type = type
        self.after = after


class FaultPolicy:
    """The configured random faults (``--fault-rate``, ``--fault-types``, ``--fault-endpoints``)."""

    def __init__(self, rate: float, types: tuple[tuple[str, float], ...], seed: int | None,
                 endpoints: tuple[str, ...]) -> None:
        self.rate = rate
        self.names = [name for name, weight in types if weight > 0]
        total = sum(weight for _, weight in types)
        self.cumulative: list[float] = []
        running = 0.0
        for _, weight in types:
            if weight > 0:
                running += weight / total
                self.cumulative.append(running)
        self.seed = seed
        self.endpoints = endpoints
        self._random = random.Random()

    def covers(self, path: str) -> bool:
        return not self.endpoints or any(path == e or path.startswith(e.rstrip("/") + "/") for e in self.endpoints)

    def draw(self, sequence: int | None) -> Fault | None:
        """The fault of the request numbered ``sequence`` (None: unseeded, any draw will do)."""
        rng = self._random if sequence is None else random.Random(f"{self.seed}:{sequence}")
        hit, pick, after = rng.random(), rng.random(), rng.random()
        if hit >= self.rate:
            return None
        for name, bound in zip(self.names, self.cumulative):
            if pick < bound:
                break
        else:
            name = self.names[-1]
        return Fault(name, 1 + int(after * MAX_RANDOM_AFTER))


def forced(value: str, after: str | None) -> Fault | None:
    """The fault a request asks for with ``x-fakeai-fault`` (None for ``none``)."""
    name = value.strip().lower()
    if name == "none":
        return None
    if name not in FAULT_TYPES:
        raise InvalidRequestError(
            f"x-fakeai-fault: unknown fault {value!r}; use none or one of {', '.join(FAULT_TYPES)}.",
            param="x-fakeai-fault",
        )
    count = DEFAULT_AFTER
    if after is not None:
        try:
            count = int(after)
        except ValueError:
            count = -1
        if count < 0:
            raise InvalidRequestError("x-fakeai-fault-after must be a whole number of events, 0 or more.",
                                      param="x-fakeai-fault-after")
    return Fault(name, count)


def fault_error(fault: Fault, retry_after_ms: int, anthropic: bool = False) -> FakeAIError:
    """The error answer of a replacing fault (rendered in Anthropic's shape on Anthropic requests by
    the API layer; ``overloaded`` is Anthropic's 529 there)."""
    headers = {"x-fakeai-fault": fault.type}
    if fault.type in ("rate_limit", "overloaded"):
        headers["retry-after"] = str(max(1, -(-retry_after_ms // 1000)))
        headers["retry-after-ms"] = str(retry_after_ms)
    if fault.type == "rate_limit":
        return RateLimitError(
            f"Rate limit reached for requests (a fault injected by FakeAI). Please try again in {retry_after_ms}ms.",
            kind="requests", limit="injected", headers=headers,
        )
    if fault.type == "overloaded":
        if anthropic:
            error = OverloadedError("Overloaded", headers=headers)
            error.status_code = 529
            return error
        return OverloadedError(
            "That model is currently overloaded with other requests. You can retry your request, or contact us "
            "through our help center at help.openai.com if the error persists.",
            headers=headers,
        )
    return FakeAIError("Internal server error" if anthropic else SERVER_ERROR, headers=headers)


async def drop_after(seconds: float) -> None:
    """``timeout``: say nothing for ``seconds``, then close the connection."""
    await asyncio.sleep(seconds)
    raise ConnectionDropped()


CHAT, RESPONSES, ANTHROPIC = "chat", "responses", "anthropic"  # the stream framings a fault imitates


def damage(reply: Reply, fault: Fault, wire: str = CHAT) -> Reply:
    """Apply a damaging fault to a (preview) answer; ``wire`` picks the error event's framing."""
    reply.headers["x-fakeai-fault"] = fault.type
    if isinstance(reply, EventStream):
        reply.events = _damaged(reply.events, fault, wire)
        return reply
    if fault.type == "malformed":  # a 200 whose JSON stops halfway
        content = reply.content[: len(reply.content) // 2] or b"{"
        return Body(content=content, status=reply.status, media_type=reply.media_type, headers=reply.headers)
    if fault.type == "stream_cut":  # half the body, then the connection closes
        return TruncatedBody(content=reply.content, status=reply.status, media_type=reply.media_type,
                             headers=reply.headers, cut_at=len(reply.content) // 2)
    # stream_error on a whole answer: there is no stream to carry the error, so it is the error
    raise FakeAIError("Internal server error" if wire == ANTHROPIC else SERVER_ERROR, headers=reply.headers)


def _error_event(fault: Fault, sent: int, wire: str) -> bytes:
    if wire == ANTHROPIC:
        return anthropic_error_event("Internal server error", "api_error")
    if wire == RESPONSES:  # the Responses API's own error event
        body = {"type": "error", "code": "server_error", "message": SERVER_ERROR, "param": None, "sequence_number": sent}
        return sse_event(encode_json(body), "error")
    body = {"error": {"message": SERVER_ERROR, "type": "server_error", "param": None, "code": None}}
    return sse_event(encode_json(body))


MALFORMED_EVENT = b'data: {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "choices": [{"delta": {"cont\n\n'


ANTHROPIC_MALFORMED_EVENT = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"ty\n\n'


async def _damaged(events: AsyncIterator[bytes], fault: Fault, wire: str) -> AsyncIterator[bytes]:
    """Pass ``fault.after`` events, then strike; a stream shorter than that is struck before its
    last event (so a cut stream never ends with ``[DONE]``). One event of look-ahead."""
    sent = 0
    pending: bytes | None = None
    try:
        async for event in events:
            if pending is not None:
                if sent >= fault.after:
                    break
                yield pending
                sent += 1
            pending = event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    if fault.type == "stream_cut":
        raise ConnectionDropped()
    if fault.type == "stream_error":
        yield _error_event(fault, sent, wire)
    else:
        yield ANTHROPIC_MALFORMED_EVENT if wire == ANTHROPIC else MALFORMED_EVENT
