"""Rate limits per API key (requests and tokens per minute) and a token quota for the whole run,
shared by every worker of the server through ``SharedTable``, or by every replica of a PostgreSQL
deployment through the database.

Each limit is a bucket that refills continuously at ``limit / 60`` per second, as OpenAI's do: the
level is what is in use, ``remaining = limit - level``, and the reset is the time until the level is
back to zero. A request is admitted when it fits in both buckets (and the quota); then it is
charged to both at once, so a refused request costs nothing.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone

from typing import TYPE_CHECKING

from fakeai.edge.shared_table import SharedTable, Slot, key_hash
from fakeai.errors import InsufficientQuotaError, RateLimitError

if TYPE_CHECKING:
    from fakeai.store import Database

__all__ = ["Admission", "RateLimiter", "format_reset"]

DOCS = "Visit https://platform.openai.com/account/rate-limits to learn more."
ORGANIZATION = "org-fakeai"


def format_reset(seconds: float) -> str:
    """A duration the way OpenAI's ``x-ratelimit-reset-*`` headers write it (Go's format):
    ``20ms``, ``1s``, ``8.64s``, ``6m0s``, ``1h2m3s``."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs = f"{millis / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


class Admission:
    """What the limiter decided for an admitted request: the headers its answer carries."""

    __slots__ = ("headers",)

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


class RateLimiter:
    """The limits and their decisions. Budgets live in the server's ``SharedTable`` (``admit``: exact
    across its workers) or, for replicas sharing PostgreSQL, in the database (``admit_shared``: exact
    across every replica; migration 0007, ``fakeai.store.budgets``)."""

    def __init__(self, table: SharedTable | None, *, rpm: int, tpm: int, quota: int,
                 clock=time.monotonic) -> None:  # noqa: ANN001
        self.table = table
        self.rpm, self.tpm, self.quota = rpm, tpm, quota
        self.clock = clock  # CLOCK_MONOTONIC is one clock for every process of the machine
        self._hashes: dict[str, int] = {}

    @property
    def counts_tokens(self) -> bool:
        return bool(self.tpm or self.quota)

    def _hash(self, key: str) -> int:
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) > 10_000:
                self._hashes.clear()
            hashed = self._hashes[key] = key_hash(key)
        return hashed

    def admit(self, key: str, tokens: int, model: str | None, anthropic: bool = False) -> Admission:
        """Charge one request of ``tokens`` to ``key``, or raise the 429 OpenAI (or, for an Anthropic
        request, Anthropic) would send."""
        hashed = self._hash(key)
        now = self.clock()
        assert self.table is not None
        with self.table as table:
            offset, slot = table.find(hashed, now - 60.0)
            new, spend, headers = self.decide(slot, table.quota_used(), now, tokens, model, anthropic)
            table.store(offset, hashed, new)
            if spend:
                table.add_quota(spend)
        return Admission(headers)

    async def admit_shared(self, db: Database, key: str, tokens: int, model: str | None,
                           anthropic: bool = False) -> Admission:
        """``admit`` with the budgets in the database, shared by every replica (and the database's clock)."""
        from fakeai.store import budgets  # only a PostgreSQL deployment loads it

        def decide(levels: budgets.Levels, spent: float, now: float) -> tuple[budgets.Levels, float, dict[str, str]]:
            new, spend, headers = self.decide(Slot(*levels), spent, now, tokens, model, anthropic)
            return (new.requests, new.requests_at, new.tokens, new.tokens_at), spend, headers

        signed = self._hash(key) - (1 << 63)  # the column is a signed 64-bit integer
        headers = await budgets.charge(db, signed if signed != budgets.DEPLOYMENT else 1, decide,
                                       quota=bool(self.quota))
        return Admission(headers)

    def decide(self, slot: Slot, spent: float, now: float, tokens: int, model: str | None,
               anthropic: bool) -> tuple[Slot, int, dict[str, str]]:
        """From a key's budgets and the quota spent: its new budgets, the quota to spend and the answer's
        headers, or the 429 that refuses the request (which is then charged nothing)."""
        rpm, tpm = self.rpm, self.tpm
        requests = max(0.0, slot.requests - (now - slot.requests_at) * rpm / 60.0) if rpm else 0.0
        in_use = max(0.0, slot.tokens - (now - slot.tokens_at) * tpm / 60.0) if tpm else 0.0
        if tpm and tokens > tpm:  # can never pass: said first
            raise self._too_large(model, tokens, _headers(rpm, requests, tpm, in_use, anthropic), anthropic)
        if self.quota and spent + tokens > self.quota:
            raise _no_quota(_headers(rpm, requests, tpm, in_use, anthropic), anthropic)
        if rpm and requests + 1 > rpm:
            raise self._refused("requests", "RPM", model, rpm, requests, 1, (requests + 1 - rpm) * 60.0 / rpm,
                                _headers(rpm, requests, tpm, in_use, anthropic), anthropic)
        if tpm and in_use + tokens > tpm:
            raise self._refused("tokens", "TPM", model, tpm, in_use, tokens, (in_use + tokens - tpm) * 60.0 / tpm,
                                _headers(rpm, requests, tpm, in_use, anthropic), anthropic)
        new = Slot(requests + 1, now, in_use + tokens, now)
        return new, tokens if self.quota else 0, _headers(rpm, new.requests, tpm, new.tokens, anthropic)

    def _refused(self, kind: str, unit: str, model: str | None, limit: int, used: float, asked: int, wait: float,
                 headers: dict[str, str], anthropic: bool) -> RateLimitError:
        wait_ms = max(1, math.ceil(wait * 1000))
        if anthropic:
            what = "requests" if kind == "requests" else "request tokens"
            message = (
                f"Number of {what} has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); "
                "see the response headers for current usage. Please reduce the prompt length or the maximum tokens "
                "requested, or try again later."
            )
        else:
            message = (
                f"Rate limit reached for {model or 'this model'} in organization {ORGANIZATION} on {kind} per min ({unit}): "
                f"Limit {limit}, Used {math.ceil(used)}, Requested {asked}. "
                f"Please try again in {format_reset(wait_ms / 1000)}. {DOCS}"
            )
        headers["retry-after"] = str(math.ceil(wait_ms / 1000))
        headers["retry-after-ms"] = str(wait_ms)
        return RateLimitError(message, kind=kind, headers=headers)

    def _too_large(self, model: str | None, tokens: int, headers: dict[str, str], anthropic: bool) -> RateLimitError:
        message = (
            f"Request too large for {model or 'this model'} in organization {ORGANIZATION} on tokens per min (TPM): "
            f"Limit {self.tpm}, Requested {tokens}. The input or output tokens must be reduced in order to run "
            f"successfully. {DOCS}"
        )
        if anthropic:
            message = (
                f"This request would exceed your organization's rate limit of {self.tpm} tokens per minute "
                f"(requested {tokens}). Please reduce the prompt length or the maximum tokens requested."
            )
        headers["x-should-retry"] = "false"  # waiting cannot help
        return RateLimitError(message, kind="tokens", headers=headers, limit="too_large")


