"""Anthropic's ``POST /v1/messages`` and ``/v1/messages/count_tokens`` in synthetic mode.

The Anthropic sibling of ``chat.py``: its own request reading and answer shape, the same planners below
(``text.generate``/``text.think`` for text and thinking, ``tool_plan`` for tool calls, the tokenizer, the
prompt cache, the latency model). Everything an answer says is planned up front; the streamed events
are framed in ``messages_stream.py``.

Prompt caching follows Anthropic's rule on top of the shared prefix cache: only a request with a
``cache_control`` breakpoint caches, the prefix up to its last breakpoint (tools, then system, then
messages) is the cacheable part, and of that part the prefix cache's answer (prefixes seen before, in
128-token steps, from 1024 tokens) is ``cache_read_input_tokens``, the rest ``cache_creation_input_tokens``;
``input_tokens`` is what follows the breakpoint, so the three add up to the prompt.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from fakeai.errors import InvalidRequestError
from fakeai.ids import random_bytes
from fakeai.modes.base import Body, EventStream, Reply, StreamStats
from fakeai.modes.synthetic import text as T
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.prompt_cache import MIN_CACHED
from fakeai.modes.synthetic.tokenizer import count_tokens, tokenize
from fakeai.modes.synthetic.tool_plan import encode_arguments, fake_arguments, pick_by_topic
from fakeai.schemas.anthropic import (
    CacheCreation,
    CountTokensRequest,
    DocumentParam,
    ImageParam,
    Message,
    MessagesRequest,
    SearchResultParam,
    TextBlock,
    TextParam,
    ThinkingAdaptive,
    ThinkingBlock,
    ThinkingEnabled,
    ThinkingParam,
    TokensCount,
    ToolChoiceAny,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolResultParam,
    ToolUseBlock,
    ToolUseParam,
    Usage,
)

__all__ = ["Plan", "count_message_tokens", "count_message_tokens_answer", "create_message", "plan_message", "prompt_usage"]

_encode = msgspec.json.Encoder().encode
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # base58-ish, as Anthropic's ids look

MESSAGE_OVERHEAD = 3  # tokens framing each message (and the system prompt), as for chat
IMAGE_TOKENS = 1600  # a full-size image: Anthropic's (width x height) / 750 at ~1.15 megapixels
DOCUMENT_TOKENS = 1500  # a PDF or URL document we cannot read: about a page and a half
# Anthropic's tool-use system prompt, added when tools are offered (auto/none; any/tool force it shorter).
TOOLS_PROMPT, TOOLS_PROMPT_FORCED = 346, 313
MIN_THINKING_BUDGET = 1024


def _anthropic_id(prefix: str, raw: bytes) -> str:
    n = int.from_bytes(raw, "big")
    chars = []
    for _ in range(22):
        n, r = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[r])
    return prefix + "01" + "".join(chars)


# --- the prompt: tokens, cache breakpoints ---------------------------------------------------------------
def _segments(req: CountTokensRequest) -> Iterator[tuple[str, int, Any]]:
    """The prompt in Anthropic's cache order (tools, system, messages) as (text, extra tokens,
    cache_control or None) segments; counting and the prefix cache both walk this one list."""
    if req.tools:
        forced = isinstance(req.tool_choice, (ToolChoiceAny, ToolChoiceTool))
        yield "", TOOLS_PROMPT_FORCED if forced else TOOLS_PROMPT, None
        for tool in req.tools:
            schema = _encode(tool.input_schema).decode() if tool.input_schema else ""
            yield f"{tool.name} {tool.description or ''} {schema}", MESSAGE_OVERHEAD, tool.cache_control
    system = req.system
    if system:
        if isinstance(system, str):
            yield system, MESSAGE_OVERHEAD, None
        else:
            yield "", MESSAGE_OVERHEAD, None
            for block in system:
                yield block.text, 0, block.cache_control
    for message in req.messages:
        content = message.content
        if isinstance(content, str):
            yield content, MESSAGE_OVERHEAD, None
            continue
        yield "", MESSAGE_OVERHEAD, None
        for block in content:
            yield from _block_segments(block)


def _block_segments(block: Any) -> Iterator[tuple[str, int, Any]]:
    mark = getattr(block, "cache_control", None)
    if isinstance(block, TextParam):
        yield block.text, 0, mark
    elif isinstance(block, ImageParam):
        yield "", IMAGE_TOKENS, mark
    elif isinstance(block, DocumentParam):
        source = block.source
        data = source.get("data") if source.get("type") == "text" else None
        if isinstance(data, str):
            yield data, 0, mark
        else:
            yield "", DOCUMENT_TOKENS, mark
    elif isinstance(block, ToolUseParam):
        yield block.name + " " + _encode(block.input).decode(), 0, mark
    elif isinstance(block, ToolResultParam):
        content = block.content
        if isinstance(content, str):
            yield content, 0, mark
        elif content:
            for part in content[:-1]:
                yield from _block_segments(part)
            yield from _block_segments(_with_mark(content[-1], mark))
        else:
            yield "", 0, mark
    elif isinstance(block, ThinkingParam):
        yield block.thinking, 0, None
    elif isinstance(block, SearchResultParam):
        yield block.title + " " + " ".join(p.text for p in block.content), 0, mark
    else:  # redacted thinking, server tool blocks: opaque to us, a few tokens of framing
        yield "", 4, mark


def _with_mark(block: Any, mark: Any) -> Any:
    return block if mark is None or getattr(block, "cache_control", None) is not None else msgspec.structs.replace(block, cache_control=mark)


def count_message_tokens(req: CountTokensRequest) -> int:
    """The prompt's tokens, as ``count_tokens`` reports them and ``usage`` adds them up."""
    return sum(count_tokens(text) + extra for text, extra, _ in _segments(req))


