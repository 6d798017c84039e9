"""The latency model: time to first token, inter-token latency and jitter, slept with asyncio.

Off by default (all zeros: no sleeping at all, not even ``sleep(0)``). Delays are scheduled against
absolute deadlines from the start of the answer, so per-sleep overshoot does not accumulate over a long
stream, and they never block the event loop: hundreds of slow streams share one worker.
A cached prompt prefix shortens the prefill part of TTFT in proportion to the cached fraction.
"""

from __future__ import annotations

import asyncio
import random

__all__ = ["LatencyModel"]

# Share of TTFT that is prefill (skippable with a cached prefix); the rest is scheduling/first decode.
_PREFILL_SHARE = 0.9


class LatencyModel:
    __slots__ = ("ttft", "itl", "jitter", "enabled", "_rand")

    def __init__(self, ttft_ms: float = 0.0, itl_ms: float = 0.0, jitter: float = 0.0) -> None:
        self.ttft = max(float(ttft_ms), 0.0) / 1000.0
        self.itl = max(float(itl_ms), 0.0) / 1000.0
        self.jitter = min(max(float(jitter), 0.0), 1.0)
        self.enabled = self.ttft > 0 or self.itl > 0
        self._rand = random.Random()  # timing noise need not be reproducible

    @classmethod
    def from_settings(cls, settings: object) -> "LatencyModel":
        return cls(
            getattr(settings, "ttft_ms", 0.0) or 0.0,
            getattr(settings, "itl_ms", 0.0) or 0.0,
            getattr(settings, "latency_jitter", 0.0) or 0.0,
        )

    def _jit(self, seconds: float) -> float:
        if self.jitter and seconds:
            return seconds * (1.0 + self.jitter * (2.0 * self._rand.random() - 1.0))
        return seconds

    def first_token_delay(self, prompt_tokens: int = 0, cached_tokens: int = 0) -> float:
        ttft = self.ttft
        if cached_tokens and prompt_tokens:
            ttft *= 1.0 - _PREFILL_SHARE * min(cached_tokens / prompt_tokens, 1.0)
        return self._jit(ttft)

    def token_delay(self) -> float:
        return self._jit(self.itl)

    def total_delay(self, tokens: int, prompt_tokens: int = 0, cached_tokens: int = 0) -> float:
        """A non-streaming answer's wall time: TTFT plus ITL for every token after the first."""
        itl = self.itl * max(tokens - 1, 0)
        return self.first_token_delay(prompt_tokens, cached_tokens) + self._jit(itl)

    async def sleep_total(self, tokens: int, prompt_tokens: int = 0, cached_tokens: int = 0) -> None:
        if self.enabled:
            await asyncio.sleep(self.total_delay(tokens, prompt_tokens, cached_tokens))

    def pacer(self, prompt_tokens: int = 0, cached_tokens: int = 0) -> "Pacer":
        return Pacer(self, self.first_token_delay(prompt_tokens, cached_tokens))


class Pacer:
    """Sleeps a stream to its deadlines: first token at TTFT, then one ITL after each previous token."""

    __slots__ = ("_model", "_loop", "_next", "_first")

    def __init__(self, model: LatencyModel, ttft: float) -> None:
        self._model = model
        self._loop = asyncio.get_running_loop()
        self._next = self._loop.time() + ttft
        self._first = True

    async def wait(self) -> None:
        """Call before each content chunk."""
        if not self._first:
            self._next += self._model.token_delay()
        self._first = False
        delay = self._next - self._loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
