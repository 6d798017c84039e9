"""The engine's vocabulary: its knobs, a sequence's life, the ``STEP`` marker and ``EngineStream``
(what ``Engine.stream`` returns). The clock itself is ``engine.Engine``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakeai.modes.engine import Engine

__all__ = ["ARRIVAL", "STEP", "EngineConfig", "EngineStream", "Sequence"]

# When the request arrived (time.perf_counter()), set by the HTTP layer: queue time and TTFT count from it.
ARRIVAL: ContextVar[float] = ContextVar("fakeai_arrival")


class _Step:
    __slots__ = ()

    def __repr__(self) -> str:
        return "STEP"


STEP: Any = _Step()  # the marker an encoder yields where its sequence waits for the engine


class EngineConfig:
    """The knobs, in seconds; built from Settings once per worker."""

    __slots__ = ("ttft", "itl", "jitter", "seed", "prefill_per_token", "max_running", "max_queue",
                 "itl_per_seq", "kv_capacity")

    def __init__(self, ttft_ms: float = 0.0, itl_ms: float = 0.0, jitter: float = 0.0, seed: int | None = None,
                 prefill_ms_per_token: float = 0.0, max_concurrency: int = 0, max_queue: int = 0,
                 itl_per_seq_ms: float = 0.0, kv_capacity: int = 1_000_000) -> None:
        self.ttft = max(float(ttft_ms), 0.0) / 1000.0
        self.itl = max(float(itl_ms), 0.0) / 1000.0
        self.jitter = min(max(float(jitter), 0.0), 1.0)
        self.seed = seed
        self.prefill_per_token = max(float(prefill_ms_per_token), 0.0) / 1000.0
        self.max_running = max(int(max_concurrency), 0)  # 0: unlimited
        self.max_queue = max(int(max_queue), 0)  # 0: unlimited
        self.itl_per_seq = max(float(itl_per_seq_ms), 0.0) / 1000.0
        self.kv_capacity = max(int(kv_capacity), 1)

    @classmethod
    def from_settings(cls, s: Any) -> EngineConfig:
        return cls(s.ttft_ms, s.itl_ms, s.latency_jitter, s.latency_seed, s.prefill_ms_per_token,
                   s.max_concurrency, s.max_queue, s.itl_per_seq_ms, s.kv_capacity)


class Sequence:
    """One request's life in the engine, and the times the metrics report (perf_counter seconds)."""

    __slots__ = ("model", "prompt_tokens", "cached_tokens", "n", "max_tokens", "completion_tokens",
                 "finish_reason", "arrival", "scheduled", "first_token", "finished", "steps", "_slot", "_joined")

    def __init__(self, model: str, prompt_tokens: int, cached_tokens: int, n: int, completion_tokens: int,
                 finish_reason: str, max_tokens: int | None, arrival: float) -> None:
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.cached_tokens = cached_tokens
        self.n = n
        self.max_tokens = max_tokens
        self.completion_tokens = completion_tokens  # planned; an aborted stream reports what it sent
        self.finish_reason = finish_reason  # vLLM's: stop | length | abort | error
        self.arrival = arrival
        self.scheduled = self.first_token = self.finished = 0.0
        self.steps = 0  # decode steps taken after the first token
        self._slot = False  # holds a running slot (released once)
        self._joined = False  # counted in the decode batch


class _Pushed:
    __slots__ = ("seq", "events", "write", "done", "target")

    def __init__(self, seq: Sequence, events: Iterator[Any], write: Callable[[bytes], Any], done: asyncio.Future,
                 target: int) -> None:
        self.seq, self.events, self.write, self.done, self.target = seq, events, write, done, target


class EngineStream:
    """A sequence's events: an async iterator (any consumer), or pushed by the engine (``push``).

    Iterated, every stream's task wakes at every step to send its next token: at hundreds of streams
    those wake-ups, the async generators between the encoder and the socket and the server's ``send``
    are most of a worker's CPU. ``push(write)`` lets the step write each stream's token itself, through
    a plain function the HTTP layer gives (one ``transport.write`` of a ready chunk), while the
    stream's task only awaits the end. Both send the same events at the same steps.
    """

    __slots__ = ("_engine", "_seq", "_events", "_iter")

    def __init__(self, engine: Engine, seq: Sequence, events: Iterable[Any]) -> None:
        self._engine, self._seq, self._events = engine, seq, events
        self._iter = engine._stream(seq, events)

    @property
    def pushable(self) -> bool:
        """Whether ``push`` is worth it: the engine steps (an inter-token latency is set)."""
        return self._engine.stepping

    def push(self, write: Callable[[bytes], Any]) -> Awaitable[None]:
        """Write every event with ``write`` (which must not block); returns when the stream has ended."""
        return self._engine._pushed_stream(self._seq, self._events, write)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter

    def __anext__(self) -> Awaitable[bytes]:
        return self._iter.__anext__()

    def aclose(self) -> Awaitable[None]:
        return self._iter.aclose()
