"""The engine clock on a virtual clock: an event loop whose time jumps to the next timer instead of
sleeping, so the schedule is exact and the tests take no wall time (and assert no wall time)."""

from __future__ import annotations

import asyncio
import selectors

import pytest

from fakeai.errors import RateLimitError
from fakeai.metrics import Metrics
from fakeai.modes.engine import ARRIVAL, STEP, EngineConfig
from fakeai.modes.engine import Engine as _Engine
from fakeai.modes.synthetic.textcommon import paced_choices


class _VirtualSelector(selectors.DefaultSelector):
    def __init__(self, loop: VirtualLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None):  # noqa: ANN201
        if timeout:  # nothing is ready before the next timer: jump there
            self._loop.now += timeout
        return super().select(0)


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 1000.0
        super().__init__(_VirtualSelector(self))

    def time(self) -> float:
        return self.now


def Engine(*args, **kwargs) -> _Engine:  # noqa: N802 # the engine on the virtual loop's clock
    return _Engine(*args, clock=lambda: asyncio.get_running_loop().time(), **kwargs)


def run(coro):  # noqa: ANN001, ANN201
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def tokens(n: int) -> list:
    """An encoder: a head event at once, then n tokens (the first at TTFT, one per step after)."""
    return list(paced_choices([b"role"], [[b"t%d" % i for i in range(n)] + [b"finish"]]))


def count_calls(engine: _Engine, method: str) -> list[int]:
    """Wrap one of the engine's methods; the list's one item counts its calls."""
    calls = [0]
    original = getattr(engine, method)

    def counting(*args) -> None:  # noqa: ANN002
        calls[0] += 1
        original(*args)

    setattr(engine, method, counting)
    return calls


async def timed(engine: Engine, seq, events) -> list[tuple[float, bytes]]:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    start = loop.time()
    return [(round((loop.time() - start) * 1000, 3), e) async for e in engine.stream(seq, events)]


def test_stream_cadence_ttft_then_one_step_per_token():
    engine = Engine(EngineConfig(ttft_ms=200, itl_ms=20))

    async def main():
        return await timed(engine, engine.request("m", 10), tokens(5))

    out = run(main())
    assert [e for _, e in out] == [b"role", b"t0", b"t1", b"t2", b"t3", b"t4", b"finish"]
    times = [t for t, _ in out]
    assert times[:2] == [200.0, 200.0]  # role and first token at TTFT
    assert times[2:6] == [220.0, 240.0, 260.0, 280.0]
    assert times[6] == 280.0  # the finish event right after the last token
    assert engine.running == 0 and engine.decoding == 0


def test_one_timer_per_step_for_the_whole_batch():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10))
    ticks = count_calls(engine, "_tick")

    async def main():
        return await asyncio.gather(*(timed(engine, engine.request("m", 5), tokens(11)) for _ in range(50)))

    outs = run(main())
    assert all([t for t, _ in out][-1] == 200.0 for out in outs)  # 100 + 10 steps x 10 ms, every stream
    assert ticks == [10]  # not 50 x 10


def test_prefill_cost_counts_uncached_prompt_tokens():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10, prefill_ms_per_token=0.5))

    async def main():
        cold = await timed(engine, engine.request("m", 1000), tokens(1))
        warm = await timed(engine, engine.request("m", 1000, cached_tokens=800), tokens(1))
        return cold[0][0], warm[0][0]

    cold, warm = run(main())
    assert cold == 100 + 1000 * 0.5
    assert warm == pytest.approx(100 * (1 - 0.9 * 0.8) + 200 * 0.5)


def test_admission_queue_is_fifo_and_ttft_includes_the_wait():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10, max_concurrency=2))
    order: list[int] = []

    async def one(i: int) -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        first = None
        async for event in engine.stream(engine.request("m", 1), tokens(3)):
            if first is None and event == b"t0":
                first = loop.time() - start
                order.append(i)
        return round(first * 1000, 3)

    async def main():
        tasks = []
        for i in range(6):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(0)  # arrive in order
        return await asyncio.gather(*tasks)

    ttfts = run(main())
    assert order == [0, 1, 2, 3, 4, 5]
    # Two run at once, each holding its slot for 100 ms prefill + 2 steps of 10 ms.
    assert ttfts == [100.0, 100.0, 220.0, 220.0, 340.0, 340.0]
    assert engine.running == 0 and not engine.waiting


