"""The Responses API in synthetic mode: POST /v1/responses and the stored-response endpoints.

A request is read into a ``Conversation`` (normalised input items with ids, the text the answer is
about, the input token count) and planned once, up front, with the request's seeded Generator into
output items (reasoning, a message, function calls). The non-streaming answer is one encode; the
streaming answer (``response_events``) replays the same plan as typed events. ``store: true`` and
background responses are persisted through ``fakeai.store.responses``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from fakeai.errors import InvalidRequestError, NotFoundError
from fakeai.modes.base import Body, EventStream, Reply, StreamStats
from fakeai.modes.engine import Sequence
from fakeai.modes.synthetic import lazy_module
from fakeai.modes.synthetic import text as T
from fakeai.modes.synthetic.catalogue import DEFAULT_MODEL
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.jsonschema_fake import BAD_SCHEMA, fake_instance, fake_json_object
from fakeai.modes.synthetic.logprobs import token_logprobs
from fakeai.modes.synthetic.prompt_cache import BLOCK, MIN_CACHED
from fakeai.modes.synthetic.response_input import Conversation, read_format, read_input, read_tools, tool_choice
from fakeai.modes.synthetic.textcommon import new_id, observe_prompt, py_random
from fakeai.modes.synthetic.tokenizer import REPLY_PRIMING, TOKENS_PER_MESSAGE, count_tokens, tokenize
from fakeai.schemas.responses import (
    FormatConfig,
    FunctionCallItem,
    FunctionTool,
    IncompleteDetails,
    InputTokensDetails,
    ItemList,
    OutputMessage,
    OutputText,
    OutputTokensDetails,
    ReasoningConfig,
    ReasoningItem,
    ReasoningText,
    Response,
    ResponseCreateRequest,
    ResponseDeleted,
    ResponseUsage,
    SummaryText,
    TextConfig,
)

if TYPE_CHECKING:
    from fakeai.store import Database
    from fakeai.store import responses as store
else:  # imported with the first request that stores a response: importing it at start would load SQLAlchemy
    store = lazy_module("fakeai.store.responses")

__all__ = [
    "cancel_response",
    "create_response",
    "delete_response",
    "list_input_items",
    "retrieve_response",
]


log = logging.getLogger("fakeai")
_encode = msgspec.json.Encoder().encode
_decode_items = msgspec.json.Decoder(list[dict[str, Any]]).decode
_decode_response = msgspec.json.Decoder(Response).decode
_HISTORY_CHARS = 4000  # what topic_words looks at; older turns do not steer the next answer
_RUNNING = ("queued", "in_progress")
LOGPROBS = "message.output_text.logprobs"  # the ``include`` value that asks for token logprobs
# Background responses still running in this worker, by id; held so the loop does not drop them.
_BACKGROUND: dict[str, asyncio.Task] = {}


# --- planning ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Planned:
    """Everything the answer says, decided before anything is sent."""

    output: list[Any]  # ReasoningItem | OutputMessage | FunctionCallItem, with final statuses
    pieces: list[list[str]]  # per output item: reasoning tokens, text tokens or argument pieces
    reasoning_text: str = ""
    incomplete: bool = False
    output_tokens: int = 0
    reasoning_tokens: int = 0
    summary: bool = False
    text: str = field(default="")
    logprobs: list | None = None  # logprobs.TokenLogprob per message token, when asked for


def _choose(mode: str, functions: list[FunctionTool], conv: Conversation, topics: list[str],
            rng: np.random.Generator, parallel: bool) -> list[FunctionTool]:
    """Which functions the model calls; [] means it answers in text."""
    if not functions or mode == "none":
        return []
    if mode == "named":
        return functions
    if mode == "auto" and conv.after_tool_output:
        return []  # the tool results are in: answer them, as a model would
    words = {w.lower() for w in topics}
    scored = []
    for fn in functions:
        vocab = set(fn.name.lower().replace("-", "_").split("_")) | set((fn.description or "").lower().split())
        scored.append((len(words & vocab), fn))
    hits = [fn for score, fn in sorted(scored, key=lambda s: -s[0]) if score > 0]
    if not hits:
        return [functions[int(rng.integers(len(functions)))]]
    return hits[:3] if parallel else hits[:1]


def plan(req: ResponseCreateRequest, model: str, conv: Conversation, functions: list[FunctionTool],
         fmt: FormatConfig, rng: np.random.Generator) -> Planned:
    topics = T.topic_words(conv.last_text + " " + conv.text[-1000:])
    budget = req.max_output_tokens
    out = Planned(output=[], pieces=[])
    effort = req.reasoning.effort if req.reasoning else None
    thought = T.think(rng, topics, max_tokens=budget, effort=effort) if T.is_reasoning_model(model) else []
    if thought:  # at most a quarter of max_output_tokens: the answer always has room
        out.reasoning_text = "".join(thought)
        out.summary = bool(req.reasoning and (req.reasoning.summary or req.reasoning.generate_summary))
        summary = [SummaryText(text=out.reasoning_text)] if out.summary else []
        # The thinking itself as vLLM serves gpt-oss, so clients and load tools see (and count) it.
        content = [ReasoningText(text=out.reasoning_text)]
        out.output.append(ReasoningItem(id=new_id("rs_"), summary=summary, content=content))
        out.pieces.append(thought)
        out.reasoning_tokens = len(thought)
        if budget is not None:
            budget -= len(thought)
    mode, allowed = tool_choice(req.tool_choice, functions)
    chosen = _choose(mode, allowed, conv, topics, rng, req.parallel_tool_calls is not False)
    if chosen:
        rnd = py_random(rng)
        for fn in chosen:
            try:
                args = _encode(fake_instance(fn.parameters or {"type": "object", "properties": {}}, rnd)).decode()
            except BAD_SCHEMA as exc:
                raise InvalidRequestError(f"Invalid schema for function '{fn.name}': {exc}", param="tools") from None
            pieces = tokenize(args)
            status = "completed"
            if budget is not None:
                room = budget - count_tokens(fn.name)
                if len(pieces) > room:
                    pieces, status, out.incomplete = pieces[: max(room, 0)], "incomplete", True
                budget = room - len(pieces)
            call = FunctionCallItem(id=new_id("fc_"), call_id="call_" + new_id("")[:24], name=fn.name,
                                    arguments="".join(pieces), status=status)
            out.output.append(call)
            out.pieces.append(pieces)
            if out.incomplete:
                break
        return _totals(out)
    if fmt.type == "text":
        g = T.generate(rng, topics=topics, max_tokens=budget)
        tokens, out.incomplete = g.tokens, g.finish_reason == "length"
    else:
        rnd = py_random(rng)
        if fmt.type == "json_schema":
            try:
                value = fake_instance(fmt.schema, rnd)
            except BAD_SCHEMA as exc:
                raise InvalidRequestError(
                    f"Invalid schema for text format '{fmt.name}': {exc}", param="text.format.schema"
                ) from None
        else:
            value = fake_json_object(rnd, topics)
        tokens = tokenize(_encode(value).decode())
        if budget is not None and len(tokens) > budget:
            tokens, out.incomplete = tokens[:budget], True  # cut JSON, as OpenAI leaves it
    out.text = "".join(tokens)
    status = "incomplete" if out.incomplete else "completed"
    part = OutputText(text=out.text)
    if req.include and LOGPROBS in req.include:
        out.logprobs = token_logprobs(rng, tokens, req.top_logprobs or 0)
        part.logprobs = [
            {"token": t, "bytes": list(t.encode()), "logprob": lp,
             "top_logprobs": [{"token": a, "bytes": list(a.encode()), "logprob": b} for a, b in tops]}
            for t, lp, tops in out.logprobs
        ]
    out.output.append(OutputMessage(id=new_id("msg_"), status=status, content=[part]))
    out.pieces.append(tokens)
    return _totals(out)


def _totals(p: Planned) -> Planned:
    n = p.reasoning_tokens
    for item, pieces in zip(p.output, p.pieces):
        if isinstance(item, OutputMessage):
            n += len(pieces)
        elif isinstance(item, FunctionCallItem):
            n += count_tokens(item.name) + len(pieces)
    p.output_tokens = n
    return p


# --- building the response -------------------------------------------------------------------------------------
def _usage(conv: Conversation, cached: int, p: Planned) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=conv.tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=cached),
        output_tokens=p.output_tokens,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=p.reasoning_tokens),
        total_tokens=conv.tokens + p.output_tokens,
    )


def _shell(req: ResponseCreateRequest, model: str, text: TextConfig, tools: list[Any], store_it: bool) -> Response:
    """The response before it has output: what response.created and a queued background answer show."""
    reasoning = ReasoningConfig()
    if T.is_reasoning_model(model):
        r = req.reasoning
        reasoning = ReasoningConfig(effort=(r.effort if r and r.effort else "medium"),
                                    summary=(r.summary or r.generate_summary) if r else None)
    return Response(
        id=new_id("resp_"),
        created_at=int(time.time()),
        status="in_progress",
        background=bool(req.background),
        instructions=req.instructions,
        max_output_tokens=req.max_output_tokens,
        max_tool_calls=req.max_tool_calls,
        model=model,
        parallel_tool_calls=req.parallel_tool_calls is not False,
        previous_response_id=req.previous_response_id,
        reasoning=reasoning,
        service_tier=req.service_tier if req.service_tier not in (None, "auto") else "default",
        store=store_it,
        temperature=req.temperature if req.temperature is not None else 1.0,
        text=text,
        tool_choice=req.tool_choice if req.tool_choice is not None else "auto",
        tools=tools,
        top_logprobs=req.top_logprobs or 0,
        top_p=req.top_p if req.top_p is not None else 1.0,
        truncation=req.truncation or "disabled",
        user=req.user,
        metadata=req.metadata or {},
    )


def finish(resp: Response, conv: Conversation, cached: int, p: Planned) -> Response:
    """The shell filled in with the planned output, usage and final status."""
    done = msgspec.structs.replace(resp, output=p.output, usage=_usage(conv, cached, p))
    if p.incomplete:
        done.status = "incomplete"
        done.incomplete_details = IncompleteDetails(reason="max_output_tokens")
    else:
        done.status = "completed"
        done.completed_at = int(time.time())
    return done


def _answer_text(p: Planned) -> str:
    parts = [p.text]
    for item in p.output:
        if isinstance(item, FunctionCallItem):
            parts.append(item.name + " " + item.arguments)
    return " ".join(x for x in parts if x)


def _row(resp: Response, conv: Conversation, p: Planned | None) -> store.ResponseRow:
    history = conv.text + ("\n" + _answer_text(p) if p is not None else "")
    output_tokens = p.output_tokens if p is not None else 0
    return store.ResponseRow(
        id=resp.id,
        created_at=resp.created_at,
        status=resp.status,
        model=resp.model,
        previous_response_id=resp.previous_response_id,
        body=_encode(resp),
        input_items=_encode(conv.items),
        history_text=history[-_HISTORY_CHARS:],
        history_tokens=conv.tokens + output_tokens,
    )


# --- the endpoints ---------------------------------------------------------------------------------------------
async def _conversation(ctx: SyntheticContext, req: ResponseCreateRequest, model: str,
                        functions: list[FunctionTool]) -> Conversation:
    items, turns, extra, after_tool = read_input(req)
    history_text, history_tokens = "", 0
    if req.previous_response_id is not None:
        found = await store.get_history(ctx.database, req.previous_response_id)
        if found is None:
            raise NotFoundError(
                f"Previous response with id '{req.previous_response_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history_text, history_tokens = found
    tokens = history_tokens + REPLY_PRIMING + extra
    for _, text in turns:
        tokens += TOKENS_PER_MESSAGE + count_tokens(text)
    if req.instructions:  # counted, and part of the prompt, but not what the answer is about
        tokens += TOKENS_PER_MESSAGE + count_tokens(req.instructions)
    if functions:
        tokens += count_tokens(_encode(functions).decode())
    last = next((text for role, text in reversed(turns) if role in ("user", "tool")), turns[-1][1] if turns else "")
    text = "\n".join(t for _, t in turns)
    if history_text:
        text = history_text + "\n" + text

    def pieces() -> list[str]:
        out: list[str] = []
        if req.instructions:
            out.append("<|developer|>")
            out.extend(tokenize(req.instructions))
        if history_text:
            out.extend(tokenize(history_text))
        for role, t in turns:
            out.append("<|" + role + "|>")
            out.extend(tokenize(t))
        return out

    return Conversation(items=items, text=text[-_HISTORY_CHARS:], last_text=last, tokens=tokens, pieces=pieces,
                        after_tool_output=after_tool, history_tokens=history_tokens)


def _cached(ctx: SyntheticContext, conv: Conversation, model: str) -> int:
    cached = observe_prompt(ctx, conv.tokens, conv.pieces, model)
    # The earlier turns of a stored conversation are a literal prefix of this prompt: cached on OpenAI.
    if conv.history_tokens >= MIN_CACHED:
        cached = max(cached, conv.history_tokens // BLOCK * BLOCK)
    return min(cached, conv.tokens)


async def create_response(ctx: SyntheticContext, req: ResponseCreateRequest) -> Reply:
    model = req.model or DEFAULT_MODEL
    ctx.catalogue.require(model)
    if req.background and req.store is False:
        raise InvalidRequestError("Background responses must be stored: drop 'store': false.", param="store")
    functions, tools = read_tools(req)
    text = read_format(req)
    conv = await _conversation(ctx, req, model, functions)
    cached = _cached(ctx, conv, model)
    # temperature 0 without a seed is greedy decoding: the same input gives the same answer.
    seed = req.seed if req.seed is not None else (0 if req.temperature == 0 else None)
    rng = T.make_rng(seed, model, req.instructions or "", conv.text)
    planned = plan(req, model, conv, functions, text.format, rng)
    # OpenAI stores responses unless told not to (store defaults to true), and SDK code relies on it
    # for previous_response_id; background responses are always stored.
    store_it = req.store is not False or bool(req.background)
    shell = _shell(req, model, text, tools, store_it)
    final = finish(shell, conv, cached, planned)
    seq = ctx.engine.request(model, conv.tokens, cached, completion_tokens=planned.output_tokens,
                             finish_reason="length" if final.status == "incomplete" else "stop",
                             max_tokens=req.max_output_tokens)
    if req.stream:
        from fakeai.modes.synthetic.response_events import stream_response

        stats = StreamStats()
        if not store_it:
            events = stream_response(ctx, shell, final, planned, conv.tokens, cached, stats, None)
            return EventStream(events=ctx.engine.astream(seq, events), stats=stats)
        persist = _Once(lambda: store.insert_response(ctx.database, _row(final, conv, planned)))
        events = ctx.engine.astream(seq, stream_response(ctx, shell, final, planned, conv.tokens, cached, stats,
                                                         persist))
        return EventStream(events=_stored_even_if_left(ctx, events, persist), stats=stats)
    if req.background:
        shell.status = "queued"
        await store.insert_response(ctx.database, _row(shell, conv, None))
        task = ctx.tasks.track(asyncio.create_task(_run_background(ctx, shell, final, conv, seq, planned)),
                               f"background response {shell.id}")
        _BACKGROUND[shell.id] = task
        task.add_done_callback(lambda _: _BACKGROUND.pop(shell.id, None))
        return Body(content=_encode(shell))
    await ctx.engine.complete(seq, planned.output_tokens)
    if store_it:
        await store.insert_response(ctx.database, _row(final, conv, planned))
    return Body(content=_encode(final), tokens=planned.output_tokens)


class _Once:
    """An awaitable action that runs at most once (the stream's own save, or the save after a leave)."""

    __slots__ = ("action", "done")

    def __init__(self, action: Callable[[], Awaitable[None]]) -> None:
        self.action = action
        self.done = False

    async def __call__(self) -> None:
        if not self.done:
            self.done = True
            await self.action()


async def _stored_even_if_left(
    ctx: SyntheticContext, events: AsyncIterator[bytes], persist: _Once
) -> AsyncIterator[bytes]:
    """A stored streamed response is saved even when the client leaves before the end: the answer is
    already decided, and a later GET or previous_response_id must find it."""
    try:
        async for event in events:
            yield event
    except (GeneratorExit, asyncio.CancelledError):
        if not persist.done:
            ctx.tasks.track(asyncio.get_running_loop().create_task(persist()),
                            "a streamed response saved after its client left")
        raise


async def _run_background(ctx: SyntheticContext, shell: Response, final: Response, conv: Conversation,
                          seq: Sequence, planned: Planned) -> None:
    db = ctx.database
    try:
        await asyncio.sleep(0)  # let the queued answer go out first
        running = msgspec.structs.replace(shell, status="in_progress")
        if not await store.update_response(db, shell.id, status="in_progress", body=_encode(running),
                                           only_from=("queued",)):
            return  # deleted or cancelled meanwhile
        row = await _generate(ctx, final, conv, seq, planned)
        await store.update_response(db, shell.id, status=final.status, body=row.body, only_from=_RUNNING,
                                    history_text=row.history_text, history_tokens=row.history_tokens)
    except asyncio.CancelledError:
        # A cancel request already stored `cancelled` (the guard keeps it); anything else is shutdown.
        await _fail(db, shell, "The server shut down before the response finished.")
        raise
    except Exception:
        # Pollers wait for a final status: give them one, then let the task set log what was lost.
        await _fail(db, shell, "The server had an error while generating the response.")
        raise


async def _generate(ctx: SyntheticContext, final: Response, conv: Conversation, seq: Sequence,
                    planned: Planned) -> store.ResponseRow:
    """A background response's generation: the answer is planned already, this takes its time."""
    await ctx.engine.complete(seq, planned.output_tokens)
    return _row(final, conv, planned)


async def _fail(db: Database, shell: Response, message: str) -> None:
    failed = msgspec.structs.replace(shell, status="failed", error={"code": "server_error", "message": message})
    try:
        await store.update_response(db, shell.id, status="failed", body=_encode(failed), only_from=_RUNNING)
    except Exception:  # noqa: BLE001 - the original failure is what gets reported
        log.exception("background response %s: could not store its failure", shell.id)


async def retrieve_response(ctx: SyntheticContext, response_id: str) -> Body:
    body = await store.get_response_body(ctx.database, response_id)
    if body is None:
        raise _missing(response_id)
    return Body(content=body)


async def cancel_response(ctx: SyntheticContext, response_id: str) -> Body:
    """Stop a background response that has not finished; a finished one is returned as it is."""
    db = ctx.database
    body = await store.get_response_body(db, response_id)
    if body is None:
        raise _missing(response_id)
    resp = _decode_response(body)
    if not resp.background:
        raise InvalidRequestError("Only responses created with background=true can be cancelled.",
                                  param="response_id")
    if resp.status in _RUNNING:
        resp.status = "cancelled"
        body = _encode(resp)
        if await store.update_response(db, response_id, status="cancelled", body=body, only_from=_RUNNING):
            task = _BACKGROUND.pop(response_id, None)
            if task is not None:
                task.cancel()
        else:  # it finished (or was deleted) in between: answer with what is stored now
            return await retrieve_response(ctx, response_id)
    return Body(content=body)


async def delete_response(ctx: SyntheticContext, response_id: str) -> Body:
    if not await store.delete_response(ctx.database, response_id):
        raise _missing(response_id)
    return Body(content=_encode(ResponseDeleted(id=response_id)))


async def list_input_items(ctx: SyntheticContext, response_id: str, *, limit: str | None, after: str | None,
                           order: str | None) -> Body:
    try:
        count = 20 if limit is None else int(limit)
    except ValueError:
        count = 0
    if not 1 <= count <= 100:
        raise InvalidRequestError("Invalid value for 'limit': expected an integer between 1 and 100.", param="limit")
    if order not in (None, "asc", "desc"):
        raise InvalidRequestError("Invalid value for 'order': expected 'asc' or 'desc'.", param="order")
    raw = await store.get_input_items(ctx.database, response_id)
    if raw is None:
        raise _missing(response_id)
    items = _decode_items(raw)
    if order != "asc":
        items.reverse()  # newest first, OpenAI's default
    if after:
        ids = [item.get("id") for item in items]
        if after not in ids:
            raise InvalidRequestError(f"Invalid value for 'after': no item '{after}' in this response.", param="after")
        items = items[ids.index(after) + 1 :]
    page = items[:count]
    return Body(content=_encode(ItemList(
        data=page, has_more=len(items) > count,
        first_id=page[0].get("id") if page else None, last_id=page[-1].get("id") if page else None,
    )))


def _missing(response_id: str) -> NotFoundError:
    return NotFoundError(f"Response with id '{response_id}' not found.", param="response_id")
