"""The files endpoints: uploads stored in the database, listed with cursor pages.

Uploads for ``batch`` and ``fine-tune`` must be ``.jsonl`` (as OpenAI requires) and are checked line by
line when they arrive; a bad line does not fail the upload but gives the file status ``error`` with
``status_details`` naming the line, which is what a client polling the file sees on OpenAI.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from fakeai.errors import InvalidRequestError, NotFoundError, PayloadTooLargeError
from fakeai.modes.base import Body
from fakeai.modes.synthetic import lazy_module
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.schemas import encode_json
from fakeai.schemas.files import (
    FILE_LIST_LIMIT_MAX as LIST_LIMIT_MAX,
    FILE_PURPOSES,
    FILE_TTL_MAX as MAX_TTL,
    FILE_TTL_MIN as MIN_TTL,
    FileDeleted,
    FileList,
    FileObject,
)

if TYPE_CHECKING:
    from fakeai.store import files as store
else:  # imported with the first files request: importing it at start would load SQLAlchemy
    store = lazy_module("fakeai.store.files")

__all__ = ["Upload", "check_jsonl", "create_file", "delete_file", "file_content", "list_files", "retrieve_file"]


BATCH_DEFAULT_TTL = 30 * 24 * 3600  # OpenAI: batch input files expire after 30 days unless told otherwise
_THREAD_ABOVE = 1 << 20  # validate bigger uploads off the event loop
_EXTRA_TYPES = {".jsonl": "application/jsonl", ".jsonlines": "application/jsonl", ".md": "text/markdown"}
_GENERIC_TYPES = {"", "application/octet-stream", "text/plain"}


@dataclass(slots=True)
class Upload:
    """One multipart upload as the controller parsed it."""

    data: bytes | None  # None when no file part came
    filename: str
    content_type: str
    purpose: str | None
    expires_after_anchor: str | None = None
    expires_after_seconds: str | None = None


# --- ids -----------------------------------------------------------------------------------------------------
_id_lock = threading.Lock()
_last_ms = 0


def sortable_id(prefix: str) -> str:
    """prefix + 12 hex digits of milliseconds (strictly increasing in this process) + 12 random hex digits.

    Ordering by id is ordering by creation, so list pages need no extra sequence column.
    """
    global _last_ms
    with _id_lock:
        ms = max(int(time.time() * 1000), _last_ms + 1)
        _last_ms = ms
    return f"{prefix}{ms:012x}{os.urandom(6).hex()}"


# --- validation ------------------------------------------------------------------------------------------------
_decode_line = msgspec.json.Decoder().decode


def check_jsonl(data: bytes, purpose: str) -> str | None:
    """None when every line is a well-formed request for ``purpose``; else what is wrong and where."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"File is not valid UTF-8 (byte {exc.start})."
    seen_ids: set[str] = set()
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        try:
            record = _decode_line(line)
        except msgspec.DecodeError as exc:
            return f"Line {number}: invalid JSON ({exc})."
        except RecursionError:
            return f"Line {number}: invalid JSON (objects or arrays nested too deeply)."
        if not isinstance(record, dict):
            return f"Line {number}: expected a JSON object, got {type(record).__name__}."
        problem = _check_batch(record, seen_ids) if purpose == "batch" else _check_fine_tune(record)
        if problem:
            return f"Line {number}: {problem}"
    if not count:
        return "File is empty: expected one JSON object per line."
    return None


def _check_batch(record: dict, seen_ids: set[str]) -> str | None:
    custom_id = record.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        return "missing 'custom_id' (a non-empty string)."
    if custom_id in seen_ids:
        return f"duplicate custom_id '{custom_id}'."
    seen_ids.add(custom_id)
    if record.get("method") != "POST":
        return "'method' must be \"POST\"."
    url = record.get("url")
    if not isinstance(url, str) or not url.startswith("/v1/"):
        return "'url' must be an API path such as \"/v1/chat/completions\"."
    if not isinstance(record.get("body"), dict):
        return "'body' must be a JSON object (the request body)."
    return None


def _check_fine_tune(record: dict) -> str | None:
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return "missing 'messages' (a non-empty list of chat messages)."
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            return f"messages[{i}] must be an object with a 'role'."
        if message["role"] not in ("system", "developer", "user", "assistant", "tool", "function"):
            return f"messages[{i}] has an unknown role '{message['role']}'."
    return None


# --- endpoints ---------------------------------------------------------------------------------------------------
def _object(row: store.FileRow) -> FileObject:
    return FileObject(
        id=row.id,
        bytes=row.bytes,
        created_at=row.created_at,
        filename=row.filename,
        purpose=row.purpose,
        status=row.status,
        status_details=row.status_details,
        expires_at=row.expires_at,
    )


