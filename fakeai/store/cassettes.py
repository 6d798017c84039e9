"""The cassette repository: every read and write of the ``cassettes`` table goes through here.

A cassette is one recorded exchange: the canonical request (and its sha256 ``key``), the response
status, its kept headers, and either the whole decoded body or a stream's events with their time
offsets. Identical requests recorded again become further *episodes* (0, 1, 2, ...) of the same key.

Writes are short: ``insert`` is ONE statement (``INSERT ... SELECT max(episode)+1``) in its own
transaction, so concurrent writers (tasks or worker processes on one SQLite file) never read then
upgrade to a write lock — the pattern that gives "database is locked" under WAL. A lookup is one
query on the ``(key, episode)`` unique index however many cassettes there are.

Stream events are stored as ONE msgpack blob ``[[offset_ms, event_bytes], ...]`` (``offset_ms`` a
float: milliseconds from the arrival of the request); ``pack_events``/``unpack_events`` convert.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import sqlite3
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from sqlalchemy import Connection, Engine, bindparam, create_engine, delete, event, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy import insert as sql_insert
from sqlalchemy.exc import IntegrityError, OperationalError

from fakeai.store.cassettes_table import cassettes, episode_cursors
from fakeai.store.engine import RECORD_LOCKS, _sqlite_pragmas, key_lock, upsert
from fakeai.store.faults import is_unavailable
from fakeai.store.group_commit import GroupCommit
from fakeai.store.sqlite_writer import LoopWriter

if TYPE_CHECKING:
    from fakeai.store.database import Database

__all__ = [
    "Cassette",
    "CassetteInfo",
    "advance_cursor",
    "bulk_insert",
    "close",
    "count",
    "cursor_position",
    "delete_cassettes",
    "find_keys",
    "insert",
    "list_cassettes",
    "lookup",
    "lookup_episodes",
    "lookup_versioned",
    "pack_events",
    "recent_requests",
    "reset_cursors",
    "touch",
    "unpack_events",
    "versions",
]

T = TypeVar("T")
Event = tuple[float, bytes]  # (offset_ms from the request's arrival, one whole SSE event)

_pack = msgspec.msgpack.Encoder().encode
_unpack_events = msgspec.msgpack.Decoder(list[tuple[float, bytes]]).decode
_json = msgspec.json.Encoder(order="sorted").encode
_headers = msgspec.json.Decoder(dict[str, str]).decode


def pack_events(events: Sequence[Event]) -> bytes:
    return _pack([(round(offset, 3), data) for offset, data in events])


def unpack_events(blob: bytes) -> list[Event]:
    return _unpack_events(blob)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Cassette(msgspec.Struct, kw_only=True):
    """One recorded exchange, decoded. ``body`` for a whole answer, ``events`` for a stream."""

    key: str
    method: str
    path: str
    request: bytes  # canonical request JSON (see fakeai.modes.keys)
    status: int
    headers: dict[str, str] = {}  # kept response headers, lower-case names
    stream: bool = False
    body: bytes | None = None
    events: list[Event] | None = None
    model: str | None = None
    upstream: str | None = None
    episode: int = 0  # assigned by ``insert``
    duration_ms: float | None = None  # request arrival to the upstream's last byte
    recorded_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    hits: int = 0

    @property
    def size(self) -> int:
        if self.events is not None:
            return sum(len(data) for _, data in self.events)
        return len(self.body or b"")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "text/event-stream" if self.stream else "application/json")


class CassetteInfo(msgspec.Struct, kw_only=True):
    """A cassette's metadata without body or events (for listings)."""

    key: str
    episode: int
    method: str
    path: str
    model: str | None
    upstream: str | None
    status: int
    stream: bool
    size: int
    recorded_at: dt.datetime
    last_used_at: dt.datetime | None
    hits: int


def _row_values(cassette: Cassette, recorded_at: dt.datetime) -> dict[str, Any]:
    return {
        "key": cassette.key,
        "method": cassette.method,
        "path": cassette.path,
        "request": cassette.request,
        "model": cassette.model,
        "upstream": cassette.upstream,
        "status": cassette.status,
        "headers": _json(cassette.headers),
        "stream": cassette.stream,
        "body": None if cassette.events is not None else (cassette.body or b""),
        "events": pack_events(cassette.events) if cassette.events is not None else None,
        "size": cassette.size,
        "duration_ms": None if cassette.duration_ms is None else round(cassette.duration_ms, 3),
        "recorded_at": cassette.recorded_at or recorded_at,
        "last_used_at": cassette.last_used_at,
        "hits": cassette.hits,
    }


