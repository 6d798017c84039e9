"""File objects on the wire, as ``openai.types.FileObject`` / ``FileDeleted`` describe them."""

from __future__ import annotations

import msgspec

__all__ = ["FILE_PURPOSES", "FileDeleted", "FileList", "FileObject"]

# What an upload may name (``openai.types.FilePurpose``); the *_output / -results purposes are
# only ever given to files the API itself writes.
FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})


class FileObject(msgspec.Struct, kw_only=True, omit_defaults=False):
    id: str
    object: str = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str  # uploaded | processed | error
    status_details: str | None = None
    expires_at: int | None = None


class FileList(msgspec.Struct, kw_only=True, omit_defaults=False):
    """A cursor page: the SDK follows ``has_more`` with ``after=<last id>``."""

    object: str = "list"
    data: list[FileObject]
    has_more: bool
    first_id: str | None
    last_id: str | None


class FileDeleted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "file"
    deleted: bool = True
