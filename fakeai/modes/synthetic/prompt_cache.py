"""OpenAI's prompt-caching rule, simulated: which prefix of a prompt counts as cached.

OpenAI caches prompts of 1024 tokens or more, and a later prompt sharing a prefix gets
``cached_tokens`` = the longest seen prefix, in steps of 128 tokens (1024, 1152, ...). We keep an LRU of
hashes of token prefixes at those boundaries; each hash chains the previous one with the next 128-token
block, so a lookup costs one pass over the prompt and memory is bounded by the entry count, not by the
prompts' size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

__all__ = ["PrefixCache", "MIN_CACHED", "BLOCK"]

MIN_CACHED = 1024
BLOCK = 128


class PrefixCache:
    def __init__(self, max_entries: int = 200_000) -> None:
        # ~100 bytes per entry: 200k entries is ~20 MB at most, ~1.5k distinct long prompts of 16k tokens.
        self._lru: OrderedDict[int, None] = OrderedDict()
        self._max = max_entries

    def __len__(self) -> int:
        return len(self._lru)

    def observe(self, pieces: Sequence[str], namespace: str = "") -> int:
        """Record the prompt's prefixes; return how many of its tokens were cached by earlier prompts.

        ``pieces`` are the prompt's token pieces; ``namespace`` (the model) keeps caches apart, as
        OpenAI's are per model.
        """
        n = len(pieces)
        if n < MIN_CACHED:
            return 0
        lru = self._lru
        h = hash(namespace)
        cached = 0
        for end in range(BLOCK, n + 1, BLOCK):
            h = hash((h, "".join(pieces[end - BLOCK : end])))
            if end < MIN_CACHED:
                continue
            if h in lru:
                cached = end
                lru.move_to_end(h)
            else:
                lru[h] = None
        while len(lru) > self._max:
            lru.popitem(last=False)
        return cached

    def clear(self) -> None:
        self._lru.clear()
