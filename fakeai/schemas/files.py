"""File objects on the wire, as ``openai.types.FileObject`` / ``FileDeleted`` describe them."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta

__all__ = [
    "FILE_LIST_LIMIT_MAX",
    "FILE_PURPOSES",
    "FILE_TTL_MAX",
    "FILE_TTL_MIN",
    "FileDeleted",
    "FileList",
    "FileListQuery",
    "FileObject",
    "FilePurpose",
    "FileUploadForm",
]

# What an upload may name (``openai.types.FilePurpose``); the *_output / -results purposes are
# only ever given to files the API itself writes.
FilePurpose = Literal["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
FILE_PURPOSES = frozenset(get_args(FilePurpose))
FILE_TTL_MIN, FILE_TTL_MAX = 3600, 30 * 24 * 3600  # expires_after[seconds]
FILE_LIST_LIMIT_MAX = 10_000


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


class FileUploadForm(msgspec.Struct, kw_only=True):
    """The multipart/form-data fields of ``POST /v1/files`` (the controller reads them from the parsed
    form; this Struct describes them for the OpenAPI document)."""

    file: Annotated[str, Meta(extra_json_schema={"format": "binary", "contentMediaType": "application/octet-stream"})]
    purpose: FilePurpose
    expires_after_anchor: Literal["created_at"] | None = msgspec.field(default=None, name="expires_after[anchor]")
    expires_after_seconds: Annotated[int, Meta(ge=FILE_TTL_MIN, le=FILE_TTL_MAX)] | None = msgspec.field(
        default=None, name="expires_after[seconds]"
    )


class FileListQuery(msgspec.Struct, kw_only=True):
    """The query string of ``GET /v1/files``."""

    purpose: str | None = None
    limit: Annotated[int, Meta(ge=1, le=FILE_LIST_LIMIT_MAX)] | None = None
    after: str | None = None
    order: Literal["asc", "desc"] | None = None