def _content_type(filename: str, declared: str) -> str:
    ext = os.path.splitext(filename)[1].lower()
    guessed = _EXTRA_TYPES.get(ext) or mimetypes.guess_type(filename)[0]
    if guessed:
        return guessed
    return declared if declared not in _GENERIC_TYPES else "application/octet-stream"


def _expires_at(upload: Upload, purpose: str, now: int) -> int | None:
    if upload.expires_after_seconds is None and upload.expires_after_anchor is None:
        return now + BATCH_DEFAULT_TTL if purpose == "batch" else None
    if upload.expires_after_anchor != "created_at":
        raise InvalidRequestError(
            "Invalid value for 'expires_after.anchor': expected 'created_at'.", param="expires_after.anchor"
        )
    try:
        seconds = int(upload.expires_after_seconds or "")
    except ValueError:
        seconds = -1
    if not MIN_TTL <= seconds <= MAX_TTL:
        raise InvalidRequestError(
            f"Invalid value for 'expires_after.seconds': must be between {MIN_TTL} and {MAX_TTL}.",
            param="expires_after.seconds",
        )
    return now + seconds


async def create_file(ctx: SyntheticContext, upload: Upload) -> Body:
    if upload.data is None:
        raise InvalidRequestError(
            "Missing required parameter: 'file' (send it as a multipart/form-data file part).", param="file"
        )
    purpose = upload.purpose
    if not purpose:
        raise InvalidRequestError("Missing required parameter: 'purpose'.", param="purpose")
    if purpose not in FILE_PURPOSES:
        raise InvalidRequestError(
            f"Invalid value for 'purpose': '{purpose}'. Expected one of: {', '.join(sorted(FILE_PURPOSES))}.",
            param="purpose",
        )
    size = len(upload.data)
    limit = ctx.settings.max_file_bytes
    if size > limit:
        raise PayloadTooLargeError(
            f"File '{upload.filename}' is {size} bytes, larger than the limit of {limit} bytes (--max-file-bytes).",
            param="file",
        )
    status, details = "processed", None
    if purpose in ("batch", "fine-tune"):
        if not upload.filename.lower().endswith(".jsonl"):
            api = "Batch API" if purpose == "batch" else "Fine-tuning API"
            raise InvalidRequestError(f"Invalid file format for {api}. Must be .jsonl", param="file")
        if size > _THREAD_ABOVE:
            details = await asyncio.to_thread(check_jsonl, upload.data, purpose)
        else:
            details = check_jsonl(upload.data, purpose)
        if details:
            status = "error"
    now = int(time.time())
    row = store.FileRow(
        id=sortable_id("file-"),
        bytes=size,
        created_at=now,
        filename=upload.filename,
        purpose=purpose,
        status=status,
        status_details=details,
        expires_at=_expires_at(upload, purpose, now),
        content_type=_content_type(upload.filename, upload.content_type),
    )
    await store.insert_file(ctx.database, row, upload.data)
    return Body(content=encode_json(_object(row)))


async def list_files(
    ctx: SyntheticContext, *, purpose: str | None, limit: str | None, after: str | None, order: str | None
) -> Body:
    try:
        count = LIST_LIMIT_MAX if limit is None else int(limit)
    except ValueError:
        count = 0
    if not 1 <= count <= LIST_LIMIT_MAX:
        raise InvalidRequestError(
            f"Invalid value for 'limit': expected an integer between 1 and {LIST_LIMIT_MAX}.", param="limit"
        )
    if order not in (None, "asc", "desc"):
        raise InvalidRequestError("Invalid value for 'order': expected 'asc' or 'desc'.", param="order")
    rows, more = await store.list_files(
        ctx.database, now=int(time.time()), purpose=purpose or None, limit=count, after=after or None,
        descending=order != "asc",
    )
    data = [_object(r) for r in rows]
    page = FileList(
        data=data, has_more=more, first_id=data[0].id if data else None, last_id=data[-1].id if data else None
    )
    return Body(content=encode_json(page))


async def retrieve_file(ctx: SyntheticContext, file_id: str) -> Body:
    row = await store.get_file(ctx.database, file_id, int(time.time()))
    if row is None:
        raise _missing(file_id)
    return Body(content=encode_json(_object(row)))


async def file_content(ctx: SyntheticContext, file_id: str) -> Body:
    found = await store.read_content(ctx.database, file_id, int(time.time()))
    if found is None:
        raise _missing(file_id)
    row, data = found
    quoted = row.filename.replace("\\", "_").replace('"', "_")
    return Body(
        content=data, media_type=row.content_type, headers={"content-disposition": f'attachment; filename="{quoted}"'}
    )


async def delete_file(ctx: SyntheticContext, file_id: str) -> Body:
    if not await store.delete_file(ctx.database, file_id):
        raise _missing(file_id)
    return Body(content=encode_json(FileDeleted(id=file_id)))


def _missing(file_id: str) -> NotFoundError:
    return NotFoundError(f"No such File object: {file_id}", param="id")
