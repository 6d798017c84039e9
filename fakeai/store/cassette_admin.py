"""The cassette queries a person needs: list, show, delete, prune, stats, scan/export, import.

The serving hot path (``fakeai.store.cassettes``) is async and tuned for one indexed lookup; these
are the occasional, whole-table questions the ``fakeai cassettes`` command asks, so they run on a
plain synchronous engine (no event loop to start for a one-shot command). A cassette is all the
rows (episodes) sharing one key; listing, deleting and pruning work on whole cassettes, because
dropping one episode of a recorded sequence would break its replay.

Timestamps are naive UTC, as the recorder stores them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from fakeai.store.cassettes_table import cassettes
from fakeai.settings import masked_url
from fakeai.store.engine import sync_engine
from fakeai.store.upgrade import upgrade_database

__all__ = [
    "AdminError",
    "CONTENT_COLUMNS",
    "CassetteAdmin",
    "Filters",
    "StatsRow",
    "Summary",
    "UpsertCounts",
]

# What an export carries and an import writes: everything recorded, nothing about later use
# (hits and last_used_at change on every replay and would make every re-export a diff).
CONTENT_COLUMNS = (
    "key",
    "episode",
    "method",
    "path",
    "request",
    "model",
    "upstream",
    "status",
    "headers",
    "stream",
    "body",
    "events",
    "size",
    "recorded_at",
    "duration_ms",
)
_ALL_COLUMNS = (*CONTENT_COLUMNS, "last_used_at", "hits")
_MIN_PREFIX = 4  # shorter prefixes are almost always ambiguous and usually a typo
_HEX = frozenset("0123456789abcdef")


class AdminError(ValueError):
    """A request the store cannot satisfy (unknown or ambiguous hash, missing database); one line."""


@dataclass(frozen=True, slots=True)
class Filters:
    """``list``/``export`` filters; ``endpoint`` is a path, matched exactly or as a prefix folder."""

    endpoint: str | None = None
    model: str | None = None
    since: datetime | None = None
    status: int | None = None


@dataclass(slots=True)
class Summary:
    """One cassette (a key) as ``list`` shows it: its episodes folded into one line."""

    key: str
    method: str
    path: str
    model: str | None
    statuses: list[int]
    stream: bool
    episodes: int
    size: int
    hits: int
    recorded_at: datetime
    last_used_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "method": self.method,
            "path": self.path,
            "model": self.model,
            "status": self.statuses[-1] if self.statuses else None,
            "statuses": self.statuses,
            "stream": self.stream,
            "episodes": self.episodes,
            "size": self.size,
            "hits": self.hits,
            "recorded_at": _iso(self.recorded_at),
            "last_used_at": _iso(self.last_used_at),
        }


@dataclass(slots=True)
class StatsRow:
    path: str
    model: str | None
    cassettes: int = 0
    episodes: int = 0
    bytes: int = 0
    hits: int = 0
    oldest: datetime | None = None
    newest: datetime | None = None
    _keys: set[str] = field(default_factory=set, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "model": self.model,
            "cassettes": self.cassettes,
            "episodes": self.episodes,
            "bytes": self.bytes,
            "hits": self.hits,
            "oldest": _iso(self.oldest),
            "newest": _iso(self.newest),
        }


@dataclass(slots=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _sqlite_file(url: str) -> str | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return parsed.database


class CassetteAdmin:
    """Whole-table cassette queries on one database; ``create=False`` refuses a missing SQLite file
    (a typo in ``--db`` must not silently create an empty database and list nothing)."""

    def __init__(self, url: str, *, create: bool = False) -> None:
        path = _sqlite_file(url)
        if path is not None and not create and not os.path.exists(path):
            raise AdminError(f"no database at {path} (record some cassettes or pass --db)")
        try:
            upgrade_database(url)
        except Exception as exc:  # noqa: BLE001 - any reason becomes one line for a person
            parsed = make_url(url)  # never the password, even if the driver echoed it
            shown, reason = path or parsed.render_as_string(hide_password=True), _one_line(exc)
            if parsed.password:
                reason = reason.replace(str(parsed.password), "***")
            raise AdminError(f"cannot open database {shown}: {reason}") from None
        self.engine: Engine = sync_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CassetteAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------------

    def summaries(self, filters: Filters = Filters()) -> list[Summary]:
        """Every cassette matching ``filters`` (an episode matching is enough), in key order."""
        c = cassettes.c
        light = sa.select(
            c.key, c.method, c.path, c.model, c.status, c.stream, c.size, c.hits, c.recorded_at, c.last_used_at
        )
        keys = sa.select(c.key).where(*_conditions(filters)).distinct()
        query = light.order_by(c.key, c.episode)
        if _conditions(filters):
            query = query.where(c.key.in_(keys))
        out: dict[str, Summary] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                summary = out.get(row.key)
                if summary is None:
                    out[row.key] = Summary(
                        key=row.key,
                        method=row.method,
                        path=row.path,
                        model=row.model,
                        statuses=[row.status],
                        stream=bool(row.stream),
                        episodes=1,
                        size=row.size or 0,
                        hits=row.hits or 0,
                        recorded_at=row.recorded_at,
                        last_used_at=row.last_used_at,
                    )
                    continue
                summary.episodes += 1
                summary.size += row.size or 0
                summary.hits += row.hits or 0
                summary.stream = summary.stream or bool(row.stream)
                summary.model = summary.model or row.model
                if row.status not in summary.statuses:
                    summary.statuses.append(row.status)
                summary.recorded_at = min(summary.recorded_at, row.recorded_at)
                if row.last_used_at is not None:
                    last = summary.last_used_at
                    summary.last_used_at = row.last_used_at if last is None else max(last, row.last_used_at)
        return list(out.values())

    def resolve(self, prefix: str) -> str:
        """The one full key starting with ``prefix``; unknown or ambiguous prefixes are errors."""
        wanted = prefix.strip().lower()
        if len(wanted) < _MIN_PREFIX or not set(wanted) <= _HEX:
            raise AdminError(f"{prefix!r} is not a cassette hash (at least {_MIN_PREFIX} hex digits)")
        c = cassettes.c
        # A range instead of LIKE so the (key, episode) index answers it.
        query = (
            sa.select(c.key)
            .where(c.key >= wanted, c.key < wanted + "g")
            .distinct()
            .order_by(c.key)
            .limit(6)
        )
        with self.engine.connect() as conn:
            found = [row.key for row in conn.execute(query)]
        if not found:
            raise AdminError(f"no cassette with hash {prefix}")
        if len(found) > 1:
            shown = ", ".join(k[:16] for k in found[:5]) + (", ..." if len(found) > 5 else "")
            raise AdminError(f"hash prefix {prefix} is ambiguous: {shown}")
        return found[0]

    def episodes(self, key: str) -> list[dict[str, Any]]:
        """Every column of every episode of ``key``, in episode order."""
        c = cassettes.c
        query = sa.select(*(c[name] for name in _ALL_COLUMNS)).where(c.key == key).order_by(c.episode)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def iter_rows(self, filters: Filters = Filters(), batch: int = 500) -> Iterator[dict[str, Any]]:
        """Every episode (all columns), ordered by key then episode, fetched ``batch`` rows at a
        time from one streaming cursor, so a scan or an export of a large database runs in
        bounded memory and one pass."""
        c = cassettes.c
        query = sa.select(*(c[name] for name in _ALL_COLUMNS)).order_by(c.key, c.episode)
        conditions = _conditions(filters)
        if conditions:
            query = query.where(c.key.in_(sa.select(c.key).where(*conditions)))
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=batch).execute(query)
            for row in result:
                yield dict(row._mapping)

    def stats(self) -> list[StatsRow]:
        """Counts per endpoint and model, sorted by path then model."""
        c = cassettes.c
        query = sa.select(c.key, c.path, c.model, c.size, c.hits, c.recorded_at)
        groups: dict[tuple[str, str | None], StatsRow] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                group = groups.get((row.path, row.model))
                if group is None:
                    group = groups[(row.path, row.model)] = StatsRow(path=row.path, model=row.model)
                group._keys.add(row.key)
                group.episodes += 1
                group.bytes += row.size or 0
                group.hits += row.hits or 0
                group.oldest = row.recorded_at if group.oldest is None else min(group.oldest, row.recorded_at)
                group.newest = row.recorded_at if group.newest is None else max(group.newest, row.recorded_at)
        for group in groups.values():
            group.cassettes = len(group._keys)
        return sorted(groups.values(), key=lambda g: (g.path, g.model or ""))

    # -- writing ----------------------------------------------------------------------------------

    def delete(self, keys: Iterable[str]) -> int:
        """Delete every episode of ``keys``; returns how many rows went."""
        keys = list(dict.fromkeys(keys))
        deleted = 0
        with self.engine.begin() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                deleted += conn.execute(sa.delete(cassettes).where(cassettes.c.key.in_(chunk))).rowcount or 0
        return deleted

    def prune_candidates(
        self, *, older_than: datetime | None = None, unused_since: datetime | None = None
    ) -> list[Summary]:
        """Cassettes whose every episode was recorded before ``older_than`` and/or none of whose
        episodes was used since ``unused_since`` (never used counts from when it was recorded)."""
        c = cassettes.c
        having = []
        if older_than is not None:
            having.append(sa.func.max(c.recorded_at) < older_than)
        if unused_since is not None:
            having.append(sa.func.max(sa.func.coalesce(c.last_used_at, c.recorded_at)) < unused_since)
        if not having:
            return []
        keys = {row.key for row in self._execute(sa.select(c.key).group_by(c.key).having(*having))}
        return [s for s in self.summaries() if s.key in keys]

    def upsert(self, rows: Sequence[dict[str, Any]]) -> UpsertCounts:
        """Write imported episodes in one transaction: new (key, episode) pairs are inserted,
        changed ones get the file's content (their hits and last_used_at are kept), identical
        ones are left alone — so importing the same files twice changes nothing."""
        counts = UpsertCounts()
        c = cassettes.c
        content = [c[name] for name in CONTENT_COLUMNS]
        with self.engine.begin() as conn:
            by_key: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                by_key.setdefault(row["key"], []).append(row)
            keys = list(by_key)
            existing: dict[tuple[str, int], dict[str, Any]] = {}
            for start in range(0, len(keys), 500):
                query = sa.select(*content).where(c.key.in_(keys[start : start + 500]))
                for found in conn.execute(query):
                    existing[(found.key, found.episode)] = dict(found._mapping)
            inserts: list[dict[str, Any]] = []
            for row in rows:
                values = {name: row[name] for name in CONTENT_COLUMNS if name != "duration_ms"}
                values["duration_ms"] = row.get("duration_ms")  # files exported before it existed lack it
                old = existing.get((row["key"], row["episode"]))
                if old is None:
                    inserts.append({**values, "last_used_at": None, "hits": 0})
                    counts.inserted += 1
                elif _same(old, values):
                    counts.unchanged += 1
                else:
                    conn.execute(
                        sa.update(cassettes)
                        .where(c.key == row["key"], c.episode == row["episode"])
                        .values(**{k: v for k, v in values.items() if k not in ("key", "episode")})
                    )
                    counts.updated += 1
            if inserts:
                conn.execute(sa.insert(cassettes), inserts)
        return counts

    def _execute(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return conn.execute(query).all()


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    for name in CONTENT_COLUMNS:
        a, b = old[name], new[name]
        if name == "stream":
            a, b = bool(a), bool(b)
        elif isinstance(a, memoryview):
            a = bytes(a)
        if a != b:
            return False
    return True


def _conditions(filters: Filters) -> list[Any]:
    c = cassettes.c
    out: list[Any] = []
    if filters.endpoint:
        endpoint = filters.endpoint.rstrip("/")
        out.append(sa.or_(c.path == endpoint, c.path.startswith(endpoint + "/", autoescape=True)))
    if filters.model:
        out.append(c.model == filters.model)
    if filters.since is not None:
        out.append(c.recorded_at >= filters.since)
    if filters.status is not None:
        out.append(c.status == filters.status)
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
