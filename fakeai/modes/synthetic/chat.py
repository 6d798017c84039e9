"""POST /v1/chat/completions in synthetic mode.

Planning (what each choice says: reasoning, text, JSON or tool calls) happens once, up front, with
the request's seeded Generator. The non-streaming answer is one msgspec encode; the streaming answer
splices each token's escaped JSON string between byte prefixes encoded once per request, so a chunk
costs two concatenations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec
import numpy as np

from fakeai.errors import InvalidRequestError
from fakeai.modes.base import SSE_DONE, Body, EventStream, Reply, StreamStats
from fakeai.modes.synthetic import text as T
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.jsonschema_fake import BAD_SCHEMA, fake_instance, fake_json_object
from fakeai.modes.synthetic.logprobs import token_logprobs
from fakeai.modes.engine import Sequence
from fakeai.modes.synthetic.textcommon import (
    SSE_PREFIX,
    enc_str,
    new_id,
    observe_prompt,
    paced_choices,
    py_random,
    stop_list,
    vllm_reason,
)
from fakeai.modes.synthetic.tokenizer import count_message_tokens, count_tokens, tokenize
from fakeai.schemas.chat import (
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ChoiceLogprobs,
    CompletionTokensDetails,
    DeltaFunction,
    DeltaToolCall,
    FunctionCall,
    PromptTokensDetails,
    ResponseMessage,
    TokenLogprob,
    ToolCall,
    TopLogprob,
    Usage,
)

__all__ = ["create_chat_completion", "plan_choices", "message_text"]

_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class Planned:
    """One choice, fully decided before anything is sent."""

    reasoning: list[str]
    content: list[str] | None  # None when the choice is tool calls only
    finish_reason: str
    tool_calls: list[tuple[ToolCall, list[str]]] = field(default_factory=list)  # (call, argument pieces)
    logprobs: list | None = None  # logprobs.TokenLogprob tuples for content tokens

    @property
    def completion_tokens(self) -> int:
        n = len(self.reasoning) + (len(self.content) if self.content else 0)
        if self.tool_calls:
            for call, pieces in self.tool_calls:
                n += count_tokens(call.function.name) + len(pieces)
        return n


def message_text(message: ChatMessage) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return " ".join(getattr(p, "text", "") or "" for p in content)


def _prompt_pieces(messages: list[ChatMessage]) -> list[str]:
    # The same framing count_message_tokens charges: 3 tokens around each message's content.
    pieces: list[str] = []
    for m in messages:
        pieces += ("<|start|>", m.role, "<|message|>")
        pieces.extend(tokenize(message_text(m)))
    return pieces


# --- planning ------------------------------------------------------------------------------------------------
def _choose_tools(req: ChatCompletionRequest, topics: list[str], rng: np.random.Generator):
    """Which functions the model calls, or [] for a text answer."""
    tools = req.tools or []
    choice = req.tool_choice
    if not tools or choice == "none":
        return []
    by_name = {t.function.name: t.function for t in tools}
    if choice is not None and not isinstance(choice, str):
        fn = by_name.get(choice.function.name)
        if fn is None:
            raise InvalidRequestError(
                f"Invalid value for 'tool_choice': no function named '{choice.function.name}' in 'tools'.",
                param="tool_choice",
            )
        return [fn]
    if choice != "required" and req.messages[-1].role in ("tool", "function"):
        return []  # auto, after a tool result: answer in text, as a model would
    # Prefer tools whose name or description shares words with the prompt.
    words = {w.lower() for w in topics}
    scored = []
    for fn in by_name.values():
        vocab = set(fn.name.lower().replace("-", "_").split("_"))
        vocab.update((fn.description or "").lower().split())
        scored.append((len(words & vocab), fn))
    best = max(s for s, _ in scored)
    if best == 0:
        return [by_name[list(by_name)[int(rng.integers(len(by_name)))]]]
    hits = [fn for s, fn in scored if s > 0]
    if req.parallel_tool_calls is False or len(hits) == 1:
        return [next(fn for s, fn in scored if s == best)]
    return hits[:3]


def _tool_calls(fns, rng: np.random.Generator, budget: int | None) -> tuple[list[tuple[ToolCall, list[str]]], bool]:
    rnd = py_random(rng)
    calls = []
    cut = False
    for fn in fns:
        schema = fn.parameters or {"type": "object", "properties": {}}
        try:
            args = _encode(fake_instance(schema, rnd)).decode()
        except BAD_SCHEMA as exc:
            raise InvalidRequestError(
                f"Invalid schema for function '{fn.name}': {exc}", param="tools"
            ) from None
        pieces = tokenize(args)
        if budget is not None:
            room = budget - count_tokens(fn.name)
            if len(pieces) > room:
                pieces, cut = pieces[: max(room, 0)], True
            budget = room - len(pieces)
        call_id = "call_" + format(int(rng.integers(1 << 62)), "x")
        calls.append((ToolCall(id=call_id, function=FunctionCall(fn.name, "".join(pieces))), pieces))
        if cut:
            break
    return calls, cut


def _json_content(req: ChatCompletionRequest, rng: np.random.Generator, topics: list[str]) -> list[str] | None:
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    rnd = py_random(rng)
    if fmt.type == "json_schema":
        if fmt.json_schema is None:
            raise InvalidRequestError(
                "Missing required parameter: 'response_format.json_schema'.", param="response_format.json_schema"
            )
        schema = fmt.json_schema.schema or {"type": "object"}
        try:
            value = fake_instance(schema, rnd)
        except BAD_SCHEMA as exc:
            raise InvalidRequestError(
                f"Invalid schema for response_format '{fmt.json_schema.name}': {exc}",
                param="response_format.json_schema.schema",
            ) from None
    else:
        value = fake_json_object(rnd, topics)
    return tokenize(_encode(value).decode())


def plan_choices(req: ChatCompletionRequest, rng: np.random.Generator, prompt_text: str) -> list[Planned]:
    n = req.n or 1
    max_tokens = req.max_completion_tokens or req.max_tokens
    topics = T.topic_words(prompt_text)
    reasoning = T.is_reasoning_model(req.model)
    stops = stop_list(req.stop)
    fns = _choose_tools(req, topics, rng)
    want_logprobs = bool(req.logprobs)
    out: list[Planned] = []
    for _ in range(n):
        r_tokens: list[str] = []
        budget = max_tokens
        if reasoning:  # at most a quarter of max_tokens: a small budget still gets an answer
            r_tokens = T.think(rng, topics, max_tokens=budget, effort=req.reasoning_effort)
            if budget is not None:
                budget -= len(r_tokens)
        if fns:
            calls, cut = _tool_calls(fns, rng, budget)
            out.append(Planned(r_tokens, None, "length" if cut else "tool_calls", calls))
            continue
        content = _json_content(req, rng, topics)
        if content is not None:
            finish = "stop"
            if budget is not None and len(content) > budget:
                content, finish = content[:budget], "length"
        else:
            g = T.generate(
                rng,
                topics=topics,
                max_tokens=budget,
                min_tokens=max((req.min_tokens or 0) - len(r_tokens), 0),  # vLLM counts reasoning too
                ignore_eos=bool(req.ignore_eos),
                stop=stops,
            )
            content, finish = g.tokens, g.finish_reason
        planned = Planned(r_tokens, content, finish)
        if want_logprobs:
            planned.logprobs = token_logprobs(rng, content, req.top_logprobs or 0)
        out.append(planned)
    return out


# --- shaping -----------------------------------------------------------------------------------------------
def _lp_struct(entry) -> TokenLogprob:
    tok, lp, tops = entry
    return TokenLogprob(
        tok, lp, list(tok.encode()), [TopLogprob(t, l, list(t.encode())) for t, l in tops]  # noqa: E741
    )


def _usage(prompt_tokens: int, cached: int, plans: list[Planned]) -> Usage:
    if len(plans) == 1:
        completion, reasoning = plans[0].completion_tokens, len(plans[0].reasoning)
    else:
        completion = sum(p.completion_tokens for p in plans)
        reasoning = sum(len(p.reasoning) for p in plans)
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        total_tokens=prompt_tokens + completion,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=reasoning),
    )


def _choice(index: int, p: Planned, reasoning: bool) -> Choice:
    message = ResponseMessage(content="".join(p.content) if p.content is not None else None)
    if reasoning:
        message.reasoning_content = "".join(p.reasoning) if p.reasoning else None
    if p.tool_calls:
        message.tool_calls = [call for call, _ in p.tool_calls]
    logprobs = ChoiceLogprobs([_lp_struct(e) for e in p.logprobs]) if p.logprobs is not None else None
    return Choice(index=index, message=message, finish_reason=p.finish_reason, logprobs=logprobs)


async def create_chat_completion(ctx: SyntheticContext, req: ChatCompletionRequest) -> Reply:
    model = req.model
    ctx.catalogue.require(model)
    if req.top_logprobs and not req.logprobs:
        raise InvalidRequestError("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
    messages = req.messages
    prompt_tokens = count_message_tokens(messages)
    cached = observe_prompt(ctx, prompt_tokens, lambda: _prompt_pieces(messages), model)
    if req.seed is None:
        rng = T.make_rng(None)  # the shared stream: nothing to hash
    else:  # the whole conversation decides a seeded answer
        rng = T.make_rng(req.seed, model, *map(message_text, messages))
    plans = plan_choices(req, rng, message_text(_last_user(messages)))
    reasoning = T.is_reasoning_model(model)
    usage = _usage(prompt_tokens, cached, plans)
    seq = ctx.engine.request(model, prompt_tokens, cached, n=len(plans), completion_tokens=usage.completion_tokens,
                             finish_reason=vllm_reason(plans[0].finish_reason),
                             max_tokens=req.max_completion_tokens or req.max_tokens)
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        stats = StreamStats()
        events = _stream(model, plans, usage if include_usage else None, reasoning, stats, seq)
        return EventStream(events=ctx.engine.stream(seq, events), stats=stats)
    body = ChatCompletion(
        id=new_id("chatcmpl-"),
        created=int(time.time()),
        model=model,
        choices=[_choice(i, p, reasoning) for i, p in enumerate(plans)],
        usage=usage,
    )
    await ctx.engine.complete(seq, max(p.completion_tokens for p in plans))
    return Body(content=_encode(body), tokens=usage.completion_tokens)


def _last_user(messages: list[ChatMessage]) -> ChatMessage:
    for m in reversed(messages):
        if m.role == "user":
            return m
    return messages[-1]


# --- streaming ------------------------------------------------------------------------------------------------
_NULL_TAIL = b',"finish_reason":null}]}\n\n'


def _choice_events(pre: bytes, p: Planned) -> list[bytes]:
    """Every SSE event of one choice after the role event, in order; the last is the finish event."""
    events: list[bytes] = []
    rpre = pre + b'{"reasoning_content":'
    tail = b"}" + _NULL_TAIL
    events += [rpre + enc_str(tok) + tail for tok in p.reasoning]
    if p.content is not None:
        cpre = pre + b'{"content":'
        if p.logprobs is None:
            events += [cpre + enc_str(tok) + tail for tok in p.content]  # the per-token hot path
        else:
            for tok, entry in zip(p.content, p.logprobs):
                lp = _encode(ChoiceLogprobs([_lp_struct(entry)]))
                events.append(cpre + enc_str(tok) + b'},"logprobs":' + lp + _NULL_TAIL)
    for k, (call, pieces) in enumerate(p.tool_calls):
        head = DeltaToolCall(index=k, id=call.id, type="function", function=DeltaFunction(call.function.name, ""))
        events.append(pre + b'{"tool_calls":[' + _encode(head) + b"]}" + _NULL_TAIL)
        apre = pre + b'{"tool_calls":[{"index":%d,"function":{"arguments":' % k
        for piece in pieces:
            events.append(apre + enc_str(piece) + b"}}]}" + _NULL_TAIL)
    events.append(pre + b'{},"finish_reason":"' + p.finish_reason.encode() + b'"}]}\n\n')
    return events


def _stream(
    model: str,
    plans: list[Planned],
    usage: Usage | None,
    reasoning: bool,
    stats: StreamStats,
    seq: Sequence,
) -> Iterator[bytes | object]:
    """The stream's events with the engine's STEP markers (driven by ``Engine.stream``)."""
    cid = new_id("chatcmpl-")
    head = (
        SSE_PREFIX
        + b'{"id":"'
        + cid.encode()
        + b'","object":"chat.completion.chunk","created":'
        + str(int(time.time())).encode()
        + b',"model":'
        + enc_str(model)
    )
    roles: list[bytes] = []
    sequences: list[list[bytes]] = []
    for i, p in enumerate(plans):
        pre = head + b',"choices":[{"index":%d,"delta":' % i
        roles.append(pre + b'{"role":"assistant"}' + _NULL_TAIL)
        sequences.append(_choice_events(pre, p))
    yield from paced_choices(roles, sequences)
    if usage is not None:
        yield head + b',"choices":[],"usage":' + _encode(usage) + b"}\n\n"
    stats.tokens = sum(p.completion_tokens for p in plans)  # tool calls: name + argument pieces
    yield SSE_DONE