def prompt_usage(ctx: SyntheticContext, req: CountTokensRequest, total: int) -> tuple[int, int, int, str]:
    """(input, cache_creation, cache_read, ttl) for a prompt of ``total`` tokens (see the module doc)."""
    if total < MIN_CACHED or not _has_breakpoint(req):
        return total, 0, 0, "5m"
    pieces: list[str] = []
    end, ttl = 0, "5m"
    for text, extra, mark in _segments(req):
        pieces += tokenize(text)
        pieces += ["\0"] * extra
        if mark is not None:
            end, ttl = len(pieces), mark.ttl or "5m"
    if req.cache_control is not None:  # top-level: a breakpoint on the last block
        end, ttl = len(pieces), req.cache_control.ttl or "5m"
    end = min(end, total)
    if end < MIN_CACHED:
        return total, 0, 0, ttl
    read = min(ctx.prompt_cache.observe(pieces[:end], namespace="anthropic:" + req.model), end)
    return total - end, end - read, read, ttl


def _has_breakpoint(req: CountTokensRequest) -> bool:
    return req.cache_control is not None or any(mark is not None for _, _, mark in _segments(req))


# --- planning ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Plan:
    """Everything one answer says, decided before anything is sent."""

    thinking: list[str] = field(default_factory=list)
    signature: str = ""
    show_thinking: bool = True  # thinking.display "omitted": the block comes, its text does not
    has_thinking: bool = False
    text: list[str] | None = None  # None: no text block
    tools: list[tuple[ToolUseBlock, list[str]]] = field(default_factory=list)  # (block, input JSON pieces)
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None

    @property
    def output_tokens(self) -> int:
        n = len(self.thinking) + (len(self.text) if self.text else 0)
        for block, pieces in self.tools:
            n += count_tokens(block.name) + len(pieces)
        return max(n, 1)  # Anthropic bills at least one output token, even for an empty answer


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
        elif isinstance(block, ToolResultParam):
            parts.append(_text_of(block.content or ""))
    return " ".join(parts)


def _system_text(req: CountTokensRequest) -> str:
    system = req.system
    if not system:
        return ""
    return system if isinstance(system, str) else " ".join(b.text for b in system)


def _after_tool_result(req: MessagesRequest) -> bool:
    last = req.messages[-1]
    return last.role == "user" and not isinstance(last.content, str) and any(
        isinstance(b, ToolResultParam) for b in last.content
    )


