"""Synthetic log-probabilities for generated tokens, deterministic with the request's Generator.

The chosen token is always the most likely one (greedy-looking), with a logprob between about -0.01 and
-2.5; ``top_logprobs`` lists it first, then alternatives from the vocabulary with strictly lower values.
Returned as plain tuples; the chat and completions builders shape them for their wire formats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fakeai.modes.synthetic.text import WORDS

__all__ = ["TokenLogprob", "token_logprobs"]

# (token, logprob, [(alternative token, logprob), ...]) -- top list includes the token itself first.
TokenLogprob = tuple[str, float, list[tuple[str, float]]]

_ALTS = tuple(" " + w for w in WORDS)


def token_logprobs(rng: np.random.Generator, tokens: Sequence[str], top: int) -> list[TokenLogprob]:
    """One entry per token; ``top`` alternatives (0..20) including the chosen token."""
    n = len(tokens)
    if n == 0:
        return []
    top = max(0, min(int(top), 20))
    # Mostly confident tokens with an occasional uncertain one, like a real model's distribution.
    chosen = -(rng.gamma(0.6, 0.35, size=n)) - 0.0005
    out: list[TokenLogprob] = []
    if top <= 1:
        for tok, lp in zip(tokens, chosen.tolist()):
            lp = round(lp, 6)
            out.append((tok, lp, [(tok, lp)] if top == 1 else []))
        return out
    gaps = np.cumsum(rng.exponential(1.2, size=(n, top - 1)), axis=1) + 0.05
    alt_idx = rng.integers(0, len(_ALTS), size=(n, top - 1)).tolist()
    for tok, lp, g, idx in zip(tokens, chosen.tolist(), gaps.tolist(), alt_idx):
        lp = round(lp, 6)
        tops = [(tok, lp)]
        seen = {tok}
        for gap, j in zip(g, idx):
            alt = _ALTS[j]
            while alt in seen:  # alternatives must be distinct tokens
                j = (j + 1) % len(_ALTS)
                alt = _ALTS[j]
            seen.add(alt)
            tops.append((alt, round(lp - gap, 6)))
        out.append((tok, lp, tops))
    return out
