"""Generated images handed out by URL: the PNG bytes live here until they expire or are deleted.

Expired rows are swept whenever new images are saved (an indexed range delete), so the table holds
at most about an hour of images without a background task.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, Text, delete, insert, select

from fakeai.store.database import Database
from fakeai.store.tables import metadata

__all__ = ["StoredImage", "delete_image", "images", "load_image", "save_images"]

images = Table(
    "images",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", Integer, nullable=False),  # unix seconds
    Column("expires_at", Integer, nullable=False),  # unix seconds; the image is gone from then on
    Column("model", Text, nullable=True),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_images_expires_at", "expires_at"),
)


@dataclass(frozen=True, slots=True)
class StoredImage:
    id: str
    created_at: int
    expires_at: int
    model: str | None
    width: int
    height: int
    media_type: str
    data: bytes


async def save_images(db: Database, rows: list[StoredImage], now: int) -> None:
    """Insert ``rows`` and sweep images that expired by ``now``, in one transaction."""
    async with db.sessions.begin() as session:
        await session.execute(delete(images).where(images.c.expires_at <= now))
        if not rows:
            return
        await session.execute(
            insert(images),
            [
                {
                    "id": r.id,
                    "created_at": r.created_at,
                    "expires_at": r.expires_at,
                    "model": r.model,
                    "width": r.width,
                    "height": r.height,
                    "media_type": r.media_type,
                    "bytes": len(r.data),
                    "data": r.data,
                }
                for r in rows
            ],
        )


async def load_image(db: Database, image_id: str, now: int) -> tuple[bytes, str, int] | None:
    """(data, media_type, expires_at) of an image that has not expired by ``now``, else None."""
    query = select(images.c.data, images.c.media_type, images.c.expires_at).where(
        images.c.id == image_id, images.c.expires_at > now
    )
    async with db.sessions() as session:
        row = (await session.execute(query)).first()
    return None if row is None else (row.data, row.media_type, row.expires_at)


async def delete_image(db: Database, image_id: str, now: int) -> bool:
    """Delete an image; False when there was none (or it had already expired)."""
    async with db.sessions.begin() as session:
        result = await session.execute(
            delete(images).where(images.c.id == image_id, images.c.expires_at > now)
        )
    return bool(result.rowcount)
