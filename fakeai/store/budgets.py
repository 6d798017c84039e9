"""Rate-limit budgets shared by every replica of a PostgreSQL deployment (migration 0007).

One row per API key (a 64-bit hash of it, never the key): the request and token levels of its
buckets and when each was set, in the database server's clock so that replicas on different hosts
agree. Row ``DEPLOYMENT`` holds what belongs to the whole deployment: quota tokens spent (``tokens``)
and the fault sequence (``requests``). ``charge`` locks the rows it needs (in key order, so two
charges never deadlock), lets the caller decide from what is there, and writes the decision in the
same transaction: exact however many replicas and workers charge at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import BigInteger, Column, Float, Table, literal_column, select, update
from sqlalchemy.engine import Connection

from fakeai.store.database import Database
from fakeai.store.engine import upsert
from fakeai.store.tables import metadata

__all__ = ["DEPLOYMENT", "Levels", "charge", "next_sequence", "rate_budgets"]

DEPLOYMENT = 0
T = TypeVar("T")

rate_budgets = Table(
    "rate_budgets",
    metadata,
    Column("key_hash", BigInteger, primary_key=True, autoincrement=False),
    Column("requests", Float, nullable=False),
    Column("requests_at", Float, nullable=False),
    Column("tokens", Float, nullable=False),
    Column("tokens_at", Float, nullable=False),
)

# (requests level, its time, tokens level, its time)
Levels = tuple[float, float, float, float]
# decide(levels, quota tokens spent, now) -> (new levels, quota tokens to add, the caller's answer); raises to refuse
Decide = Callable[[Levels, float, float], tuple[Levels, float, T]]


def _clock(conn: Connection):  # noqa: ANN202 - a SQL expression: the database server's time in seconds
    if conn.dialect.name == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())")
    return literal_column("(julianday('now') - 2440587.5) * 86400.0")


def _ensure(conn: Connection, keys: list[int]) -> None:
    insert = upsert(conn)
    rows = [{"key_hash": k, "requests": 0.0, "requests_at": 0.0, "tokens": 0.0, "tokens_at": 0.0} for k in keys]
    conn.execute(insert(rate_budgets).values(rows).on_conflict_do_nothing(index_elements=[rate_budgets.c.key_hash]))


async def charge(db: Database, key_hash: int, decide: Decide[T], *, quota: bool) -> T:
    """Lock ``key_hash``'s row (and the deployment's when ``quota``), call ``decide``, store its new levels
    and return its answer."""
    keys = sorted({key_hash, DEPLOYMENT}) if quota else [key_hash]
    t = rate_budgets.c

    def work(conn: Connection) -> T:
        _ensure(conn, keys)
        query = (
            select(t.key_hash, t.requests, t.requests_at, t.tokens, t.tokens_at, _clock(conn))
            .where(t.key_hash.in_(keys))
            .order_by(t.key_hash)
            .with_for_update()
        )
        rows = {row[0]: row for row in conn.execute(query)}
        key_row = rows[key_hash]
        now = float(key_row[5])
        spent = float(rows[DEPLOYMENT][3]) if quota and key_hash != DEPLOYMENT else 0.0
        levels, add, answer = decide((key_row[1], key_row[2], key_row[3], key_row[4]), spent, now)
        requests, requests_at, tokens, tokens_at = levels
        conn.execute(update(rate_budgets).where(t.key_hash == key_hash).values(
            requests=requests, requests_at=requests_at, tokens=tokens, tokens_at=tokens_at))
        if add:
            conn.execute(update(rate_budgets).where(t.key_hash == DEPLOYMENT).values(tokens=t.tokens + add))
        return answer

    async with db.engine.begin() as conn:
        return await conn.run_sync(work)


async def next_sequence(db: Database) -> int:
    """The deployment-wide number of this request (0, 1, 2, ...): the seeded fault sequence."""
    t = rate_budgets.c

    def work(conn: Connection) -> int:
        _ensure(conn, [DEPLOYMENT])
        statement = (update(rate_budgets).where(t.key_hash == DEPLOYMENT).values(requests=t.requests + 1)
                     .returning(t.requests))
        return int(conn.execute(statement).scalar_one()) - 1

    async with db.engine.begin() as conn:
        return await conn.run_sync(work)
