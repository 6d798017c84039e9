"""Anthropic's streamed message: the exact event sequence of the Messages API.

    message_start
    content_block_start (index 0)   ping
    content_block_delta ...         (text_delta | thinking_delta + signature_delta | input_json_delta)
    content_block_stop
    ... the next blocks ...
    message_delta (stop_reason, stop_sequence, cumulative usage)
    message_stop

each framed as ``event: NAME`` + ``data: JSON``. Deltas are spliced from byte prefixes encoded once
per block, so a token costs two concatenations. On the latency model's clock, each token is one step:
a block's stop and the next block's start travel with the next block's first token, and the closing
events with the last one, so every step the clock paces carries exactly one token.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from fakeai.modes.base import StreamStats
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.messages import Plan
from fakeai.modes.synthetic.textcommon import enc_str, paced_choices
from fakeai.schemas.anthropic import Message, Usage

__all__ = ["stream_message"]

_encode = msgspec.json.Encoder().encode

PING = b'event: ping\ndata: {"type": "ping"}\n\n'  # byte for byte what the API sends
MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def _event(name: bytes, data: bytes) -> bytes:
    return b"event: " + name + b"\ndata: " + data + b"\n\n"


def _start(index: int, block: bytes) -> bytes:
    return _event(b"content_block_start", b'{"type":"content_block_start","index":%d,"content_block":%s}' % (index, block))


def _stop(index: int) -> bytes:
    return _event(b"content_block_stop", b'{"type":"content_block_stop","index":%d}' % index)


def _delta_prefix(index: int, kind: bytes, field: bytes) -> bytes:
    return (
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":{"type":"%s","%s":'
        % (index, kind, field)
    )


_DELTA_END = b"}}\n\n"


def _blocks(plan: Plan) -> list[tuple[bytes, list[bytes], bytes]]:
    """Each content block as (start event, one delta event per token, events before its stop)."""
    blocks: list[tuple[bytes, list[bytes], bytes]] = []
    index = 0
    if plan.has_thinking:
        pre = _delta_prefix(index, b"thinking_delta", b"thinking")
        deltas = [pre + enc_str(tok) + _DELTA_END for tok in plan.thinking] if plan.show_thinking else []
        signature = _delta_prefix(index, b"signature_delta", b"signature") + enc_str(plan.signature) + _DELTA_END
        blocks.append((_start(index, b'{"type":"thinking","thinking":"","signature":""}'), deltas, signature))
        if not plan.show_thinking:  # the tokens were still spent: one empty step each keeps the clock honest
            blocks[-1] = (blocks[-1][0], [b""] * len(plan.thinking), signature)
        index += 1
    if plan.text is not None:
        pre = _delta_prefix(index, b"text_delta", b"text")
        blocks.append((_start(index, b'{"type":"text","text":""}'), [pre + enc_str(t) + _DELTA_END for t in plan.text], b""))
        index += 1
    for block, pieces in plan.tools:
        head = b'{"type":"tool_use","id":%s,"name":%s,"input":{}}' % (enc_str(block.id), enc_str(block.name))
        pre = _delta_prefix(index, b"input_json_delta", b"partial_json")
        blocks.append((_start(index, head), [pre + enc_str(p) + _DELTA_END for p in pieces], b""))
        index += 1
    return blocks


def _steps(plan: Plan, tail: bytes) -> tuple[bytes, list[bytes]]:
    """(the first block's start, the token steps with the closing events folded into the last)."""
    blocks = _blocks(plan)
    steps: list[bytes] = []
    pending = b""
    for position, (start, deltas, before_stop) in enumerate(blocks):
        if position:
            pending += start
        for delta in deltas:
            steps.append(pending + delta)
            pending = b""
        pending += before_stop + _stop(position)
    steps.append(pending + tail)
    return (blocks[0][0] if blocks else b""), steps


def stream_message(
    ctx: SyntheticContext,
    model: str,
    message_id: str,
    plan: Plan,
    start_usage: Usage,
    prompt_tokens: int,
    cached: int,
    stats: StreamStats,
) -> Iterator[bytes | object]:
    head = Message(id=message_id, model=model, content=[], stop_reason=None, stop_sequence=None, usage=start_usage)
    message_start = _event(b"message_start", b'{"type":"message_start","message":' + _encode(head) + b"}")
    usage = {
        "input_tokens": start_usage.input_tokens,
        "cache_creation_input_tokens": start_usage.cache_creation_input_tokens,
        "cache_read_input_tokens": start_usage.cache_read_input_tokens,
        "output_tokens": plan.output_tokens,
    }
    delta = {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence}
    message_delta = _event(
        b"message_delta", _encode({"type": "message_delta", "delta": delta, "usage": usage})
    )
    first_block, steps = _steps(plan, message_delta + MESSAGE_STOP)
    first = [message_start, first_block, PING]
    for event in paced_choices(first, [steps]):  # STEP markers for the engine clock (Engine.stream)
        if event:
            yield event
    stats.tokens = plan.output_tokens