def _check(req: MessagesRequest) -> None:
    if not req.messages:
        raise InvalidRequestError("messages: at least one message is required", param="messages")
    thinking = req.thinking
    if isinstance(thinking, ThinkingEnabled):
        if thinking.budget_tokens < MIN_THINKING_BUDGET:
            raise InvalidRequestError(
                f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}",
                param="thinking.budget_tokens",
            )
        if req.max_tokens <= thinking.budget_tokens:
            raise InvalidRequestError(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
                "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
                param="max_tokens",
            )
        if isinstance(req.tool_choice, (ToolChoiceAny, ToolChoiceTool)):
            raise InvalidRequestError(
                "Thinking may not be enabled when tool_choice forces tool use.", param="tool_choice"
            )
    for index, tool in enumerate(req.tools or ()):
        if tool.type in (None, "custom"):
            schema = tool.input_schema
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise InvalidRequestError(
                    f"tools.{index}.custom.input_schema.type: Input should be 'object'", param=f"tools.{index}"
                )
    if isinstance(req.tool_choice, ToolChoiceTool):
        names = {t.name for t in req.tools or ()}
        if req.tool_choice.name not in names:
            raise InvalidRequestError(
                f"tool_choice.tool.name: Tool '{req.tool_choice.name}' not found in the provided tools",
                param="tool_choice.name",
            )


def _choose_tools(req: MessagesRequest, topics: list[str], rng: np.random.Generator) -> list[Any]:
    custom = [t for t in req.tools or () if t.type in (None, "custom")]
    choice = req.tool_choice
    if not custom or isinstance(choice, ToolChoiceNone):
        return []
    if isinstance(choice, ToolChoiceTool):
        return [t for t in custom if t.name == choice.name][:1]
    if not isinstance(choice, ToolChoiceAny) and _after_tool_result(req):
        return []  # auto after a tool result: answer in text, so agent loops end
    parallel = not (choice is not None and choice.disable_parallel_tool_use)
    picked = pick_by_topic([(t.name, t.description) for t in custom], topics, rng, parallel=parallel)
    return [custom[i] for i in picked]


def _signature(rng: np.random.Generator) -> str:
    return base64.b64encode(rng.bytes(120)).decode()


def _cut_at_stop(tokens: list[str], stops: list[str]) -> tuple[list[str], str | None]:
    text = "".join(tokens)
    first, which = -1, None
    for s in stops:
        i = text.find(s)
        if i != -1 and (first == -1 or i < first):
            first, which = i, s
    if which is None:
        return tokens, None
    return T.apply_stop(tokens, [which]) or [], which


def plan_message(req: MessagesRequest, rng: np.random.Generator) -> Plan:
    _check(req)
    topics = T.topic_words(_text_of(req.messages[-1].content) or _system_text(req))
    plan = Plan()
    budget = req.max_tokens
    thinking = req.thinking
    if isinstance(thinking, (ThinkingEnabled, ThinkingAdaptive)) and req.messages[-1].role == "user":
        if isinstance(thinking, ThinkingEnabled):  # asked for: think at length, within the budget
            tokens = T.think(rng, topics, effort="high")[: thinking.budget_tokens]
        else:  # adaptive: Claude decides; the shared planner's share of max_tokens
            tokens = T.think(rng, topics, max_tokens=budget)
        plan.thinking = tokens[: max(budget - 1, 0)]  # always room for at least one token of text
        plan.has_thinking = True
        plan.show_thinking = thinking.display != "omitted"
        plan.signature = _signature(rng)
        budget -= len(plan.thinking)
    tools = _choose_tools(req, topics, rng)
    if tools:
        preamble: list[str] = []
        if not isinstance(req.tool_choice, (ToolChoiceAny, ToolChoiceTool)):
            preamble = T.generate(rng, topics=topics, target=8, max_tokens=budget).tokens  # "I'll look that up."
        calls, used = [], len(preamble)
        for tool in tools:
            value = fake_arguments(tool.input_schema, rng, tool=tool.name, param="tools")
            pieces = tokenize(encode_arguments(value).decode())
            used += count_tokens(tool.name) + len(pieces)
            calls.append((ToolUseBlock(id=_anthropic_id("toolu_", rng.bytes(16)), name=tool.name, input=value), pieces))
        if used <= budget:
            plan.text = preamble or None
            plan.tools = calls
            plan.stop_reason = "tool_use"
            return plan
        # The calls do not fit in max_tokens: the answer is text cut at the limit instead.
    generation = T.generate(rng, topics=topics, max_tokens=max(budget, 1))
    tokens = generation.tokens
    plan.stop_reason = "max_tokens" if generation.finish_reason == "length" else "end_turn"
    stops = [s for s in req.stop_sequences or () if s]
    if stops:
        tokens, which = _cut_at_stop(tokens, stops)
        if which is not None:
            plan.stop_reason, plan.stop_sequence = "stop_sequence", which
    plan.text = tokens
    return plan