def _from_row(row: Any) -> Cassette:
    m = row._mapping
    return Cassette(
        key=m["key"],
        episode=m["episode"],
        method=m["method"],
        path=m["path"],
        request=m["request"],
        model=m["model"],
        upstream=m["upstream"],
        status=m["status"],
        headers=_headers(m["headers"]),
        stream=bool(m["stream"]),
        body=m["body"],
        events=unpack_events(m["events"]) if m["events"] is not None else None,
        recorded_at=m["recorded_at"],
        last_used_at=m["last_used_at"],
        hits=m["hits"],
        duration_ms=m["duration_ms"],
    )


# INSERT ... SELECT <values>, coalesce(max(episode) + 1, 0) FROM cassettes WHERE key = :key,
# built once so every insert reuses the compiled statement.
_VALUE_COLUMNS = (
    "key", "method", "path", "request", "model", "upstream", "status", "headers", "stream", "body", "events",
    "size", "duration_ms", "recorded_at", "last_used_at", "hits",
)  # fmt: skip
_NEXT_EPISODE = select(
    *[bindparam(name, type_=cassettes.c[name].type).label(name) for name in _VALUE_COLUMNS],
    func.coalesce(func.max(cassettes.c.episode) + 1, 0).label("episode"),
).where(cassettes.c.key == bindparam("key"))
_INSERT_NEXT_EPISODE = sql_insert(cassettes).from_select([*_VALUE_COLUMNS, "episode"], _NEXT_EPISODE).returning(
    cassettes.c.episode
)
# The same without RETURNING, for many cassettes in one executemany (``_insert_many``).
_INSERT_NEXT_EPISODES = sql_insert(cassettes).from_select([*_VALUE_COLUMNS, "episode"], _NEXT_EPISODE)


async def insert(db: Database, cassette: Cassette, *, attempts: int = 5) -> int:
    """Store a whole cassette as the next episode of its key; returns the episode number.

    One statement per cassette: the episode is computed inside the INSERT. Writers of one key are
    serialised (SQLite: one writer per file; PostgreSQL: an advisory lock on the key taken first in
    the transaction, so the INSERT's snapshot sees the previous writer's committed row), so racing
    recordings — in tasks, workers or replicas — become consecutive episodes in the order they reach
    the database, never a unique-key error. Cassettes submitted while a write is in flight share the
    next transaction (``group_commit``); each is still whole or absent. The retry is a last resort."""
    writes = _WRITES.get(db.url)
    if writes is None:
        # Items carry the Database they were submitted with (the newest, should one URL get several).
        writes = _WRITES[db.url] = GroupCommit(
            lambda items: _insert_many(items[-1][0], [cassette for _, cassette in items]),
            lambda item: _insert_one(item[0], item[1], attempts),
            lambda exc: isinstance(exc, (IntegrityError, OperationalError)) and not is_unavailable(exc),
        )
    cassette.episode = await writes.submit((db, cassette))
    return cassette.episode


# database URL -> its cassette writes in this worker
_WRITES: dict[str, GroupCommit[tuple[Database, Cassette], int]] = {}


async def _insert_one(db: Database, cassette: Cassette, attempts: int) -> int:
    on_loop = _on_loop(db, [cassette])
    if on_loop is not None:
        return on_loop[0]
    values = _row_values(cassette, _now())

    def write(conn: Connection) -> int:
        key_lock(conn, RECORD_LOCKS, cassette.key)
        return conn.execute(_INSERT_NEXT_EPISODE, values).scalar_one()

    for attempt in range(attempts):
        try:
            return await _in_transaction(db, write)
        except (IntegrityError, OperationalError) as exc:
            if attempt == attempts - 1 or is_unavailable(exc):
                raise
    raise AssertionError("unreachable")


