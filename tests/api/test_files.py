"""Files through Litestar's test client on a fresh database."""

import json

import pytest

BATCH_LINE = {"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o"}}


def upload(api, content: bytes, purpose: str = "user_data", filename: str = "notes.txt", **fields):
    return api.post("/v1/files", files={"file": (filename, content)}, data={"purpose": purpose, **fields})


def test_upload_retrieve_content_delete(api):
    r = upload(api, b"hello world", filename="hello.txt")
    assert r.status_code == 200, r.text
    obj = r.json()
    assert obj["id"].startswith("file-") and obj["object"] == "file"
    assert obj["bytes"] == 11 and obj["filename"] == "hello.txt" and obj["purpose"] == "user_data"
    assert obj["status"] == "processed" and obj["status_details"] is None and obj["expires_at"] is None
    assert api.get(f"/v1/files/{obj['id']}").json() == obj
    content = api.get(f"/v1/files/{obj['id']}/content")
    assert content.status_code == 200 and content.content == b"hello world"
    assert content.headers["content-type"].startswith("text/plain")
    r = api.delete(f"/v1/files/{obj['id']}")
    assert r.status_code == 200 and r.json() == {"id": obj["id"], "object": "file", "deleted": True}
    for path in (f"/v1/files/{obj['id']}", f"/v1/files/{obj['id']}/content"):
        r = api.get(path)
        assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
    assert api.delete(f"/v1/files/{obj['id']}").status_code == 404


def test_list_pages_order_and_purpose(api):
    ids = [upload(api, b"x" * i, purpose="assistants" if i % 2 else "user_data").json()["id"] for i in range(1, 8)]
    page = api.get("/v1/files", params={"limit": 3}).json()
    assert page["object"] == "list" and page["has_more"] is True
    assert [f["id"] for f in page["data"]] == ids[::-1][:3]  # newest first by default
    assert page["first_id"] == ids[-1] and page["last_id"] == ids[-3]
    rest = api.get("/v1/files", params={"limit": 10, "after": page["last_id"]}).json()
    assert [f["id"] for f in rest["data"]] == ids[::-1][3:] and rest["has_more"] is False
    asc = api.get("/v1/files", params={"order": "asc", "purpose": "assistants"}).json()
    assert [f["id"] for f in asc["data"]] == ids[0::2]
    empty = api.get("/v1/files", params={"purpose": "vision"}).json()
    assert empty == {"object": "list", "data": [], "has_more": False, "first_id": None, "last_id": None}
    r = api.get("/v1/files", params={"limit": 0})
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"


@pytest.mark.parametrize(
    ("purpose", "lines", "problem"),
    [
        ("batch", [BATCH_LINE, {**BATCH_LINE, "custom_id": "r2", "body": "nope"}], "Line 2: 'body'"),
        ("batch", [BATCH_LINE, BATCH_LINE], "Line 2: duplicate custom_id"),
        ("batch", [{k: v for k, v in BATCH_LINE.items() if k != "url"}], "Line 1: 'url'"),
        ("fine-tune", [{"messages": [{"role": "user", "content": "hi"}]}, {"prompt": "x"}], "Line 2: missing 'messages'"),
        ("fine-tune", ["[1, 2]"], "Line 1: expected a JSON object"),
        ("fine-tune", ['{"messages": ['], "Line 1: invalid JSON"),
    ],
)
def test_bad_jsonl_gets_error_status(api, purpose, lines, problem):
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    r = upload(api, text.encode(), purpose=purpose, filename="data.jsonl")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "error"
    assert r.json()["status_details"].startswith(problem)
    assert api.get(f"/v1/files/{r.json()['id']}").json()["status"] == "error"


def test_good_jsonl_is_processed_and_batch_expires(api):
    lines = [BATCH_LINE, {**BATCH_LINE, "custom_id": "r2"}]
    r = upload(api, "\n".join(map(json.dumps, lines)).encode(), purpose="batch", filename="in.jsonl")
    obj = r.json()
    assert obj["status"] == "processed" and obj["status_details"] is None
    assert obj["expires_at"] == obj["created_at"] + 30 * 24 * 3600
    content = api.get(f"/v1/files/{obj['id']}/content")
    assert content.headers["content-type"].startswith("application/jsonl")
    ft = upload(api, b'{"messages": [{"role": "user", "content": "hi"}]}\n', purpose="fine-tune", filename="t.jsonl")
    assert ft.json()["status"] == "processed"


def test_upload_errors(api):
    r = api.post("/v1/files", data={"purpose": "batch"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    r = upload(api, b"x", purpose="")
    assert r.status_code == 400 and r.json()["error"]["param"] == "purpose"
    r = upload(api, b"x", purpose="homework")
    assert r.status_code == 400 and r.json()["error"]["param"] == "purpose"
    r = upload(api, b"{}", purpose="batch", filename="in.csv")
    assert r.status_code == 400 and "jsonl" in r.json()["error"]["message"]
    r = upload(api, b"x", **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "10"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "expires_after.seconds"
    r = upload(api, b"x", **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "7200"})
    assert r.json()["expires_at"] == r.json()["created_at"] + 7200


def test_file_over_limit_is_413(make_client):
    api = make_client(max_file_bytes=1000)
    r = upload(api, b"a" * 1001)
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["code"] == "request_too_large" and "1000" in error["message"] and error["param"] == "file"
    assert upload(api, b"a" * 1000).status_code == 200
    assert api.get("/v1/files").json()["data"][0]["bytes"] == 1000