def test_full_queue_answers_429_with_retry_after():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10, max_concurrency=1, max_queue=2))

    async def main():
        async def drain(seq):  # noqa: ANN001
            return [e async for e in engine.stream(seq, tokens(2))]

        running = [asyncio.create_task(drain(engine.request("m", 1))) for _ in range(3)]
        await asyncio.sleep(0.001)  # one runs, two wait
        assert engine.running == 1 and len(engine.waiting) == 2
        with pytest.raises(RateLimitError) as refused:
            engine.request("m", 1)
        await asyncio.gather(*running)
        engine.request("m", 1)  # room again
        return refused.value

    err = run(main())
    assert err.status_code == 429 and err.code == "rate_limit_exceeded"
    assert int(err.headers["retry-after"]) >= 1
    assert err.to_dict()["error"]["type"] == "rate_limit_error"


def test_batch_slows_down_with_itl_per_seq():
    engine = Engine(EngineConfig(itl_ms=10, itl_per_seq_ms=1))

    async def main():
        return await asyncio.gather(*(timed(engine, engine.request("m", 1), tokens(3)) for _ in range(10)))

    outs = run(main())
    gaps = {round(out[3][0] - out[2][0], 3) for out in outs}
    assert gaps == {20.0}  # 10 ms + 1 ms x 10 running sequences


def test_itl_per_seq_alone_paces_iterated_and_pushed_streams_alike():
    engine = Engine(EngineConfig(itl_per_seq_ms=2))

    async def main():
        return await asyncio.gather(*(timed(engine, engine.request("m", 1), tokens(3)) for _ in range(5)),
                                    *(pushed(engine, engine.request("m", 1), tokens(3)) for _ in range(5)))

    outs = run(main())
    assert all(out == by_time(outs[0]) for out in outs[5:])  # pushed: one write per step, same times
    # The first step was timed when one sequence had joined (2 ms), the next with all ten (20 ms).
    assert [t for t, _ in outs[0]] == [0.0, 0.0, 2.0, 22.0, 22.0]


def test_late_step_delays_everyone_and_never_bursts():
    engine = Engine(EngineConfig(itl_ms=10))

    async def main():
        loop = asyncio.get_running_loop()

        async def stall():  # the worker is busy for 35 ms at 15 ms: three steps are missed
            await asyncio.sleep(0.015)
            loop.now += 0.035

        stalled = asyncio.create_task(stall())
        outs = await asyncio.gather(*(timed(engine, engine.request("m", 1), tokens(8)) for _ in range(3)))
        await stalled
        return outs

    for out in run(main()):
        token_times = [t for t, e in out if e.startswith(b"t")]
        gaps = [round(b - a, 3) for a, b in zip(token_times, token_times[1:])]
        assert min(gaps) >= 10.0  # no catch-up: every gap at least one step
        assert max(gaps) > 30.0  # the stall shows as one long gap, for every stream alike


def test_whole_answer_rides_the_same_clock():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10))

    async def main():
        loop = asyncio.get_running_loop()
        start = loop.time()
        await engine.complete(engine.request("m", 1, completion_tokens=21), 21)
        return round((loop.time() - start) * 1000, 3)

    assert run(main()) == 100 + 20 * 10


def test_jitter_repeats_with_a_seed():
    def schedule(seed):  # noqa: ANN001, ANN202
        engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10, jitter=0.3, seed=seed))

        async def main():
            return [t for t, _ in await timed(engine, engine.request("m", 1), tokens(10))]

        return run(main())

    assert schedule(7) == schedule(7)
    assert schedule(7) != schedule(8)


def test_client_leaving_frees_the_slot_and_counts_an_abort():
    metrics = Metrics()
    engine = Engine(EngineConfig(ttft_ms=50, itl_ms=10, max_concurrency=1), metrics)

    async def main():
        stream = engine.stream(engine.request("m", 3, completion_tokens=10), tokens(10))
        got = [await stream.__anext__() for _ in range(4)]  # role, t0, t1, t2
        await stream.aclose()
        assert engine.running == 0
        rest = [e async for e in engine.stream(engine.request("m", 3, completion_tokens=10), tokens(10))]
        return got, rest

    try:
        got, rest = run(main())
        assert got[-1] == b"t2" and rest[-1] == b"finish"
        families = {f.name: f for f in metrics.collect()}
        success = {s.labels["finished_reason"]: s.value for s in families["vllm:request_success"].samples}
        assert success == {"abort": 1.0, "stop": 1.0, "length": 0.0, "error": 0.0}  # every reason shown
        generated = sum(s.value for s in families["vllm:generation_tokens"].samples)
        assert generated == 3 + 10  # what the leaver was sent, plus a whole answer
    finally:
        metrics.close()