async def _insert_many(db: Database, batch: list[Cassette]) -> list[int]:
    on_loop = _on_loop(db, batch)
    if on_loop is not None:
        return on_loop
    rows, order = _rows_in_lock_order(batch)

    def write(conn: Connection) -> list[int]:
        for i in order:
            key_lock(conn, RECORD_LOCKS, batch[i].key)
        # One executemany (per-row statements cost ~100 us each in SQLAlchemy), then each key's
        # highest episode, read in the same transaction while its writes hold the keys' locks.
        conn.execute(_INSERT_NEXT_EPISODES, [rows[i] for i in order])
        keys = {cassette.key for cassette in batch}
        highest = dict(conn.execute(select(cassettes.c.key, func.max(cassettes.c.episode))
                                    .where(cassettes.c.key.in_(keys)).group_by(cassettes.c.key)).all())
        return _episodes(batch, order, highest)

    return await _in_transaction(db, write)


def _rows_in_lock_order(batch: list[Cassette]) -> tuple[list[dict[str, Any]], list[int]]:
    now = _now()
    # Keys locked in one order by every writer (PostgreSQL's advisory locks), so two batches sharing
    # keys wait for each other instead of deadlocking. Stable: one key's cassettes keep their order.
    order = sorted(range(len(batch)), key=lambda i: zlib.crc32(batch[i].key.encode()))  # key_lock's slot
    return [_row_values(cassette, now) for cassette in batch], order


def _episodes(batch: list[Cassette], order: list[int], highest: dict[str, int]) -> list[int]:
    """Each cassette's episode, from its key's highest after the batch: the n-th of a key's m cassettes
    (in order of insertion) got highest - (m - 1 - n)."""
    total, numbered = Counter(cassette.key for cassette in batch), Counter()
    episodes = [0] * len(batch)
    for i in order:
        key = batch[i].key
        episodes[i] = highest[key] - (total[key] - 1 - numbered[key])
        numbered[key] += 1
    return episodes


def _on_loop(db: Database, batch: list[Cassette]) -> list[int] | None:
    """SQLite: the batch written on the loop's thread (``sqlite_writer``), or None to use the thread."""
    engine = _sync_engine(db)
    if engine is None:
        return None
    writer = _LOOP_WRITERS.get(db.url)
    if writer is None:
        writer = _LOOP_WRITERS[db.url] = LoopWriter(engine.url.database)
    sql, names, processors, constants = _sqlite_insert(engine.dialect)
    rows, order = _rows_in_lock_order(batch)
    values = [{**constants, **rows[i]} for i in order]
    params = [tuple(process(row[name]) if process else row[name] for name, process in zip(names, processors))
              for row in values]
    keys = list({cassette.key for cassette in batch})
    highest_sql = f"SELECT key, max(episode) FROM cassettes WHERE key IN ({','.join('?' * len(keys))}) GROUP BY key"

    def write(conn: sqlite3.Connection) -> list[int]:
        conn.executemany(sql, params)
        return _episodes(batch, order, dict(conn.execute(highest_sql, keys).fetchall()))

    return writer.run(write)


_LOOP_WRITERS: dict[str, LoopWriter] = {}  # database URL -> this worker's writer on its loop


