"""Files end to end: the openai SDK against a real ``fakeai serve``, persistence across a restart."""

import io
import json

import openai
import pytest
from openai.types import FileObject

from fakeai.cassettes.server_process import ServerProcess


@pytest.fixture(scope="module")
def db(module_db_url) -> str:
    return module_db_url  # once an SQLite file, once a PostgreSQL database


@pytest.fixture(scope="module")
def server(db):
    with ServerProcess("--max-file-bytes", "4096", db=db) as server:
        yield server


@pytest.fixture(scope="module")
def sdk(server):
    return server.client()


def test_create_retrieve_content_delete(sdk):
    f = sdk.files.create(file=("notes.md", b"# Title\nbody\n"), purpose="assistants")
    assert isinstance(f, FileObject) and f.id.startswith("file-")
    assert (f.bytes, f.filename, f.purpose, f.status) == (13, "notes.md", "assistants", "processed")
    assert FileObject.model_validate(f.to_dict()) == f  # every required field is there, typed right
    assert sdk.files.retrieve(f.id) == f
    raw = sdk.files.with_raw_response.content(f.id)
    assert raw.http_response.headers["content-type"].startswith("text/markdown")
    assert sdk.files.content(f.id).content == b"# Title\nbody\n"
    deleted = sdk.files.delete(f.id)
    assert deleted.id == f.id and deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(f.id)
    with pytest.raises(openai.NotFoundError):
        sdk.files.content(f.id)


def test_list_auto_paginates_and_filters(sdk):
    made = [sdk.files.create(file=(f"v{i}.png", b"\x89PNG" + bytes([i])), purpose="vision").id for i in range(5)]
    page = sdk.files.list(purpose="vision", limit=2)
    assert [f.id for f in page.data] == made[::-1][:2] and page.has_more
    assert [f.id for f in page] == made[::-1]  # the SDK follows has_more with after=<last id>
    assert [f.id for f in sdk.files.list(purpose="vision", order="asc", limit=3)] == made
    assert all(f.purpose == "vision" for f in sdk.files.list(purpose="vision"))


def test_jsonl_validation_status(sdk):
    good = "\n".join(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                                 "body": {"model": "gpt-4o", "messages": []}}) for i in range(3))
    ok = sdk.files.create(file=("batch.jsonl", io.BytesIO(good.encode())), purpose="batch")
    assert ok.status == "processed" and ok.expires_at == ok.created_at + 30 * 24 * 3600
    bad = sdk.files.create(file=("train.jsonl", b'{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n'),
                           purpose="fine-tune")
    assert bad.status == "error" and bad.status_details.startswith("Line 2: invalid JSON")
    with pytest.raises(openai.BadRequestError):
        sdk.files.create(file=("batch.csv", b"a,b"), purpose="batch")


def test_too_large_is_413(sdk):
    with pytest.raises(openai.APIStatusError) as info:
        sdk.files.create(file=("big.bin", b"\0" * 5000), purpose="user_data")
    assert info.value.status_code == 413 and "4096" in info.value.message


def test_files_survive_a_restart(server, db):
    sdk = server.client()
    f = sdk.files.create(file=("keep.txt", b"still here"), purpose="user_data")
    server.stop()
    with ServerProcess(db=db) as again:
        sdk2 = again.client()
        assert sdk2.files.retrieve(f.id) == f
        assert sdk2.files.content(f.id).content == b"still here"
        assert f.id in [x.id for x in sdk2.files.list()]
