"""Per-request helpers shared by the text endpoints (chat, completions, text generation)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from itertools import islice

import msgspec
import numpy as np

from fakeai.errors import InvalidRequestError
from fakeai.ids import random_hex
from fakeai.modes.engine import STEP
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.prompt_cache import MIN_CACHED

__all__ = ["new_id", "observe_prompt", "py_random", "stop_list", "enc_str", "paced_choices", "vllm_reason", "SSE_PREFIX"]

SSE_PREFIX = b"data: "
enc_str = msgspec.json.encode  # a str becomes its quoted, escaped JSON form


def new_id(prefix: str) -> str:
    return prefix + random_hex(12)


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


def paced_choices(first: list[bytes], sequences: list[list[bytes]]) -> Iterator[bytes | object]:
    """The engine's view of n choices' events (see ``fakeai.modes.engine``): ``STEP`` marks each wait.

    ``first`` goes out at time to first token (the role events), together with each choice's first
    token; then one decode step per token. Each sequence is one choice's events, the last one its
    finish event (sent right after its last token, no wait). With n > 1 the choices advance
    together, one token each per step, as a batching server sends them.
    """
    yield STEP
    yield from first
    if len(sequences) == 1:  # the common case, without per-position bookkeeping
        seq = sequences[0]
        last = len(seq) - 1
        if last > 0:
            yield seq[0]
            for event in islice(seq, 1, last):
                yield STEP
                yield event
        yield seq[last]
        return
    longest = max(map(len, sequences))
    for pos in range(longest):
        if 0 < pos < longest - 1:
            yield STEP
        for seq in sequences:
            if pos < len(seq):
                yield seq[pos]


def vllm_reason(finish_reason: str) -> str:
    """vLLM's finished_reason label for an OpenAI finish_reason (tool calls and filters end as stop)."""
    return "length" if finish_reason == "length" else "stop"
