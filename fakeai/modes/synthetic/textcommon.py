"""Per-request helpers shared by the text endpoints (chat, completions, text generation)."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Sequence

import msgspec
import numpy as np

from fakeai.errors import InvalidRequestError
from fakeai.modes.base import StreamStats
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.latency import Pacer
from fakeai.modes.synthetic.prompt_cache import MIN_CACHED

__all__ = ["new_id", "observe_prompt", "py_random", "stop_list", "enc_str", "emit", "SSE_PREFIX"]

SSE_PREFIX = b"data: "
enc_str = msgspec.json.encode  # a str becomes its quoted, escaped JSON form


def new_id(prefix: str) -> str:
    return prefix + os.urandom(12).hex()


def py_random(rng: np.random.Generator) -> random.Random:
    """A stdlib Random drawn from the request's Generator, for the many small draws of the JSON faker."""
    return random.Random(int(rng.integers(1 << 62)))


def stop_list(stop: str | Sequence[str] | None) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop] if stop else None
    if len(stop) > 4:
        raise InvalidRequestError("'stop' accepts at most 4 sequences.", param="stop")
    return [s for s in stop if s] or None


def observe_prompt(ctx: SyntheticContext, prompt_tokens: int, pieces_of, model: str) -> int:
    """cached_tokens for this prompt under OpenAI's rule; ``pieces_of()`` is only called for long prompts.

    Tokenizing the whole prompt again costs ~0.25 us a token, so prompts too short to ever be cached
    (the common case under load) skip it.
    """
    if prompt_tokens < MIN_CACHED:
        return 0
    return ctx.prompt_cache.observe(pieces_of(), namespace=model)


async def emit(
    first: list[bytes], sequences: list[list[bytes]], pacer: Pacer | None, stats: StreamStats
) -> AsyncIterator[bytes]:
    """Yield a stream's events on the latency model's clock.

    ``first`` goes out at time-to-first-token (the role events), together with each choice's first
    token; then one inter-token latency per step. Each sequence is one choice's events, the last one
    its finish event (sent right after its last token, no wait). With n > 1 the choices advance
    together, one token each per step, as a batching server sends them.
    """
    if pacer is not None:
        await pacer.wait()
    for event in first:
        yield event
    if len(sequences) == 1:  # the common case, without per-position bookkeeping
        seq = sequences[0]
        last = len(seq) - 1
        for pos, event in enumerate(seq):
            if pos < last:
                if pacer is not None and pos:
                    await pacer.wait()
                stats.tokens += 1
            yield event
        return
    longest = max(map(len, sequences))
    for pos in range(longest):
        if pacer is not None and 0 < pos < longest - 1:
            await pacer.wait()
        for seq in sequences:
            if pos < len(seq):
                if pos < len(seq) - 1:
                    stats.tokens += 1
                yield seq[pos]
