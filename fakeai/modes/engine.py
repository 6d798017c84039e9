"""The engine clock: one simulated inference server per worker, shaped like continuous batching.

Every synthetic text answer (OpenAI chat, completions, responses; Anthropic messages) asks this
one object for time, whatever provider encodes it:

1. **Admission.** ``request()`` opens a ``Sequence`` (and answers 429 at once when the waiting queue
   is full). Its first ``STEP`` takes one of ``--max-concurrency`` slots or waits for one in a FIFO
   queue; time to first token counts the wait, from the request's arrival, as vLLM measures it.
2. **Prefill.** TTFT (less up to 90% for a cached prompt prefix) plus ``--prefill-ms-per-token`` for
   every uncached prompt token; the first token goes out when it ends. It counts from the request's
   arrival (or from the slot's handover after a wait in the queue), so the server's own work before
   it (parsing, the handler, the tasks queued in front when hundreds arrive at once) is part of the
   configured TTFT, not added to it; only a handler slower than the whole prefill makes it late.
3. **Decode.** The sequence joins the running batch. One timer per step serves the whole batch: a
   pushed stream (``EngineStream.push``, what the HTTP layer uses under uvicorn) has its next event
   written by the step itself, one ``write`` call and no task wake-up; an iterated one awaits the
   step's future and sends its event from its own task. A step lasts ``--itl-ms`` plus
   ``--itl-per-seq-ms`` for every running sequence, jittered by ``--latency-jitter`` (seeded by
   ``--latency-seed``). A late step is never made up by a shorter one or by a burst: when the loop
   falls behind (or a step's writes outlast it), every stream's tokens slow down evenly.

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
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from fakeai.errors import RateLimitError
from fakeai.modes.engine_parts import ARRIVAL, STEP, EngineConfig, EngineStream, Sequence, _Pushed

if TYPE_CHECKING:
    from fakeai.metrics import Metrics

__all__ = ["ARRIVAL", "STEP", "Engine", "EngineConfig", "EngineStream", "Sequence"]

# Share of TTFT that is prefill (skippable with a cached prefix); the rest is scheduling/first decode.
PREFILL_SHARE = 0.9
# Pushed streams written per slice of a step (about 1 ms of socket writes); the loop polls between slices.
PUSH_SLICE = 64


class Engine:
    def __init__(self, config: EngineConfig | None = None, metrics: Metrics | None = None, *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.config = c = config or EngineConfig()
        self.metrics = metrics
        self._clock = clock  # the clock of ARRIVAL and of every Sequence time (tests pass the loop's)
        self.stepping = c.itl > 0 or c.itl_per_seq > 0  # decode steps take time
        self.paced = c.ttft > 0 or c.prefill_per_token > 0 or self.stepping  # any waiting at all
        self.limited = c.max_running > 0
        self._rand = random.Random(c.seed)
        self.running = 0  # sequences holding a slot (prefill or decode)
        self.decoding = 0  # sequences in the decode batch
        self.waiting: deque[asyncio.Future] = deque()
        self._step: asyncio.Future | None = None  # resolved by the next step; None while idle
        self._step_at = 0.0  # loop time of the next step
        self._step_no = 0
        self._wake: dict[int, list[asyncio.Future]] = {}  # whole answers due at a step number
        self._pushed: dict[_Pushed, None] = {}  # streams whose tokens the step writes itself (push)
        self._writing = False  # a step's pushed writes are still going out, slice by slice
        self._tick_late = False  # the next step came due meanwhile: it starts when they are out

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
                        ARRIVAL.get(None) or self._clock())

    async def _admit(self, seq: Sequence) -> bool:
        """Take a running slot; True when the sequence had to wait in the queue for it."""
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
            self._hold(seq)
            return True
        self.running += 1
        self._hold(seq)
        return False

    def _hold(self, seq: Sequence) -> None:
        """The sequence runs: its KV cache is reserved for its prompt and whole planned answer."""
        seq._slot = True
        seq.scheduled = self._clock()
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
        """Admission and prefill: returns when the first token is due (prefill counted from arrival)."""
        waited = False
        if self.limited:
            waited = await self._admit(seq)
        else:
            self.running += 1
            self._hold(seq)
        if self.paced:
            start = seq.scheduled if waited else seq.arrival
            delay = start + self.prefill_time(seq) - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
        seq.first_token = self._clock()

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
        if self._writing:  # the last step is still writing: this one waits (a longer step for everyone)
            self._tick_late = True
            return
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
        if self._pushed:
            self._writing = True
            self._push_slice(list(self._pushed), 0, self._step_no)

    def _push_slice(self, batch: list[_Pushed], start: int, number: int) -> None:
        """Pushed streams' next tokens, written from the step itself: no task wakes up per token.

        A step writes ``PUSH_SLICE`` streams at a time and lets the loop run in between: 800 socket
        writes are ~10 ms, and a loop that does not poll meanwhile leaves new requests unread (their
        arrival, and so their TTFT, later). A stream keeps its place in the batch, so its tokens stay
        one step apart; the next step waits until this one's writes are all out.
        """
        end = start + PUSH_SLICE
        ended: list[_Pushed] = []
        for p in batch[start:end]:
            if p.target > number or p.done.done():  # joins at the next step; or left meanwhile
                continue
            p.seq.steps += 1
            try:
                chunk, more = _until_step(p.events)
                if chunk:
                    p.write(chunk)
                if not more:
                    ended.append(p)
                    p.done.set_result(None)
            except Exception as exc:  # the encoder or the write failed: the stream's own task raises it
                ended.append(p)
                p.done.set_exception(exc)
        for p in ended:
            self._pushed.pop(p, None)
        if end < len(batch):
            asyncio.get_running_loop().call_soon(self._push_slice, batch, end, number)
            return
        self._writing = False
        if self._tick_late:
            self._tick_late = False
            self._tick()

    async def _push_decode(self, seq: Sequence, events: Iterator[Any], write: Callable[[bytes], Any]) -> None:
        """Hand a stream's decode phase to the step (``_push_slice``); returns when its encoder is done."""
        p = _Pushed(seq, events, write, asyncio.get_running_loop().create_future(), self._join(seq))
        self._pushed[p] = None
        try:
            await p.done
        finally:
            self._pushed.pop(p, None)  # cancelled (the client left): out of the batch before the next step

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

    def stream(self, seq: Sequence, events: Iterable[Any]) -> EngineStream:
        """Send an encoder's events on the clock (see the module docstring for the ``STEP`` protocol)."""
        return EngineStream(self, seq, events)

    async def _pushed_stream(self, seq: Sequence, events: Iterable[Any], write: Callable[[bytes], Any]) -> None:
        """``EngineStream.push``: the events before the first decode step from the caller's task, the rest
        from the step."""
        done = False
        it = iter(events)
        try:
            head, more = _until_step(it)  # e.g. the role event, or response.created: at once
            if head:
                write(head)
            if more:
                await self._start(seq)
                first, more = _until_step(it)  # the first token (and whatever goes with it)
                if first:
                    write(first)
                if more:
                    await self._push_decode(seq, it, write)
            done = True
        finally:
            self._finish(seq, done)

    async def _stream(self, seq: Sequence, events: Iterable[Any]) -> AsyncIterator[bytes]:
        done = False
        started = False
        try:
            if self.paced or self.limited:
                for event in events:
                    if event is STEP:
                        if started:
                            if not self.stepping:
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
                    elif self.stepping:
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
            seq.scheduled = seq.first_token = self._clock()
            seq.steps = max(tokens - 1, 0)
            self._finish(seq, True)
            return
        done = False
        try:
            await self._start(seq)
            if tokens > 1 and self.stepping:
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
        seq.finished = self._clock()
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


def _until_step(events: Iterator[Any]) -> tuple[bytes, bool]:
    """The events up to the next ``STEP`` as one write (one socket send for a step's events, e.g. the last
    token with the finish event and ``[DONE]``); False once the encoder is exhausted."""
    chunk = b""
    for event in events:
        if event is STEP:
            return chunk, True
        chunk = event if not chunk else chunk + event
    return chunk, False
