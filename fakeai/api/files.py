"""The files endpoints: POST/GET /v1/files, GET/DELETE /v1/files/{id}, GET /v1/files/{id}/content.

An upload is multipart/form-data. The Exchange still carries the raw body (record and replay key on
it and forward it as is); the form is parsed afterwards from the same, already read, body.
"""

from __future__ import annotations

from litestar import Request, Response, delete, get, post
from litestar.datastructures import UploadFile

from fakeai.api.replies import read_exchange, runtime_of, to_response
from fakeai.modes.synthetic import files as synthetic

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


@post("/files", status_code=200)
async def create_file(request: Request) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)

    async def thunk():  # noqa: ANN202
        return await synthetic.create_file(runtime.synthetic, await _upload(request))

    reply = await runtime.dispatcher.handle(exchange, thunk)
    return to_response(request, reply)


@get("/files")
async def list_files(request: Request) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    q = request.query_params
    reply = await runtime.dispatcher.handle(
        exchange,
        lambda: synthetic.list_files(
            runtime.synthetic,
            purpose=q.get("purpose"),
            limit=q.get("limit"),
            after=q.get("after"),
            order=q.get("order"),
        ),
    )
    return to_response(request, reply)


@get("/files/{file_id:str}")
async def retrieve_file(request: Request, file_id: str) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    reply = await runtime.dispatcher.handle(exchange, lambda: synthetic.retrieve_file(runtime.synthetic, file_id))
    return to_response(request, reply)


@get("/files/{file_id:str}/content")
async def file_content(request: Request, file_id: str) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    reply = await runtime.dispatcher.handle(exchange, lambda: synthetic.file_content(runtime.synthetic, file_id))
    return to_response(request, reply)


@delete("/files/{file_id:str}", status_code=200)
async def delete_file(request: Request, file_id: str) -> Response:
    runtime = runtime_of(request)
    exchange = await read_exchange(request)
    reply = await runtime.dispatcher.handle(exchange, lambda: synthetic.delete_file(runtime.synthetic, file_id))
    return to_response(request, reply)

HANDLERS = [create_file, list_files, retrieve_file, file_content, delete_file]
