"""The cassettes table: one row per recorded exchange (episode) of a request key."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from fakeai.store.tables import metadata

__all__ = ["cassettes", "episode_cursors"]

cassettes = Table(
    "cassettes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # sha256 (hex) of the canonical request; identical requests recorded again are further episodes.
    Column("key", String(64), nullable=False),
    Column("episode", Integer, nullable=False, default=0),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    # The canonical request (JSON) the key was computed from, so a person can see what was matched.
    Column("request", LargeBinary, nullable=False),
    Column("model", Text, nullable=True),
    Column("upstream", Text, nullable=True),
    Column("status", Integer, nullable=False),
    # Kept response headers (an allow-list), JSON object.
    Column("headers", LargeBinary, nullable=False),
    Column("stream", Boolean, nullable=False, default=False),
    # A whole answer's decoded body, or NULL for a stream.
    Column("body", LargeBinary, nullable=True),
    # A stream's events as one msgpack blob of [[offset_ms, event_bytes], ...], or NULL.
    Column("events", LargeBinary, nullable=True),
    Column("size", Integer, nullable=False, default=0),
    # Milliseconds from the request's arrival to the upstream's last byte (migration 0005); replay
    # at --replay-speed > 0 waits this long (scaled) before a whole answer. NULL: answer at once.
    Column("duration_ms", Float, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("last_used_at", DateTime, nullable=True),
    Column("hits", Integer, nullable=False, default=0),
    UniqueConstraint("key", "episode"),
    Index("ix_cassettes_path_recorded_at", "path", "recorded_at"),
)

# Replay's position in each key's episodes, shared by every worker and replica (migration 0006): the
# n-th replay of a key anywhere serves episode n. Only keys with several episodes get a row.
episode_cursors = Table(
    "episode_cursors",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
)
