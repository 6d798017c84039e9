"""The files endpoints: POST/GET /v1/files, GET/DELETE /v1/files/{id}, GET /v1/files/{id}/content.

An upload is multipart/form-data. The Exchange still carries the raw body (record and replay key on
it and forward it as is); the form is parsed afterwards from the same, already read, body.
"""

from __future__ import annotations

from litestar import Request, Response, delete, get, post
from litestar.datastructures import UploadFile

from fakeai.api.openapi import documented
from fakeai.api.replies import answer
from fakeai.modes.base import Exchange, Reply
from fakeai.modes.synthetic import SyntheticContext, lazy
from fakeai.schemas.files import FileDeleted, FileList, FileListQuery, FileObject, FileUploadForm

synthetic = lazy("files")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["create_file", "delete_file", "file_content", "list_files", "retrieve_file"]


async def _upload(request: Request) -> synthetic.Upload:
    form = await request.form()
    part = form.get("file")
    purpose = form.get("purpose")
    try:
        if isinstance(part, UploadFile):
            data = await part.read()
            filename, content_type = part.filename or "file", part.content_type or ""
        elif isinstance(part, str):  # a plain field instead of a file part: take its text as the content
            data, filename, content_type = part.encode(), "file", ""
        else:
            data, filename, content_type = None, "", ""
    finally:
        for value in form.values():
            if isinstance(value, UploadFile):
                await value.close()
    return synthetic.Upload(
        data=data,
        filename=filename,
        content_type=content_type,
        purpose=purpose if isinstance(purpose, str) else None,
        expires_after_anchor=form.get("expires_after[anchor]"),
        expires_after_seconds=form.get("expires_after[seconds]"),
    )


@post(
    "/files",
    status_code=200,
    **documented(
        "Files",
        "Upload a file",
        form=FileUploadForm,
        example={"file": "Hello, FakeAI!", "purpose": "user_data"},
        ok=FileObject,
        errors=("415",),
    ),
)
async def create_file(request: Request) -> Response:
    # The form is parsed only when synthesizing, from the body read_exchange already read.
    async def create(ctx: SyntheticContext, _: Exchange) -> Reply:
        return await synthetic.create_file(ctx, await _upload(request))

    return await answer(request, create)


@get("/files", **documented("Files", "List files", query=FileListQuery, ok=FileList))
async def list_files(request: Request) -> Response:
    q = request.query_params
    return await answer(
        request,
        lambda ctx, _: synthetic.list_files(
            ctx, purpose=q.get("purpose"), limit=q.get("limit"), after=q.get("after"), order=q.get("order")
        ),
    )


@get("/files/{file_id:str}", **documented("Files", "Retrieve a file", ok=FileObject))
async def retrieve_file(request: Request, file_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.retrieve_file(ctx, file_id))


@get("/files/{file_id:str}/content", **documented("Files", "Retrieve a file's content", ok_media="*/*"))
async def file_content(request: Request, file_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.file_content(ctx, file_id))


@delete("/files/{file_id:str}", status_code=200, **documented("Files", "Delete a file", ok=FileDeleted))
async def delete_file(request: Request, file_id: str) -> Response:
    return await answer(request, lambda ctx, _: synthetic.delete_file(ctx, file_id))


HANDLERS = [create_file, list_files, retrieve_file, file_content, delete_file]
