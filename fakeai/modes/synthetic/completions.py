"""POST /v1/completions (legacy) in synthetic mode: prompt forms, echo, suffix, n, best_of, logprobs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from fakeai.errors import InvalidRequestError
from fakeai.modes.base import SSE_DONE, Body, EventStream, Reply, StreamStats
from fakeai.modes.synthetic import text as T
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.logprobs import token_logprobs
from fakeai.modes.synthetic.textcommon import (
    SSE_PREFIX,
    enc_str,
    new_id,
    observe_prompt,
    paced_choices,
    stop_list,
    vllm_reason,
)
from fakeai.modes.synthetic.tokenizer import count_tokens, tokenize
from fakeai.schemas.completions import (
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    CompletionUsage,
)

__all__ = ["create_completion", "parse_prompts"]

_encode = msgspec.json.Encoder().encode
_ID_TOKENS = tuple(" " + w for w in T.WORDS)


@dataclass(slots=True)
class Prompt:
    text: str
    tokens: int
    pieces: list[str] | None  # known pieces (token-array prompts); None: tokenize text when needed


def _from_ids(ids: list[int]) -> Prompt:
    # We have no real vocabulary to decode ids with; map each id to a stable one-token word instead.
    pieces = [_ID_TOKENS[i % len(_ID_TOKENS)] for i in ids]
    return Prompt("".join(pieces), len(ids), pieces)


def _is_ids(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in value)


def parse_prompts(prompt: str | list | None) -> list[Prompt]:
    """str | list[str] | list[int] | list[list[int]] -> prompts (one choice group each)."""
    if prompt is None:
        return [Prompt("", 0, [])]
    if isinstance(prompt, str):
        return [Prompt(prompt, count_tokens(prompt), None)]
    if not prompt:
        raise InvalidRequestError("Invalid value for 'prompt': it must not be empty.", param="prompt")
    if all(isinstance(p, str) for p in prompt):
        return [Prompt(p, count_tokens(p), None) for p in prompt]
    if _is_ids(prompt):
        return [_from_ids(prompt)]
    if all(_is_ids(p) and p for p in prompt):
        return [_from_ids(p) for p in prompt]
    raise InvalidRequestError(
        "Invalid value for 'prompt': expected a string, an array of strings, an array of token ids "
        "or an array of arrays of token ids.",
        param="prompt",
    )


@dataclass(slots=True)
class Planned:
    prompt: Prompt
    tokens: list[str]
    finish_reason: str
    logprobs: list | None


def _continue(prompt: str, tokens: list[str]) -> list[str]:
    # Continuing mid-sentence ("Once upon a time" -> " the ..."): no capital on the first word.
    if tokens and prompt.strip() and prompt.rstrip()[-1:] not in ".!?:" and tokens[0].strip() != "I":
        tokens[0] = tokens[0].lower()
    return tokens


def _plan(req: CompletionRequest, prompts: list[Prompt], best_of: int, seed_parts: str) -> list[Planned]:
    out = []
    stops = stop_list(req.stop)
    for prompt in prompts:
        rng = T.make_rng(req.seed, req.model, seed_parts, prompt.text)
        topics = T.topic_words(prompt.text)
        bare = not prompt.text or prompt.text.endswith(("\n", " "))
        for _ in range(best_of):
            g = T.generate(
                rng,
                topics=topics,
                max_tokens=req.max_tokens,
                min_tokens=req.min_tokens or 0,
                ignore_eos=bool(req.ignore_eos),
                stop=stops,
                bare_start=bare,
            )
            tokens = _continue(prompt.text, g.tokens)
            lps = token_logprobs(rng, tokens, req.logprobs) if req.logprobs is not None else None
            out.append(Planned(prompt, tokens, g.finish_reason, lps))
    return out


def _legacy_logprobs(p: Planned, echo: bool, offset: int = 0) -> CompletionLogprobs:
    tokens: list[str] = []
    lps: list[float | None] = []
    tops: list[dict[str, float] | None] = []
    offsets: list[int] = []
    pos = offset
    if echo:  # the prompt's own tokens, the first without a logprob (nothing precedes it)
        pieces = p.prompt.pieces if p.prompt.pieces is not None else tokenize(p.prompt.text)
        for i, piece in enumerate(pieces):
            tokens.append(piece)
            lps.append(None if i == 0 else -1.5)
            tops.append(None if i == 0 else {piece: -1.5})
            offsets.append(pos)
            pos += len(piece)
    for tok, lp, alts in p.logprobs or ():
        tokens.append(tok)
        lps.append(lp)
        tops.append(dict(alts))
        offsets.append(pos)
        pos += len(tok)
    return CompletionLogprobs(tokens, lps, tops, offsets)


async def create_completion(ctx: SyntheticContext, req: CompletionRequest) -> Reply:
    model = req.model
    ctx.catalogue.require(model)
    n = req.n or 1
    best_of = req.best_of or n
    if best_of < n:
        raise InvalidRequestError("'best_of' must be greater than or equal to 'n'.", param="best_of")
    if req.stream and best_of > n:
        raise InvalidRequestError("'best_of' cannot be greater than 'n' when streaming.", param="best_of")
    prompts = parse_prompts(req.prompt)
    suffix_tokens = count_tokens(req.suffix) if req.suffix else 0
    prompt_tokens = sum(p.tokens for p in prompts) + suffix_tokens
    first = prompts[0]
    cached = observe_prompt(
        ctx, first.tokens, lambda: first.pieces if first.pieces is not None else tokenize(first.text), model
    )
    plans = _plan(req, prompts, best_of, req.suffix or "")
    completion_tokens = sum(len(p.tokens) for p in plans)  # every best_of candidate is billed
    # best_of keeps the n most likely candidates of each prompt (by mean logprob when known).
    if best_of > n:
        kept = []
        for k in range(len(prompts)):
            group = plans[k * best_of : (k + 1) * best_of]
            group.sort(key=lambda p: -(sum(e[1] for e in p.logprobs) / max(len(p.logprobs), 1)) if p.logprobs else 0)
            kept.extend(group[:n])
        plans = kept
    usage = CompletionUsage(
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, total_tokens=prompt_tokens + completion_tokens
    )
    echo = bool(req.echo)
    seq = ctx.engine.request(model, prompt_tokens, cached, n=len(plans), completion_tokens=completion_tokens,
                             finish_reason=vllm_reason(plans[0].finish_reason), max_tokens=req.max_tokens)
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        stats = StreamStats()
        events = _stream(model, plans, echo, usage if include_usage else None, stats)
        return EventStream(events=ctx.engine.stream(seq, events), stats=stats)
    choices = []
    for i, p in enumerate(plans):
        text = "".join(p.tokens)
        choices.append(
            CompletionChoice(
                text=p.prompt.text + text if echo else text,
                index=i,
                logprobs=_legacy_logprobs(p, echo) if p.logprobs is not None else None,
                finish_reason=p.finish_reason,
            )
        )
    body = Completion(id=new_id("cmpl-"), created=int(time.time()), model=model, choices=choices, usage=usage)
    await ctx.engine.complete(seq, max(len(p.tokens) for p in plans))
    return Body(content=_encode(body), tokens=completion_tokens)


def _stream(
    model: str, plans: list[Planned], echo: bool, usage: CompletionUsage | None, stats: StreamStats
) -> Iterator[bytes | object]:
    """The stream's events with the engine's STEP markers (driven by ``Engine.stream``)."""
    head = (
        SSE_PREFIX
        + b'{"id":"'
        + new_id("cmpl-").encode()
        + b'","object":"text_completion","created":'
        + str(int(time.time())).encode()
        + b',"model":'
        + enc_str(model)
        + b',"choices":[{"text":'
    )
    first: list[bytes] = []
    sequences: list[list[bytes]] = []
    for i, p in enumerate(plans):
        tail = b',"index":%d,"logprobs":null,"finish_reason":null}]}\n\n' % i
        events = []
        offset = 0
        if echo:
            first.append(head + enc_str(p.prompt.text) + tail)
            offset = len(p.prompt.text)
        if p.logprobs is None:
            events = [head + enc_str(tok) + tail for tok in p.tokens]
        else:
            lp_tail = b',"index":%d,"logprobs":' % i
            for tok, entry in zip(p.tokens, p.logprobs):
                one = Planned(p.prompt, [tok], "", [entry])
                lp = _encode(_legacy_logprobs(one, False, offset))
                events.append(head + enc_str(tok) + lp_tail + lp + b',"finish_reason":null}]}\n\n')
                offset += len(tok)
        events.append(head + b'"","index":%d,"logprobs":null,"finish_reason":"%s"}]}\n\n' % (i, p.finish_reason.encode()))
        sequences.append(events)
    yield from paced_choices(first, sequences)
    stats.tokens = sum(len(p.tokens) for p in plans)
    if usage is not None:
        yield head[: -len(b'[{"text":')] + b'[],"usage":' + _encode(usage) + b"}\n\n"
    yield SSE_DONE
