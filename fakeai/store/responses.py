"""Stored Responses API objects (``store: true`` and background responses).

A row keeps the response exactly as served (``body``, JSON), its input items (``input_items``, a JSON
array, listed by ``GET /v1/responses/{id}/input_items``) and what a later ``previous_response_id`` needs
to continue the conversation without reloading every earlier turn: the tail of the conversation text
(``history_text``, for the topic of the next answer) and its size in tokens (``history_tokens``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Integer, LargeBinary, String, Table, Text, delete, insert, select, update

from fakeai.store.database import Database
from fakeai.store.tables import metadata

__all__ = [
    "ResponseRow",
    "delete_response",
    "get_history",
    "get_input_items",
    "get_response_body",
    "get_status",
    "insert_response",
    "responses",
    "update_response",
]

responses = Table(
    "responses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("model", Text, nullable=False),
    Column("previous_response_id", String(64), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("input_items", LargeBinary, nullable=False),
    Column("history_text", Text, nullable=False),
    Column("history_tokens", Integer, nullable=False),
)


@dataclass(slots=True, frozen=True)
class ResponseRow:
    id: str
    created_at: int
    status: str
    model: str
    previous_response_id: str | None
    body: bytes
    input_items: bytes
    history_text: str
    history_tokens: int


async def insert_response(db: Database, row: ResponseRow) -> None:
    async with db.sessions.begin() as session:
        await session.execute(insert(responses).values(**{name: getattr(row, name) for name in ResponseRow.__slots__}))


async def update_response(
    db: Database, response_id: str, *, status: str, body: bytes, only_from: tuple[str, ...] = (), **extra: object
) -> bool:
    """Replace a stored response's body (a background response moving on); False when it was deleted or,
    with ``only_from``, when its status had already moved elsewhere (cancelled meanwhile)."""
    query = update(responses).where(responses.c.id == response_id)
    if only_from:
        query = query.where(responses.c.status.in_(only_from))
    async with db.sessions.begin() as session:
        result = await session.execute(query.values(status=status, body=body, **extra))
    return bool(result.rowcount)


async def get_response_body(db: Database, response_id: str) -> bytes | None:
    async with db.sessions() as session:
        return (await session.execute(select(responses.c.body).where(responses.c.id == response_id))).scalar()


async def get_status(db: Database, response_id: str) -> str | None:
    async with db.sessions() as session:
        return (await session.execute(select(responses.c.status).where(responses.c.id == response_id))).scalar()


async def get_history(db: Database, response_id: str) -> tuple[str, int] | None:
    """(conversation tail text, conversation tokens) of a stored response, for ``previous_response_id``."""
    async with db.sessions() as session:
        found = (
            await session.execute(
                select(responses.c.history_text, responses.c.history_tokens).where(responses.c.id == response_id)
            )
        ).first()
    return (found[0], found[1]) if found else None


async def get_input_items(db: Database, response_id: str) -> bytes | None:
    async with db.sessions() as session:
        return (await session.execute(select(responses.c.input_items).where(responses.c.id == response_id))).scalar()


async def delete_response(db: Database, response_id: str) -> bool:
    async with db.sessions.begin() as session:
        result = await session.execute(delete(responses).where(responses.c.id == response_id))
    return bool(result.rowcount)
