"""Rate-limit budgets in the database (fakeai/store/budgets.py, migration 0007), on SQLite and PostgreSQL:
what replicas sharing one PostgreSQL database charge their limits, quota and fault sequence to."""

from __future__ import annotations

import asyncio

import pytest

from fakeai.edge.limits import RateLimiter
from fakeai.errors import InsufficientQuotaError, RateLimitError
from fakeai.store import Database, budgets, upgrade_database
from tests.databases import pg_database


@pytest.fixture
def url(db_url):  # noqa: ANN201
    upgrade_database(db_url)
    return db_url


def test_a_key_is_refused_past_its_limit_and_keys_are_apart(url) -> None:  # noqa: ANN001
    async def run() -> None:
        db = Database(url)
        try:
            limiter = RateLimiter(None, rpm=3, tpm=0, quota=0)
            left = [(await limiter.admit_shared(db, "k", 0, None)).headers["x-ratelimit-remaining-requests"]
                    for _ in range(3)]
            assert left == ["2", "1", "0"]
            with pytest.raises(RateLimitError) as refused:
                await limiter.admit_shared(db, "k", 0, "gpt-4o-mini")
            assert refused.value.headers["retry-after"] and "Limit 3, Used 3, Requested 1" in refused.value.message
            assert (await limiter.admit_shared(db, "other", 0, None)).headers["x-ratelimit-remaining-requests"] == "2"
        finally:
            await db.dispose()

    asyncio.run(run())


def test_the_quota_is_the_deployments_and_the_sequence_counts_up(url) -> None:  # noqa: ANN001
    async def run() -> None:
        db = Database(url)
        try:
            limiter = RateLimiter(None, rpm=0, tpm=0, quota=100)
            await limiter.admit_shared(db, "a", 60, None)
            await limiter.admit_shared(db, "b", 40, None)  # whatever the key
            with pytest.raises(InsufficientQuotaError):
                await limiter.admit_shared(db, "c", 1, None)
            assert [await budgets.next_sequence(db) for _ in range(3)] == [0, 1, 2]
        finally:
            await db.dispose()

    asyncio.run(run())


def test_concurrent_charges_through_separate_pools_admit_exactly_the_limit() -> None:
    """Two connection pools stand for two replicas; 40 requests at once against a limit of 25 (PostgreSQL:
    the deployment these budgets are for; a SQLite server uses its run directory's table)."""

    async def run(url: str) -> tuple[int, int]:
        replicas = [Database(url), Database(url)]
        limiter = RateLimiter(None, rpm=25, tpm=0, quota=0)

        async def one(i: int) -> bool:
            try:
                await limiter.admit_shared(replicas[i % 2], "shared-key", 0, None)
                return True
            except RateLimitError:
                return False

        try:
            results = await asyncio.gather(*(one(i) for i in range(40)))
        finally:
            for db in replicas:
                await db.dispose()
        return sum(results), len(results) - sum(results)

    with pg_database() as url:
        upgrade_database(url)
        assert asyncio.run(run(url)) == (25, 15)