def _no_quota(headers: dict[str, str], anthropic: bool) -> InsufficientQuotaError:
    if anthropic:  # Anthropic answers a spent balance with a 400, as its API does
        error = InsufficientQuotaError(
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or "
            "purchase credits.",
            headers=headers,
        )
        error.status_code = 400
        return error
    return InsufficientQuotaError(headers=headers)


# Each provider's header names for the requests and the tokens bucket: limit, remaining, reset.
_OPENAI_NAMES = tuple((f"x-ratelimit-limit-{b}", f"x-ratelimit-remaining-{b}", f"x-ratelimit-reset-{b}")
                      for b in ("requests", "tokens"))
_ANTHROPIC_NAMES = tuple((f"anthropic-ratelimit-{b}-limit", f"anthropic-ratelimit-{b}-remaining",
                          f"anthropic-ratelimit-{b}-reset") for b in ("requests", "tokens"))


def _headers(rpm: int, requests: float, tpm: int, tokens: float, anthropic: bool = False) -> dict[str, str]:
    """Each configured bucket's limit, what remains and when it is full again: OpenAI writes the reset as a
    duration (``format_reset``), Anthropic as the RFC 3339 time it happens."""
    if anthropic:
        now = datetime.now(timezone.utc)
        names = _ANTHROPIC_NAMES

        def reset(seconds: float) -> str:
            return (now + timedelta(seconds=math.ceil(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        names, reset = _OPENAI_NAMES, format_reset
    headers: dict[str, str] = {}
    for (limit_name, remaining_name, reset_name), limit, level in zip(names, (rpm, tpm), (requests, tokens)):
        if limit:
            headers[limit_name] = str(limit)
            headers[remaining_name] = str(max(0, math.floor(limit - level)))
            headers[reset_name] = reset(level * 60.0 / limit)
    return headers
