"""The engine clock: one simulated inference server per worker, shaped like continuous batching.

Every synthetic text answer (OpenAI chat, completions, responses; Anthropic messages) asks this
one object for time, whatever provider encodes it:

1. **Admission.** ``request()`` opens a ``Sequence`` (and answers 429 at once when the waiting queue
   is full). Its first ``STEP`` takes one of ``--max-concurrency`` slots or waits for one in a FIFO
   queue; time to first token counts the wait, from the request's arrival, as vLLM measures it.
2. **Prefill.** TTFT (less up to 90% for a cached prompt prefix) plus ``--prefill-ms-per-token`` for
   every uncached prompt token; the first token goes out when it ends.
3. **Decode.** The sequence joins the running batch. One timer per step wakes the whole batch (one
   future every sequence awaits); each sequence then sends its next event, the only per-stream work
   in a step. A step lasts ``--itl-ms`` plus ``--itl-per-seq-ms`` for every running sequence, jittered
   by ``--latency-jitter`` (seeded by ``--latency-seed``). A late step is never made up by a shorter
   one or by a burst: when the loop falls behind, every stream's tokens slow down evenly.

**The seam.** A provider's encoder is a plain iterator of ready-framed events with ``STEP`` markers
between them: everything before the first ``STEP`` goes out at once (e.g. ``response.created``), the
first ``STEP`` is the end of prefill (time to first token), every later one is the next decode step.
``Engine.stream(seq, events)`` drives it (``astream`` for an async encoder); a whole answer awaits
``Engine.complete(seq)`` (sent when its last token would be). The engine never looks inside an event.

With the latency model off and no concurrency limit the engine never waits: it only keeps the
counts and times the metrics report.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from fakeai.errors import RateLimitError

if TYPE_CHECKING:
    from fakeai.metrics import Metrics

__all__ = ["ARRIVAL", "STEP", "Engine", "EngineConfig", "Sequence"]

# Share of TTFT that is prefill (skippable with a cached prefix); the rest is scheduling/first decode.
PREFILL_SHARE = 0.9

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


class Engine:
    def __init__(self, config: EngineConfig | None = None, metrics: Metrics | None = None) -> None:
        self.config = c = config or EngineConfig()
        self.metrics = metrics
        self.paced = c.ttft > 0 or c.itl > 0 or c.prefill_per_token > 0  # any waiting at all
        self.limited = c.max_running > 0
        self._rand = random.Random(c.seed)
        self.running = 0  # sequences holding a slot (prefill or decode)
        self.decoding = 0  # sequences in the decode batch
        self.waiting: deque[asyncio.Future] = deque()
        self._step: asyncio.Future | None = None  # resolved by the next step; None while idle
        self._step_at = 0.0  # loop time of the next step
        self._step_no = 0
        self._wake: dict[int, list[asyncio.Future]] = {}  # whole answers due at a step number

    # -- admission -------------------------------------------------------------------------------------

    def request(self, model: str, prompt_tokens: int, cached_tokens: int = 0, *, n: int = 1,
                completion_tokens: int = 0, finish_reason: str = "stop", max_tokens: int | None = None) -> Sequence:
        """A new sequence; 429 when the waiting queue is already full (decided before any answer starts)."""
        c = self.config
        if self.limited and c.max_queue and self.running >= c.max_running and len(self.waiting) >= c.max_queue:
            if self.metrics is not None:
                self.metrics.engine_rejected(model)
            retry = max(1, round(c.ttft + c.itl * 16 + 0.5))
            raise RateLimitError(
                f"The server is at capacity ({c.max_running} running, {len(self.waiting)} waiting). "
                "Please retry after a short wait.",
                headers={"retry-after": str(retry)},
            )
        return Sequence(model, prompt_tokens, cached_tokens, n, completion_tokens, finish_reason, max_tokens,
                        ARRIVAL.get(None) or time.perf_counter())

    async def _admit(self, seq: Sequence) -> None:
        if self.limited and self.running >= self.config.max_running:
            slot = asyncio.get_running_loop().create_future()
            self.waiting.append(slot)
            self._load(seq.model, 0, 1, 0)
            try:
                await slot  # a finishing sequence hands its slot over (running stays the same)
            except asyncio.CancelledError:
                if slot.done() and not slot.cancelled():
                    self._release_slot()  # handed over just as we left
                else:
                    self.waiting.remove(slot)
                self._load(seq.model, 0, -1, 0)
                raise
            self._load(seq.model, 0, -1, 0)
        else:
            self.running += 1
        self._hold(seq)

    def _hold(self, seq: Sequence) -> None:
        """The sequence runs: its KV cache is reserved for its prompt and whole planned answer."""
        seq._slot = True
        seq.scheduled = time.perf_counter()
        self._load(seq.model, 1, 0, seq.prompt_tokens + seq.completion_tokens)

    def _release_slot(self) -> None:
        while self.waiting:
            slot = self.waiting.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self.running -= 1

    def prefill_time(self, seq: Sequence) -> float:
        c = self.config
        ttft = c.ttft
        if seq.cached_tokens and seq.prompt_tokens:
            ttft *= 1.0 - PREFILL_SHARE * min(seq.cached_tokens / seq.prompt_tokens, 1.0)
        return self._jit(ttft) + c.prefill_per_token * max(seq.prompt_tokens - seq.cached_tokens, 0)

    async def _start(self, seq: Sequence) -> None:
        """Admission and prefill: returns when the first token is due."""
        if self.limited:
            await self._admit(seq)
        else:
            self.running += 1
            self._hold(seq)
        if self.paced:
            delay = self.prefill_time(seq)
            if delay > 0:
                await asyncio.sleep(delay)
        seq.first_token = time.perf_counter()

    # -- the step clock ----------------------------------------------------------------------------------

    def _jit(self, seconds: float) -> float:
        j = self.config.jitter
        if j and seconds:
            return seconds * (1.0 + j * (2.0 * self._rand.random() - 1.0))
        return seconds

    def step_time(self) -> float:
        c = self.config
        return self._jit(c.itl + c.itl_per_seq * self.decoding)

    def _join(self, seq: Sequence) -> int:
        """Enter the decode batch; the number of the first step this sequence takes a token at.

        The first decode token comes about one step after the first token: a step due sooner than
        half a step is skipped, so no gap is shorter than half an inter-token latency.
        """
        seq._joined = True
        self.decoding += 1
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._step is None:  # idle clock: start it one step from now
            self._step = loop.create_future()
            self._step_at = now + self.step_time()
            loop.call_at(self._step_at, self._tick)
            return self._step_no + 1
        if self._step_at - now < self.config.itl / 2:
            return self._step_no + 2
        return self._step_no + 1

    def _tick(self) -> None:
        """One decode step for the whole batch: one timer, one future resolved, whole answers due now."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        step, due = self._step, self._step_at
        self._step_no += 1
        if self.decoding:
            length = self.step_time()
            nxt = due + length
            if nxt < now + length / 2:  # fell behind: restart the cadence instead of catching up
                nxt = now + length
            self._step_at = nxt
            self._step = loop.create_future()
            loop.call_at(nxt, self._tick)
        else:
            self._step = None
        if step is not None:
            step.set_result(None)
        woken = self._wake.pop(self._step_no, None)
        if woken:
            for fut in woken:
                if not fut.done():
                    fut.set_result(None)

    async def _next_step(self, seq: Sequence) -> None:
        if not seq._joined:
            target = self._join(seq)
            while self._step_no < target:
                await self._step  # type: ignore[misc]
        else:
            step = self._step
            if step is None:  # cannot happen while joined; keep going rather than hang
                self._join(seq)
                step = self._step
            await step  # type: ignore[misc]
        seq.steps += 1

    # -- driving a sequence --------------------------------------------------------------------------------

    async def stream(self, seq: Sequence, events: Iterable[Any]) -> AsyncIterator[bytes]:
        """Send an encoder's events on the clock (see the module docstring for the ``STEP`` protocol)."""
        done = False
        started = False
        try:
            if self.paced or self.limited:
                stepping = self.config.itl > 0 or self.config.itl_per_seq > 0
                for event in events:
                    if event is STEP:
                        if started:
                            if not stepping:
                                seq.steps += 1
                            elif seq._joined and self._step is not None:  # _next_step inlined: per token
                                await self._step
                                seq.steps += 1
                            else:
                                await self._next_step(seq)
                        else:
                            started = True
                            await self._start(seq)
                    else:
                        yield event
            else:  # as fast as possible: only the first token's time is taken
                for event in events:
                    if event is STEP:
                        if not started:
                            started = True
                            self._start_unpaced(seq)
                        else:
                            seq.steps += 1
                    else:
                        yield event
            done = True
        finally:
            self._finish(seq, done)

    async def astream(self, seq: Sequence, events: AsyncIterable[Any]) -> AsyncIterator[bytes]:
        """``stream`` for an encoder that awaits between events (e.g. to store the answer first)."""
        done = False
        started = False
        try:
            async for event in events:
                if event is STEP:
                    if not started:
                        started = True
                        await self._start(seq)
                    elif self.config.itl > 0 or self.config.itl_per_seq > 0:
                        await self._next_step(seq)
                    else:
                        seq.steps += 1
                else:
                    yield event
            done = True
        finally:
            self._finish(seq, done)

    async def complete(self, seq: Sequence, tokens: int) -> None:
        """A whole answer of ``tokens`` tokens (per choice): returns when its last token would be sent."""
        if not (self.paced or self.limited):
            # Nothing to wait for: the request starts and ends without yielding to the loop, so no
            # scrape can see it running; the gauges' +1/-1 would be two wasted writes per request.
            seq.scheduled = seq.first_token = time.perf_counter()
            seq.steps = max(tokens - 1, 0)
            self._finish(seq, True)
            return
        done = False
        try:
            await self._start(seq)
            if tokens > 1 and (self.config.itl > 0 or self.config.itl_per_seq > 0):
                target = self._join(seq) + tokens - 2
                fut = asyncio.get_running_loop().create_future()
                self._wake.setdefault(target, []).append(fut)
                await fut
            seq.steps = max(tokens - 1, 0)
            done = True
        finally:
            self._finish(seq, done)

    def _start_unpaced(self, seq: Sequence) -> None:
        self.running += 1
        self._hold(seq)
        seq.first_token = seq.scheduled

    def _finish(self, seq: Sequence, done: bool) -> None:
        seq.finished = time.perf_counter()
        if seq._joined:
            seq._joined = False
            self.decoding -= 1
        if seq._slot:
            seq._slot = False
            if self.limited:
                self._release_slot()
            else:
                self.running -= 1
            self._load(seq.model, -1, 0, -(seq.prompt_tokens + seq.completion_tokens))
        if not done:  # the client left (or the answer failed): report what was sent
            seq.finish_reason = "abort"
            seq.completion_tokens = min(seq.completion_tokens, (seq.steps + 1) * seq.n if seq.first_token else 0)
        if self.metrics is not None:
            self.metrics.engine_finished(seq)

    def _load(self, model: str, running: int, waiting: int, kv_tokens: int) -> None:
        """Per-model changes for the gauges (running, waiting, KV-cache tokens reserved)."""
        if self.metrics is not None:
            self.metrics.engine_load(model, running, waiting, kv_tokens / self.config.kv_capacity)