def _rng(req: MessagesRequest) -> np.random.Generator:
    """The same conversation gives the same answer, streamed or not, unless the request asks for a
    temperature above 0. The anthropic SDK has neither a seed nor (since 2.x) a temperature argument, so
    reproducible answers are the default a test suite can rely on; ``temperature > 0`` (sent as an extra
    body field) makes answers vary call to call as sampling would."""
    if req.temperature:
        return T.make_rng(None)
    parts = [req.model, _system_text(req)]
    for m in req.messages:
        parts += (m.role, _text_of(m.content))
    parts += [t.name for t in req.tools or ()]
    if req.thinking is not None:
        parts.append(type(req.thinking).__name__)
    return T.make_rng(req.max_tokens, *parts)


# --- answering --------------------------------------------------------------------------------------------
def _usage(prompt: tuple[int, int, int, str], output_tokens: int) -> Usage:
    inputs, creation, read, ttl = prompt
    split = CacheCreation(ephemeral_1h_input_tokens=creation) if ttl == "1h" else CacheCreation(ephemeral_5m_input_tokens=creation)
    return Usage(
        input_tokens=inputs,
        cache_creation_input_tokens=creation,
        cache_read_input_tokens=read,
        cache_creation=split,
        output_tokens=output_tokens,
    )


def _content(plan: Plan) -> list[Any]:
    blocks: list[Any] = []
    if plan.has_thinking:
        blocks.append(ThinkingBlock(thinking="".join(plan.thinking) if plan.show_thinking else "", signature=plan.signature))
    if plan.text is not None:
        blocks.append(TextBlock(text="".join(plan.text)))
    blocks.extend(block for block, _ in plan.tools)
    return blocks


async def create_message(ctx: SyntheticContext, req: MessagesRequest) -> Reply:
    ctx.catalogue.require(req.model)
    plan = plan_message(req, _rng(req))
    total = count_message_tokens(req)
    prompt = prompt_usage(ctx, req, total)
    message_id = _anthropic_id("msg_", random_bytes(16))
    seq = ctx.engine.request(req.model, total, prompt[2], completion_tokens=plan.output_tokens,
                             finish_reason="length" if plan.stop_reason == "max_tokens" else "stop",
                             max_tokens=req.max_tokens)
    if req.stream:
        from fakeai.modes.synthetic.messages_stream import stream_message

        stats = StreamStats()
        events = stream_message(ctx, req.model, message_id, plan, _usage(prompt, 1), total, prompt[2], stats)
        return EventStream(events=ctx.engine.stream(seq, events), stats=stats)
    usage = _usage(prompt, plan.output_tokens)
    body = Message(
        id=message_id,
        model=req.model,
        content=_content(plan),
        stop_reason=plan.stop_reason,
        stop_sequence=plan.stop_sequence,
        usage=usage,
    )
    await ctx.engine.complete(seq, usage.output_tokens)
    return Body(content=_encode(body), tokens=usage.output_tokens)


async def count_message_tokens_answer(ctx: SyntheticContext, req: CountTokensRequest) -> Reply:
    ctx.catalogue.require(req.model)
    if not req.messages:
        raise InvalidRequestError("messages: at least one message is required", param="messages")
    return Body(content=_encode(TokensCount(input_tokens=count_message_tokens(req))))


