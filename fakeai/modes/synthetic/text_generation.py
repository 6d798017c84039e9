"""POST /v1/text/generation (Azure shape) in synthetic mode."""

from __future__ import annotations

import time

import msgspec

from fakeai.modes.base import Body, Reply
from fakeai.modes.synthetic import text as T
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.textcommon import new_id, observe_prompt, stop_list
from fakeai.modes.synthetic.tokenizer import count_tokens, tokenize
from fakeai.schemas.text_generation import TextGenerationRequest, TextGenerationResponse, TextGenerationUsage

__all__ = ["create_text_generation"]

_encode = msgspec.json.Encoder().encode


async def create_text_generation(ctx: SyntheticContext, req: TextGenerationRequest) -> Reply:
    ctx.catalogue.require(req.model)
    prompt_tokens = count_tokens(req.input)
    cached = observe_prompt(ctx, prompt_tokens, lambda: tokenize(req.input), req.model)
    rng = T.make_rng(req.seed, req.model, req.input)
    g = T.generate(rng, topics=T.topic_words(req.input), max_tokens=req.max_output_tokens, stop=stop_list(req.stop))
    completion = len(g.tokens)
    body = TextGenerationResponse(
        id=new_id("txtgen-"),
        created=int(time.time()),
        output=g.text,
        model=req.model,
        usage=TextGenerationUsage(
            prompt_tokens=prompt_tokens, completion_tokens=completion, total_tokens=prompt_tokens + completion
        ),
    )
    seq = ctx.engine.request(req.model, prompt_tokens, cached, completion_tokens=completion,
                             finish_reason="length" if req.max_output_tokens and completion >= req.max_output_tokens
                             else "stop", max_tokens=req.max_output_tokens)
    await ctx.engine.complete(seq, completion)
    return Body(content=_encode(body), tokens=completion)