def test_events_before_the_first_step_go_out_at_once():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10))

    async def main():
        return await timed(engine, engine.request("m", 1), [b"created", STEP, b"delta", STEP, b"delta2", b"done"])

    assert run(main()) == [(0.0, b"created"), (100.0, b"delta"), (110.0, b"delta2"), (110.0, b"done")]


def test_prefill_counts_from_arrival_not_from_when_the_handler_got_to_it():
    """Work done before the engine saw the request (parsing, tasks queued in front) is part of TTFT."""
    engine = Engine(EngineConfig(ttft_ms=200, itl_ms=10, prefill_ms_per_token=1))

    async def arrived(ago_ms: float) -> list[float]:
        ARRIVAL.set(asyncio.get_running_loop().time() - ago_ms / 1000)
        return [t for t, _ in await timed(engine, engine.request("m", 50), tokens(3))]

    async def main():
        fresh = await asyncio.create_task(arrived(0))
        late = await asyncio.create_task(arrived(150))
        too_late = await asyncio.create_task(arrived(400))  # the handler alone took longer than prefill
        return fresh, late, too_late

    fresh, late, too_late = run(main())
    assert fresh == [250.0, 250.0, 260.0, 270.0, 270.0]  # 200 + 50 tokens x 1 ms
    assert late == [100.0, 100.0, 110.0, 120.0, 120.0]  # 150 ms of it already spent
    assert too_late[:2] == [0.0, 0.0] and too_late[2:4] == [10.0, 20.0]  # at once, then the step cadence


def test_after_a_queue_wait_prefill_counts_from_the_slot_handover():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10, max_concurrency=1))

    async def one() -> float:
        loop = asyncio.get_running_loop()
        ARRIVAL.set(loop.time() - 0.050)  # arrived 50 ms before the handler ran
        start = loop.time()
        first = None
        async for event in engine.stream(engine.request("m", 1), tokens(2)):
            if event == b"t0":
                first = round((loop.time() - start) * 1000, 3)
        return first

    async def main():
        return await asyncio.gather(asyncio.create_task(one()), asyncio.create_task(one()))

    first, second = run(main())
    assert first == 50.0  # 100 from arrival, 50 of them already gone
    assert second == 50.0 + 10.0 + 100.0  # waits for the first to finish (t0, t1: one step), then a full prefill


def by_time(events: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Events sent at the same time as one: what a pushed stream writes (one write per step)."""
    out: list[tuple[float, bytes]] = []
    for t, e in events:
        if out and out[-1][0] == t:
            out[-1] = (t, out[-1][1] + e)
        else:
            out.append((t, e))
    return out


async def pushed(engine: Engine, seq, events) -> list[tuple[float, bytes]]:  # noqa: ANN001
    """``timed`` for a pushed stream: the engine's step calls ``write`` itself, once per step."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    out: list[tuple[float, bytes]] = []
    stream = engine.stream(seq, events)
    assert stream.pushable
    await stream.push(lambda e: out.append((round((loop.time() - start) * 1000, 3), e)))
    return out


def test_pushed_stream_sends_what_an_iterated_one_sends_at_the_same_times():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10, prefill_ms_per_token=0.5))

    async def main():
        return await asyncio.gather(
            timed(engine, engine.request("m", 40), tokens(12)),
            pushed(engine, engine.request("m", 40), tokens(12)),
            pushed(engine, engine.request("m", 40), [b"created", STEP, b"delta", STEP, b"delta2", b"done"]),
        )

    iterated, push, other = run(main())
    assert push == by_time(iterated) and b"".join(e for _, e in push) == b"".join(e for _, e in iterated)
    assert [t for t, _ in push][:3] == [120.0, 130.0, 140.0]  # 100 + 40 x 0.5, then one step each
    assert other == [(0.0, b"created"), (120.0, b"delta"), (130.0, b"delta2done")]
    assert engine.running == 0 and engine.decoding == 0 and not engine._pushed


def test_pushed_streams_share_one_timer_per_step():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10))
    ticks = count_calls(engine, "_tick")

    async def main():
        return await asyncio.gather(*(pushed(engine, engine.request("m", 5), tokens(11)) for _ in range(50)))

    outs = run(main())
    assert all(len(out) == 11 and out[-1] == (200.0, b"t10finish") for out in outs)  # one write per step
    assert ticks == [10]


