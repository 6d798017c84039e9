"""The fault policy: seeded draws, weights, endpoint scoping, forced faults (fakeai/edge/faults.py)."""

from __future__ import annotations

import asyncio

import pytest

from fakeai.edge.faults import Fault, FaultPolicy, TruncatedBody, damage, forced
from fakeai.errors import FakeAIError, InvalidRequestError
from fakeai.modes.base import SSE_DONE, Body, EventStream
from fakeai.settings import Settings, SettingsError


def policy(rate: float, types: tuple[str, ...], seed: int | None = 1, endpoints: tuple[str, ...] = ()) -> FaultPolicy:
    settings = Settings(fault_rate=rate, fault_types=types, fault_seed=seed)
    return FaultPolicy(rate, settings.fault_weights(), seed, endpoints)


def sequence(p: FaultPolicy, n: int = 200) -> list[str | None]:
    return [(f.type if (f := p.draw(i)) else None) for i in range(n)]


def test_same_seed_same_sequence_other_seed_another() -> None:
    first = sequence(policy(0.3, ("rate_limit", "stream_cut=3")))
    assert first == sequence(policy(0.3, ("rate_limit", "stream_cut=3")))
    assert first != sequence(policy(0.3, ("rate_limit", "stream_cut=3"), seed=2))
    assert {"rate_limit", "stream_cut", None} == set(first)
    assert 20 < sum(f is not None for f in first) < 100  # about 30% of 200


def test_weights_and_rates() -> None:
    assert set(sequence(policy(1.0, ("server_error=1", "timeout=0")))) == {"server_error"}
    assert set(sequence(policy(0.0, ("server_error",)))) == {None}
    drawn = policy(1.0, ("stream_cut",)).draw(5)
    assert drawn is not None and 1 <= drawn.after <= 8


def test_endpoint_scope() -> None:
    p = policy(1.0, ("server_error",), endpoints=("/v1/chat", "/v1/embeddings"))
    assert p.covers("/v1/chat/completions") and p.covers("/v1/embeddings")
    assert not p.covers("/v1/models") and not p.covers("/v1/chatter")
    assert policy(1.0, ("server_error",)).covers("/v1/anything")


def test_bad_fault_settings_are_one_line_errors() -> None:
    for types in (("nope",), ("rate_limit=x",), ("rate_limit=-1",), ("rate_limit=0",)):
        with pytest.raises(SettingsError):
            Settings.load({"fault_types": types}, env={})
    with pytest.raises(SettingsError):
        Settings.load({"fault_rate": "1.5"}, env={})


def test_forced_header_values() -> None:
    assert forced("none", None) is None
    fault = forced("Stream_Cut", "5")
    assert fault is not None and (fault.type, fault.after) == ("stream_cut", 5)
    for name, after in (("bogus", None), ("stream_cut", "x"), ("stream_cut", "-1")):
        with pytest.raises(InvalidRequestError):
            forced(name, after)


async def _events(n: int):
    for i in range(n):
        yield f"data: {i}\n\n".encode()
    yield SSE_DONE


def _collect(stream: EventStream) -> tuple[list[bytes], BaseException | None]:
    async def run():
        got = []
        try:
            async for event in stream.events:
                got.append(event)
        except Exception as exc:  # noqa: BLE001
            return got, exc
        return got, None

    return asyncio.run(run())


def test_stream_faults_strike_after_k_events_and_never_end_with_done() -> None:
    got, error = _collect(damage(EventStream(events=_events(10)), Fault("stream_cut", 4)))
    assert got == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"] and type(error).__name__ == "ConnectionDropped"
    got, error = _collect(damage(EventStream(events=_events(2)), Fault("stream_cut", 9)))
    assert SSE_DONE not in got and len(got) == 2 and error is not None  # short stream: struck before [DONE]
    got, error = _collect(damage(EventStream(events=_events(10)), Fault("stream_error", 2)))
    assert error is None and len(got) == 3 and b'"error"' in got[-1] and b"server_error" in got[-1]
    got, _ = _collect(damage(EventStream(events=_events(10)), Fault("stream_error", 1), "responses"))
    assert got[-1].startswith(b"event: error\n") and b'"sequence_number":1' in got[-1]
    got, _ = _collect(damage(EventStream(events=_events(10)), Fault("malformed", 0)))
    assert len(got) == 1 and got[0].startswith(b"data: {") and got[0].endswith(b"\n\n")


def test_anthropic_streams_get_anthropic_events() -> None:
    got, error = _collect(damage(EventStream(events=_events(10)), Fault("stream_error", 2), "anthropic"))
    assert error is None and got[-1].startswith(b"event: error\ndata: ") and b'"api_error"' in got[-1]
    got, _ = _collect(damage(EventStream(events=_events(10)), Fault("malformed", 1), "anthropic"))
    assert got[-1].startswith(b"event: content_block_delta\ndata: {")


def test_whole_answer_faults() -> None:
    body = b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": []}'
    broken = damage(Body(content=body, headers={}), Fault("malformed", 3))
    assert isinstance(broken, Body) and body.startswith(broken.content) and len(broken.content) < len(body)
    assert broken.headers["x-fakeai-fault"] == "malformed"
    cut = damage(Body(content=body, headers={}), Fault("stream_cut", 3))
    assert isinstance(cut, TruncatedBody) and 0 < cut.cut_at < len(body)
    with pytest.raises(FakeAIError) as info:
        damage(Body(content=body, headers={}), Fault("stream_error", 3))
    assert info.value.status_code == 500 and info.value.headers["x-fakeai-fault"] == "stream_error"
