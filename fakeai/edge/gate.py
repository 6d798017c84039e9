"""``Edge``: one request through the rate limits and the fault policy (see the package docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakeai.edge.faults import ANTHROPIC, CHAT, DAMAGING, RESPONSES, Fault, FaultPolicy, damage, drop_after, fault_error, forced
from fakeai.edge.limits import RateLimiter
from fakeai.edge.request_cost import request_cost
from fakeai.edge.shared_table import SharedTable
from fakeai.errors import ConnectionDropped, FakeAIError, InsufficientQuotaError, InvalidRequestError, RateLimitError
from fakeai.modes.base import Body, Exchange, Reply
from fakeai.providers import is_anthropic

if TYPE_CHECKING:
    from fakeai.metrics import Metrics
    from fakeai.modes.dispatch import Dispatcher, SyntheticThunk
    from fakeai.run_dir import RunDir
    from fakeai.settings import Settings
    from fakeai.store import Database

__all__ = ["Edge", "FAULT_HEADER", "api_key"]

FAULT_HEADER = "x-fakeai-fault"
AFTER_HEADER = "x-fakeai-fault-after"
ATTEMPTS_HEADER = "x-fakeai-fault-attempts"
RETRY_COUNT_HEADER = "x-stainless-retry-count"  # sent by the OpenAI and Anthropic SDKs on a retry
ANONYMOUS = "anonymous"


class Edge:
    """Built once per worker. ``active`` says whether every request goes through it; when it is
    false (no limit, no random fault) only a request carrying ``x-fakeai-fault`` does, so a server
    without limits pays one dict lookup per request for forced faults."""

    def __init__(self, settings: Settings, dispatcher: Dispatcher, metrics: Metrics, run_dir: RunDir,
                 db: Database | None = None) -> None:
        self.dispatcher = dispatcher
        # Replicas sharing PostgreSQL share their budgets and fault sequence through it; a single
        # server (SQLite, or PostgreSQL with one replica) could use either, the database costs a round trip.
        self.shared_db = db if db is not None and db.postgres else None
        self.metrics = metrics
        self.timeout_s = settings.fault_timeout_s
        self.retry_after_ms = settings.fault_retry_after_ms
        self._run_dir = run_dir
        self._table: SharedTable | None = None
        self.limiter: RateLimiter | None = None
        if settings.rate_limit_rpm or settings.rate_limit_tpm or settings.quota_tokens:
            self.limiter = RateLimiter(None if self.shared_db else self.table, rpm=settings.rate_limit_rpm,
                                       tpm=settings.rate_limit_tpm, quota=settings.quota_tokens)
        self.policy: FaultPolicy | None = None
        if settings.fault_rate:
            self.policy = FaultPolicy(settings.fault_rate, settings.fault_weights(),
                                      settings.fault_seed, settings.fault_endpoints)
        self.active = self.limiter is not None or self.policy is not None

    @property
    def table(self) -> SharedTable:
        if self._table is None:  # opened on first use: a server with only forced faults never maps it
            self._table = SharedTable(self._run_dir.sub("edge") / "table")
        return self._table

    def close(self) -> None:
        if self._table is not None:
            self._table.close()
            self._table = None

    async def handle(self, exchange: Exchange, synthetic: SyntheticThunk | None) -> Reply:
        headers = exchange.headers
        forced_name = headers.pop(FAULT_HEADER, None)  # never forwarded, stored or part of a key
        after = headers.pop(AFTER_HEADER, None)
        attempts = headers.pop(ATTEMPTS_HEADER, None)
        anthropic = is_anthropic(exchange.path, headers)  # answers in Anthropic's shape and headers
        limit_headers = await self._admit(exchange, anthropic) if self.limiter is not None else None
        try:
            fault = await self._fault(exchange, forced_name, after, attempts)
            if fault is None:
                reply = await self.dispatcher.handle(exchange, synthetic)
            else:
                reply = await self._inject(fault, exchange, synthetic, anthropic)
        except FakeAIError as exc:
            if limit_headers:
                exc.headers.update(limit_headers)
            raise
        if limit_headers:
            reply.headers.update(limit_headers)
        return reply

    # -- rate limits ---------------------------------------------------------------------------------

    async def _admit(self, exchange: Exchange, anthropic: bool) -> dict[str, str]:
        limiter = self.limiter
        assert limiter is not None
        tokens, model = request_cost(exchange.path, exchange.body) if limiter.counts_tokens else (0, None)
        key = api_key(exchange.headers)
        try:
            if self.shared_db is not None:
                return (await limiter.admit_shared(self.shared_db, key, tokens, model, anthropic)).headers
            return limiter.admit(key, tokens, model, anthropic).headers
        except (RateLimitError, InsufficientQuotaError) as exc:
            self.metrics.count_rate_limited(exchange.endpoint or exchange.path, exc.limit)
            if model is None and "this model" in exc.message:  # name the model, as OpenAI does (rare path)
                model = request_cost(exchange.path, exchange.body)[1]
                if model:
                    exc.message = exc.message.replace("this model", model, 1)
            raise

    # -- faults --------------------------------------------------------------------------------------

    async def _fault(self, exchange: Exchange, name: str | None, after: str | None, attempts: str | None) -> Fault | None:
        if name is not None:
            fault = forced(name, after)
            if fault is not None and attempts is not None:
                if not attempts.isdigit():
                    raise InvalidRequestError("x-fakeai-fault-attempts must be a whole number.", param=ATTEMPTS_HEADER)
                retry = exchange.headers.get(RETRY_COUNT_HEADER, "0")
                if retry.isdigit() and int(retry) >= int(attempts):
                    return None  # the SDK's retry number N >= attempts: this attempt goes through
            return fault
        policy = self.policy
        if policy is None or not policy.covers(exchange.path):
            return None
        if policy.seed is None:
            fault = policy.draw(None)
        elif self.shared_db is not None:  # the n-th request of the deployment, whichever replica takes it
            from fakeai.store import budgets

            fault = policy.draw(await budgets.next_sequence(self.shared_db))
        else:
            with self.table as table:  # the n-th request of the server, whichever worker takes it
                sequence = table.next_sequence()
            fault = policy.draw(sequence)
        if fault is not None and after is not None:
            fault.after = forced(fault.type, after).after  # type: ignore[union-attr]
        return fault

    async def _inject(self, fault: Fault, exchange: Exchange, synthetic: SyntheticThunk | None, anthropic: bool) -> Reply:
        if fault.type in DAMAGING:
            reply = await self.dispatcher.preview(exchange, synthetic)
            self._count(exchange, fault)
            if reply is None:  # a route FakeAI cannot answer itself and no cassette: damage an empty answer
                reply = Body(content=b'{"object": "fakeai.fault"}', headers={})
            wire = ANTHROPIC if anthropic else RESPONSES if exchange.path.startswith("/v1/responses") else CHAT
            return damage(reply, fault, wire)
        self._count(exchange, fault)
        if fault.type == "disconnect":
            raise ConnectionDropped()
        if fault.type == "timeout":
            await drop_after(self.timeout_s)
        raise fault_error(fault, self.retry_after_ms, anthropic)

    def _count(self, exchange: Exchange, fault: Fault) -> None:
        self.metrics.count_fault(exchange.endpoint or exchange.path, fault.type)


def api_key(headers: dict[str, str]) -> str:
    """The key a request's limits are charged to (``Bearer``, Anthropic's ``x-api-key`` or Azure's ``api-key``)."""
    value = headers.get("authorization")
    if value is not None:
        scheme, _, key = value.partition(" ")
        return key.strip() or ANONYMOUS
    return headers.get("x-api-key") or headers.get("api-key") or ANONYMOUS