def test_pushed_stream_left_by_its_client_stops_writing_and_counts_an_abort():
    metrics = Metrics()
    engine = Engine(EngineConfig(ttft_ms=50, itl_ms=10, max_concurrency=1), metrics)
    written: list[bytes] = []

    async def main():
        stream = engine.stream(engine.request("m", 3, completion_tokens=10), tokens(10))
        task = asyncio.create_task(stream.push(written.append))
        await asyncio.sleep(0.075)  # t0 at 50, t1 at 60, t2 at 70
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert engine.running == 0 and engine.decoding == 0 and not engine._pushed
        await asyncio.sleep(0.05)  # steps that would have come: nothing more is written
        return list(written)

    try:
        got = run(main())
        assert got == [b"rolet0", b"t1", b"t2"]
        families = {f.name: f for f in metrics.collect()}
        success = {s.labels["finished_reason"]: s.value for s in families["vllm:request_success"].samples}
        assert success["abort"] == 1.0 and success["stop"] == 0.0
        assert sum(s.value for s in families["vllm:generation_tokens"].samples) == 3
    finally:
        metrics.close()


def test_a_failing_write_ends_only_its_own_stream():
    engine = Engine(EngineConfig(ttft_ms=50, itl_ms=10))

    def broken(event: bytes) -> None:
        if event == b"t3":
            raise OSError("connection reset")

    async def main():
        bad = asyncio.create_task(engine.stream(engine.request("m", 3), tokens(8)).push(broken))
        good = asyncio.create_task(pushed(engine, engine.request("m", 3), tokens(8)))
        with pytest.raises(OSError, match="connection reset"):
            await bad
        return await good

    out = run(main())
    assert out[-1][1] == b"t7finish"
    assert engine.running == 0 and not engine._pushed


def test_pushed_stream_joining_just_before_a_step_waits_for_the_next_one():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10))

    async def later(drive):  # noqa: ANN001
        await asyncio.sleep(0.018)  # first token at 118: the batch's step at 120 is too close
        return await drive(engine, engine.request("m", 1), tokens(3))

    async def main():
        _, push, iterated = await asyncio.gather(
            timed(engine, engine.request("m", 1), tokens(6)), later(pushed), later(timed))
        return push, iterated

    push, iterated = run(main())
    assert iterated == [(100.0, b"role"), (100.0, b"t0"), (112.0, b"t1"), (122.0, b"t2"), (122.0, b"finish")]
    assert push == by_time(iterated)


def test_a_big_batch_is_written_in_slices_on_the_same_step():
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10))
    slices = count_calls(engine, "_push_slice")

    async def main():
        return await asyncio.gather(*(pushed(engine, engine.request("m", 5), tokens(11)) for _ in range(150)))

    outs = run(main())
    assert all([t for t, _ in out] == [t for t, _ in outs[0]] for out in outs)  # every stream on every step
    assert [t for t, _ in outs[0]] == [100.0 + 10 * i for i in range(11)]
    assert slices == [10 * 3]  # 150 streams: three slices of at most 64 per step


def test_an_overloaded_step_delays_the_next_for_everyone_and_never_doubles_a_token():
    """Writes that take longer than a step (the loop's time moves 0.1 ms per write here): the next step
    starts when the last one's writes are out, so a stream's tokens never come closer than one step."""
    engine = Engine(EngineConfig(ttft_ms=100, itl_ms=10))
    steps: list[list[float]] = []  # [first slice's start, last slice's end] of every step
    original = engine._push_slice

    def timing_slices(batch, start, number) -> None:  # noqa: ANN001
        now = asyncio.get_running_loop().time
        if start == 0:
            steps.append([now(), 0.0])
        original(batch, start, number)
        if start + 64 >= len(batch):
            steps[-1][1] = now()

    engine._push_slice = timing_slices  # type: ignore[method-assign]

    async def main():
        loop = asyncio.get_running_loop()

        async def one() -> list[float]:
            times: list[float] = []

            def write(event: bytes) -> None:
                times.append(loop.time())
                loop.now += 0.0001  # type: ignore[attr-defined]

            await engine.stream(engine.request("m", 1), tokens(8)).push(write)
            return times

        return await asyncio.gather(*(one() for _ in range(200)))

    outs = run(main())
    for times in outs:
        token_times = times  # one write per step: role with the first token, finish with the last
        gaps = [b - a for a, b in zip(token_times[1:], token_times[2:])]
        assert len(token_times) == 8 and min(gaps) >= 0.010 - 1e-9  # a step lasts at least the ITL
        assert sorted(gaps)[len(gaps) // 2] >= 200 * 0.0001 - 1e-9  # and, once all have joined, the batch's writes
    assert engine.decoding == 0 and not engine._writing and not engine._pushed
    assert len(steps) >= 8 and all(nxt[0] >= prev[1] for prev, nxt in zip(steps, steps[1:]))  # never overlapping
    assert max(end - start for start, end in steps) > 0.012  # steps whose writes outlasted the 10 ms ITL