@functools.cache
def _sqlite_insert(dialect: Any) -> tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None], dict[str, Any]]:
    """``_INSERT_NEXT_EPISODES`` compiled once for SQLite, with its parameters' names in order, their
    types' own bind processors (dates as SQLAlchemy stores them) and the statement's constants (the
    ``+ 1`` and ``0`` of the next episode): plain tuples for ``sqlite3``'s executemany."""
    compiled = _INSERT_NEXT_EPISODES.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    processors = [compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    constants = {name: value for name, value in compiled.params.items() if name not in _VALUE_COLUMNS}
    return str(compiled), names, processors, constants


async def bulk_insert(db: Database, items: Iterable[Cassette], *, batch: int = 5000) -> int:
    """Insert many cassettes fast (benchmarks, imports): one transaction, one executemany per
    batch, each cassette keeping the ``episode`` it carries. Returns how many rows were written."""
    now = _now()

    def write(conn: Connection) -> int:
        written = 0
        rows: list[dict[str, Any]] = []
        for cassette in items:
            row = _row_values(cassette, now)
            row["episode"] = cassette.episode
            rows.append(row)
            if len(rows) >= batch:
                conn.execute(sql_insert(cassettes), rows)
                written += len(rows)
                rows = []
        if rows:
            conn.execute(sql_insert(cassettes), rows)
            written += len(rows)
        return written

    return await _in_transaction(db, write)


async def lookup_episodes(db: Database, key: str) -> list[Cassette]:
    """Every episode of ``key`` in order (usually one), in one indexed query."""
    return (await lookup_versioned(db, key))[0]


Version = tuple[int, int]  # (episodes, highest row id) of a key: changes with any insert or delete


async def lookup_versioned(db: Database, key: str) -> tuple[list[Cassette], Version]:
    """``lookup_episodes`` and the key's ``Version`` as read in the same query."""

    def read(conn: Connection) -> list[Any]:
        return conn.execute(_BY_KEY, {"key": key}).all()

    rows = await _in_transaction(db, read)
    return [_from_row(r) for r in rows], (len(rows), max((r._mapping["id"] for r in rows), default=0))


async def versions(db: Database, keys: Sequence[str], *, chunk: int = 500) -> dict[str, Version]:
    """The current ``Version`` of each of ``keys`` that has any episode (an index scan per chunk;
    a replay cache checks what it holds with this instead of re-reading bodies)."""

    def read(conn: Connection) -> dict[str, Version]:
        found: dict[str, Version] = {}
        for start in range(0, len(keys), chunk):
            part = list(keys[start:start + chunk])
            for key, n, top in conn.execute(_VERSIONS, {"keys": part}):
                found[key] = (int(n), int(top))
        return found

    return await _in_transaction(db, read) if keys else {}


_BY_KEY = select(cassettes).where(cassettes.c.key == bindparam("key")).order_by(cassettes.c.episode)
_VERSIONS = (
    select(cassettes.c.key, func.count(), func.max(cassettes.c.id))
    .where(cassettes.c.key.in_(bindparam("keys", expanding=True)))
    .group_by(cassettes.c.key)
)


async def lookup(db: Database, key: str, episode: int = 0) -> Cassette | None:
    """One episode of ``key``, or None."""
    statement = select(cassettes).where(cassettes.c.key == key, cassettes.c.episode == episode)
    async with db.engine.connect() as conn:
        row = (await conn.execute(statement)).first()
    return _from_row(row) if row is not None else None


async def find_keys(db: Database, prefix: str) -> list[str]:
    """Distinct keys starting with ``prefix`` (a short hash typed by a person)."""
    prefix = prefix.lower()
    statement = (
        select(cassettes.c.key)
        .where(cassettes.c.key >= prefix, cassettes.c.key < prefix + "g")
        .group_by(cassettes.c.key)
        .order_by(cassettes.c.key)
    )
    async with db.engine.connect() as conn:
        return list((await conn.execute(statement)).scalars())


async def recent_requests(db: Database, method: str, path: str, limit: int = 200) -> list[tuple[str, bytes]]:
    """``(key, canonical request)`` of the newest cassettes on one endpoint (for a miss's nearest)."""
    statement = (
        select(cassettes.c.key, cassettes.c.request)
        .where(cassettes.c.path == path, cassettes.c.method == method, cassettes.c.episode == 0)
        .order_by(cassettes.c.recorded_at.desc())
        .limit(limit)
    )
    async with db.engine.connect() as conn:
        return [(k, r) for k, r in (await conn.execute(statement)).all()]


async def list_cassettes(
    db: Database,
    *,
    path: str | None = None,
    model: str | None = None,
    status: int | None = None,
    since: dt.datetime | None = None,
    keys: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[CassetteInfo]:
    """Metadata of cassettes (no bodies), oldest first, filtered as asked."""
    columns = [cassettes.c[name] for name in CassetteInfo.__struct_fields__]
    statement = select(*columns).order_by(cassettes.c.recorded_at, cassettes.c.key, cassettes.c.episode)
    if path is not None:
        statement = statement.where(cassettes.c.path == path)
    if model is not None:
        statement = statement.where(cassettes.c.model == model)
    if status is not None:
        statement = statement.where(cassettes.c.status == status)
    if since is not None:
        statement = statement.where(cassettes.c.recorded_at >= since)
    if keys is not None:
        statement = statement.where(cassettes.c.key.in_(list(keys)))
    if limit is not None:
        statement = statement.limit(limit)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    return [CassetteInfo(**{**r._mapping, "stream": bool(r._mapping["stream"])}) for r in rows]


async def delete_cassettes(
    db: Database,
    *,
    keys: Sequence[str] | None = None,
    older_than: dt.datetime | None = None,
    unused_since: dt.datetime | None = None,
) -> int:
    """Delete every episode of ``keys`` and/or cassettes recorded before ``older_than`` and/or not
    used since ``unused_since`` (never-used ones count by their recording time). Returns rows deleted.
    With no criterion at all nothing is deleted."""
    conditions = []
    if keys is not None:
        conditions.append(cassettes.c.key.in_(list(keys)))
    if older_than is not None:
        conditions.append(cassettes.c.recorded_at < older_than)
    if unused_since is not None:
        conditions.append(func.coalesce(cassettes.c.last_used_at, cassettes.c.recorded_at) < unused_since)
    if not conditions:
        return 0
    async with db.engine.begin() as conn:
        result = await conn.execute(delete(cassettes).where(*conditions))
    return result.rowcount or 0


async def advance_cursor(db: Database, key: str) -> int:
    """How many times ``key`` was replayed before this call (0 the first time), counting this one:
    one atomic upsert, so every worker and replica sharing the database agrees on the order."""

    def advance(conn: Connection) -> int:
        insert = upsert(conn)
        statement = (
            insert(episode_cursors)
            .values(key=key, position=1)
            .on_conflict_do_update(
                index_elements=[episode_cursors.c.key], set_={"position": episode_cursors.c.position + 1}
            )
            .returning(episode_cursors.c.position)
        )
        return conn.execute(statement).scalar_one() - 1

    return await _in_transaction(db, advance)


async def cursor_position(db: Database, key: str) -> int:
    """How many times ``key`` was replayed so far (the episode ``advance_cursor`` would serve next)."""
    statement = select(episode_cursors.c.position).where(episode_cursors.c.key == key)

    def read(conn: Connection) -> int:
        return conn.execute(statement).scalar_one_or_none() or 0

    return await _in_transaction(db, read)


async def reset_cursors(db: Database) -> None:
    """Rewind every key to its first episode (a replay server starting)."""
    await _in_transaction(db, lambda conn: conn.execute(delete(episode_cursors)))


async def touch(db: Database, uses: dict[tuple[str, int], tuple[int, dt.datetime]]) -> None:
    """Add replay hits and set last_used_at for many ``(key, episode)`` at once (one transaction);
    replay batches these so answering never waits for a write."""
    if not uses:
        return
    statement = (
        update(cassettes)
        .where(cassettes.c.key == bindparam("k"), cassettes.c.episode == bindparam("e"))
        .values(hits=cassettes.c.hits + bindparam("n"), last_used_at=bindparam("t"))
    )
    rows = [{"k": k, "e": e, "n": n, "t": t} for (k, e), (n, t) in uses.items()]
    await _in_transaction(db, lambda conn: conn.execute(statement, rows))


# -- the hot path's one thread hop ------------------------------------------------------------------
# Through aiosqlite every DB-API call (begin, execute, fetch, commit) is its own hop to the driver's
# thread, a millisecond or more on a busy machine. For SQLite the hot-path operations (record's
# insert, replay's lookup, hit counts) instead run whole in one worker-thread call on a plain
# synchronous engine over the same file (same WAL and busy_timeout pragmas). Other backends use
# the async engine as it is.

_SYNC_ENGINES: dict[str, Engine] = {}


def _sync_engine(db: Database) -> Engine | None:
    engine = _SYNC_ENGINES.get(db.url)
    if engine is None:
        url = make_url(db.url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        engine = create_engine(url.set(drivername="sqlite"), pool_size=8, max_overflow=24)
        event.listen(engine, "connect", _sqlite_pragmas)
        _SYNC_ENGINES[db.url] = engine
    return engine


async def _in_transaction(db: Database, work: Callable[[Connection], T]) -> T:
    """Run ``work(connection)`` in one short transaction: one thread hop for SQLite."""
    engine = _sync_engine(db)
    if engine is not None:

        def run() -> T:
            with engine.begin() as conn:
                return work(conn)

        return await asyncio.to_thread(run)
    async with db.engine.begin() as conn:
        return await conn.run_sync(work)


def close(db: Database) -> None:
    """Release the synchronous engine the hot path opened for ``db`` (at shutdown)."""
    _WRITES.pop(db.url, None)
    writer = _LOOP_WRITERS.pop(db.url, None)
    if writer is not None:
        writer.close()
    engine = _SYNC_ENGINES.pop(db.url, None)
    if engine is not None:
        engine.dispose()


async def count(db: Database) -> int:
    async with db.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(cassettes))).scalar_one()
