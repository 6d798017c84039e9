"""The Responses API's streaming events, replaying a planned response in OpenAI's order::

    response.created, response.in_progress,
    per output item: response.output_item.added,
        reasoning: content_part.added (reasoning_text), reasoning_text.delta..., reasoning_text.done,
            content_part.done; with a summary then reasoning_summary_part.added,
            reasoning_summary_text.delta, reasoning_summary_text.done, reasoning_summary_part.done
        message: content_part.added, output_text.delta..., output_text.done, content_part.done
        function call: function_call_arguments.delta..., function_call_arguments.done
    response.output_item.done,
    response.completed (or response.incomplete when max_output_tokens cut the answer)

Every event is ``event: <type>`` plus one JSON line carrying ``type`` and a ``sequence_number`` counting
from 0. The per-token events are spliced from byte prefixes built once per item, so a delta costs two
concatenations and one string escape. ``STEP`` marks where the engine clock makes a token wait
(``Engine.astream`` drives it): the first one is time to first token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec

from fakeai.modes.base import StreamStats
from fakeai.modes.engine import STEP
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.textcommon import enc_str
from fakeai.schemas.responses import FunctionCallItem, OutputMessage, OutputText, ReasoningItem, Response

__all__ = ["stream_response"]

_encode = msgspec.json.Encoder().encode


class _Events:
    """Frames events and numbers them."""

    __slots__ = ("seq",)

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, type_: str, **fields: Any) -> bytes:
        data = _encode({"type": type_, "sequence_number": self.seq, **fields})
        self.seq += 1
        return b"event: " + type_.encode() + b"\ndata: " + data + b"\n\n"

    def prefix(self, type_: str, **fields: Any) -> tuple[bytes, bytes]:
        """(head, tail) around a delta string: ``head + enc_str(delta) + b',"sequence_number":N' + tail``."""
        body = _encode({"type": type_, **fields})[:-1]  # drop the closing brace
        return b"event: " + type_.encode() + b"\ndata: " + body + b',"delta":', b"}\n\n"

    def delta(self, head_tail: tuple[bytes, bytes], piece: str) -> bytes:
        head, tail = head_tail
        out = head + enc_str(piece) + b',"sequence_number":' + str(self.seq).encode() + tail
        self.seq += 1
        return out


def _delta_logprobs(entries: list | None) -> list[dict[str, Any]] | None:
    """The stream's (shorter) logprob shape: no ``bytes``."""
    if entries is None:
        return None
    return [
        {"token": t, "logprob": lp, "top_logprobs": [{"token": a, "logprob": b} for a, b in tops]}
        for t, lp, tops in entries
    ]


async def stream_response(
    ctx: SyntheticContext,
    shell: Response,
    final: Response,
    planned: Any,  # responses.Planned
    input_tokens: int,
    cached: int,
    stats: StreamStats,
    persist: Callable[[], Awaitable[None]] | None,
) -> AsyncIterator[bytes]:
    ev = _Events()
    yield ev("response.created", response=shell)
    yield ev("response.in_progress", response=shell)
    for index, (item, pieces) in enumerate(zip(final.output, planned.pieces)):
        if isinstance(item, ReasoningItem):
            yield ev("response.output_item.added", output_index=index,
                     item=ReasoningItem(id=item.id, status="in_progress"))
            # The thinking streams as reasoning text (vLLM's gpt-oss shape): one delta per token.
            where = {"item_id": item.id, "output_index": index, "content_index": 0}
            yield ev("response.content_part.added", **where, part={"type": "reasoning_text", "text": ""})
            head = ev.prefix("response.reasoning_text.delta", **where)
            for piece in pieces:
                yield STEP
                stats.tokens += 1
                yield ev.delta(head, piece)
            text = item.content[0].text
            yield ev("response.reasoning_text.done", **where, text=text)
            yield ev("response.content_part.done", **where, part=item.content[0])
            if item.summary:  # a summary of what was already thought: no extra tokens, no extra time
                part_fields = {"item_id": item.id, "output_index": index, "summary_index": 0}
                summary = item.summary[0].text
                yield ev("response.reasoning_summary_part.added", **part_fields,
                         part={"type": "summary_text", "text": ""})
                yield ev("response.reasoning_summary_text.delta", **part_fields, delta=summary)
                yield ev("response.reasoning_summary_text.done", **part_fields, text=summary)
                yield ev("response.reasoning_summary_part.done", **part_fields,
                         part={"type": "summary_text", "text": summary})
        elif isinstance(item, OutputMessage):
            yield ev("response.output_item.added", output_index=index,
                     item=OutputMessage(id=item.id, status="in_progress", content=[]))
            where = {"item_id": item.id, "output_index": index, "content_index": 0}
            yield ev("response.content_part.added", **where, part=OutputText(text=""))
            logprobs = _delta_logprobs(planned.logprobs)
            if logprobs is None:
                head = ev.prefix("response.output_text.delta", **where, logprobs=[])
                for piece in pieces:
                    yield STEP
                    stats.tokens += 1
                    yield ev.delta(head, piece)
            else:
                for piece, entry in zip(pieces, logprobs):
                    yield STEP
                    stats.tokens += 1
                    yield ev("response.output_text.delta", **where, delta=piece, logprobs=[entry])
            part = item.content[0]
            yield ev("response.output_text.done", **where, text=part.text, logprobs=logprobs or [])
            yield ev("response.content_part.done", **where, part=part)
        elif isinstance(item, FunctionCallItem):
            yield ev("response.output_item.added", output_index=index,
                     item=FunctionCallItem(id=item.id, call_id=item.call_id, name=item.name, arguments="",
                                           status="in_progress"))
            head = ev.prefix("response.function_call_arguments.delta", item_id=item.id, output_index=index)
            for piece in pieces:
                yield STEP
                stats.tokens += 1
                yield ev.delta(head, piece)
            yield ev("response.function_call_arguments.done", item_id=item.id, output_index=index,
                     name=item.name, arguments=item.arguments)
        yield ev("response.output_item.done", output_index=index, item=item)
    if persist is not None:
        await persist()  # stored before the client hears "completed", so a GET right after finds it
    stats.tokens = planned.output_tokens
    kind = "response.incomplete" if final.status == "incomplete" else "response.completed"
    yield ev(kind, response=final)
