"""Uploaded files: metadata in ``files``, the bytes in ``file_bytes``.

Two tables so that listing and retrieving metadata never read a file's bytes. Ids are time-ordered
(``file-`` + 12 hex digits of milliseconds + 12 random hex digits, see ``fakeai.modes.synthetic.ids``),
so cursor pagination compares ids directly and works even when the cursor's file was deleted meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    insert,
    or_,
    select,
)

from fakeai.store.database import Database
from fakeai.store.tables import metadata

__all__ = ["FileRow", "delete_file", "file_bytes", "files", "get_file", "insert_file", "list_files", "read_content"]

files = Table(
    "files",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("bytes", Integer, nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("filename", Text, nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_details", Text, nullable=True),
    Column("expires_at", Integer, nullable=True),
    # What GET .../content answers with.
    Column("content_type", Text, nullable=False),
    Index("ix_files_purpose_id", "purpose", "id"),
)

file_bytes = Table(
    "file_bytes",
    metadata,
    Column("file_id", String(64), ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

_META = (
    files.c.id,
    files.c.bytes,
    files.c.created_at,
    files.c.filename,
    files.c.purpose,
    files.c.status,
    files.c.status_details,
    files.c.expires_at,
    files.c.content_type,
)


@dataclass(slots=True, frozen=True)
class FileRow:
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str
    status_details: str | None
    expires_at: int | None
    content_type: str


def _live(now: int):
    return or_(files.c.expires_at.is_(None), files.c.expires_at > now)


async def insert_file(db: Database, row: FileRow, data: bytes) -> None:
    async with db.sessions.begin() as session:
        await session.execute(insert(files).values(**{name: getattr(row, name) for name in FileRow.__slots__}))
        await session.execute(insert(file_bytes).values(file_id=row.id, data=data))


async def get_file(db: Database, file_id: str, now: int) -> FileRow | None:
    async with db.sessions() as session:
        found = (await session.execute(select(*_META).where(files.c.id == file_id, _live(now)))).first()
    return FileRow(*found) if found else None


async def list_files(
    db: Database, *, now: int, purpose: str | None, limit: int, after: str | None, descending: bool
) -> tuple[list[FileRow], bool]:
    """One page (newest first when ``descending``) and whether more follow."""
    query = select(*_META).where(_live(now))
    if purpose is not None:
        query = query.where(files.c.purpose == purpose)
    if after is not None:
        query = query.where(files.c.id < after if descending else files.c.id > after)
    query = query.order_by(files.c.id.desc() if descending else files.c.id.asc()).limit(limit + 1)
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [FileRow(*r) for r in rows[:limit]], len(rows) > limit


async def read_content(db: Database, file_id: str, now: int) -> tuple[FileRow, bytes] | None:
    async with db.sessions() as session:
        found = (
            await session.execute(
                select(*_META, file_bytes.c.data)
                .join(file_bytes, file_bytes.c.file_id == files.c.id)
                .where(files.c.id == file_id, _live(now))
            )
        ).first()
    if not found:
        return None
    return FileRow(*found[:-1]), found[-1]


async def delete_file(db: Database, file_id: str) -> bool:
    # Bytes first, explicitly: ON DELETE CASCADE needs the foreign_keys pragma, which other backends lack.
    async with db.sessions.begin() as session:
        await session.execute(delete(file_bytes).where(file_bytes.c.file_id == file_id))
        result = await session.execute(delete(files).where(files.c.id == file_id))
    return bool(result.rowcount)
