"""Cassette files: every way an upstream may have framed its bytes comes back exactly, the
readable form is JSON where it can be, and the admin queries behind ``fakeai cassettes``."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import msgspec
import pytest

from fakeai.cassettes.directory import export_directory, import_paths
from fakeai.cassettes.document import CassetteFileError, document_to_rows, dumps, file_name, rows_to_document
from fakeai.cassettes.encoding import decode_value, encode_value
from fakeai.settings import Settings
from fakeai.store.cassette_admin import AdminError, CassetteAdmin, Filters
from fakeai.store.cassettes import pack_events, unpack_events

VALUE = {"id": "x", "text": "Grüße ☃", "n": [1, 2.5, -3e-07, None, True], "empty": {}, "list": []}


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (msgspec.json.encode(VALUE), "json"),
        (json.dumps(VALUE, separators=(",", ":"), ensure_ascii=False).encode(), "json-py"),
        (json.dumps(VALUE, separators=(",", ":")).encode() + b"\n", "json-py-ascii"),
        (msgspec.json.format(msgspec.json.encode(VALUE), indent=2), "json-indent-2-msgspec"),
        (json.dumps(VALUE, indent=2, ensure_ascii=False).encode() + b"\n", "json-indent-2"),
        (json.dumps(VALUE, indent=2).encode(), "json-indent-2-ascii"),
        (json.dumps(VALUE, ensure_ascii=False).encode(), "json-spaced"),
        (json.dumps(VALUE).encode() + b"\r\n", "json-spaced-ascii"),
        (json.dumps(VALUE, indent=4, ensure_ascii=False).encode(), "json-indent-4"),
        (b'{"a":1,"a":2}', "text"),  # duplicate keys: no serialisation gives these bytes back
        (b'{"a": 1.50}', "text"),
        (b"plain text\nwith lines", "text"),
        (b"", "text"),
        (b"\x89PNG\r\n\x1a\n\x00\xff", "base64"),
    ],
)
def test_every_form_gives_back_the_exact_bytes(data, encoding):
    encoded = encode_value(data)
    assert encoded.encoding == encoding
    if encoding.startswith("json"):
        assert encoded.value == VALUE
    assert decode_value(encoded.encoding, encoded.value, encoded.suffix) == data


def row(key: str | None = None, episode: int = 0, n: int = 0, **over) -> dict:
    """A table row; without ``key`` a true one (the sha256 of the request, as import insists)."""
    request = b'{"body":{"model":"m","n":%d},"headers":{},"method":"POST","path":"/v1/chat/completions","query":[]}' % n
    values = {
        "key": key or hashlib.sha256(request).hexdigest(),
        "episode": episode,
        "method": "POST",
        "path": "/v1/chat/completions",
        "request": request,
        "model": "m",
        "upstream": "http://up/v1",
        "status": 200,
        "headers": b'{"content-type":"application/json"}',
        "stream": False,
        "body": b'{"ok":true}',
        "events": None,
        "size": 11,
        "recorded_at": dt.datetime(2026, 1, 1, 12, 0, 0, 123456),
        "last_used_at": None,
        "hits": 0,
    }
    values.update(over)
    return values


FRAMES = [
    (0.5, b'event: response.created\ndata: {"type":"response.created"}\n\n'),
    (1.25, b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'),
    (2.0, b'data: {"choices": [{"index": 0, "delta": {"content": "\\u00e9"}}]}\n\n'),
    (3.0, b": keep-alive\n\n"),
    (4.0, b"data: x\r\n\r\n"),
    (5.0, b"data: \xff\xfe\n\n"),
    (6.0, b"data: [DONE]\n\n"),
]


def test_a_stream_document_is_readable_and_exact():
    stream_row = row(stream=True, body=None, events=pack_events(FRAMES), size=0)
    document = rows_to_document([stream_row])
    events = document["episodes"][0]["events"]
    assert events[0] == {"t": 0.5, "event": "response.created", "data": {"type": "response.created"}}
    assert events[1]["data"]["choices"][0]["delta"]["content"] == "Hi" and "encoding" not in events[1]
    assert events[2]["encoding"] == "json-spaced-ascii"
    assert events[3] == {"t": 3.0, "raw": ": keep-alive\n\n"} and "raw" in events[4] and "raw_base64" in events[5]
    assert events[6] == {"t": 6.0, "text": "[DONE]"}
    text = dumps(document)
    assert text.count('{"t": ') == len(FRAMES)  # one line per event
    (back,) = document_to_rows(json.loads(text))
    assert unpack_events(back["events"]) == FRAMES
    assert back["request"] == stream_row["request"] and back["headers"] == stream_row["headers"]
    assert back["recorded_at"] == stream_row["recorded_at"]


def test_file_names_are_endpoint_and_short_hash():
    assert file_name("/v1/chat/completions", "3f2a9c1b04d7" + "0" * 52) == "chat-completions/3f2a9c1b04d7.json"
    assert file_name("/v1/files/file-abc/content", "b" * 64) == f"files-file-abc-content/{'b' * 12}.json"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("fakeai_cassette"), "not a FakeAI cassette file"),
        (lambda d: d.update(key="XYZ"), "'key' must be 64"),
        (lambda d: d["episodes"][0].update(status="200"), "'status' must be int"),
        (lambda d: d["episodes"][0].update(body_encoding="rot13"), "unknown encoding"),
        (lambda d: d["episodes"][0].pop("body"), "'text' value must be a string"),
        (lambda d: d.update(episodes=[]), "'episodes' is empty"),
        (lambda d: d["request"]["body"].update(n=1), "the request hashes to [0-9a-f]{64}, not to the file's key"),
    ],
)
def test_bad_documents_say_what_is_wrong(mutate, message):
    document = json.loads(dumps(rows_to_document([row(body=b"not json")])))
    mutate(document)
    with pytest.raises(ValueError, match=message):
        document_to_rows(document)


@pytest.fixture
def admin(db_url):  # SQLite and PostgreSQL (tests/databases.py)
    with CassetteAdmin(Settings(db=db_url).db_url, create=True) as admin:
        yield admin


def test_missing_database_is_refused(tmp_path):
    with pytest.raises(AdminError, match="no database"):
        CassetteAdmin(Settings(db=str(tmp_path / "nope.db")).db_url)


def test_prefixes_filters_prune_and_idempotent_upsert(admin, tmp_path):
    old = dt.datetime(2020, 1, 1)
    rows = [
        row("abcd" + "0" * 60),
        row("abcd" + "1" * 60, path="/v1/embeddings", model="e", recorded_at=old),
        row("abcd" + "1" * 60, episode=1, path="/v1/embeddings", model="e", status=404),
        row("ef01" + "2" * 60, path="/v1/files/file-1/content", recorded_at=old),
    ]
    counts = admin.upsert(rows)
    assert (counts.inserted, counts.updated, counts.unchanged) == (4, 0, 0)
    assert admin.resolve("ABCD0") == "abcd" + "0" * 60
    with pytest.raises(AdminError, match="ambiguous"):
        admin.resolve("abcd")
    with pytest.raises(AdminError, match="no cassette"):
        admin.resolve("9999")
    assert [s.key[:4] for s in admin.summaries(Filters(endpoint="/v1/files"))] == ["ef01"]
    embeddings = admin.summaries(Filters(status=404))
    assert len(embeddings) == 1 and embeddings[0].episodes == 2 and embeddings[0].statuses == [200, 404]
    # Whole cassettes only: one of the embeddings episodes is recent, so it stays.
    doomed = admin.prune_candidates(older_than=dt.datetime(2025, 1, 1))
    assert [s.key[:4] for s in doomed] == ["ef01"]

    again = admin.upsert([{k: v for k, v in r.items()} for r in rows])
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    changed = admin.upsert([row("abcd" + "0" * 60, body=b'{"ok":false}')])
    assert changed.updated == 1 and admin.episodes("abcd" + "0" * 60)[0]["body"] == b'{"ok":false}'
    assert admin.delete(["abcd" + "1" * 60]) == 2


def test_export_then_import_changes_nothing(admin, tmp_path):
    rows = [row(n=1), row(n=1, episode=1, status=404), row(n=2, path="/v1/embeddings", body=b"\x00\x01", size=2)]
    admin.upsert(rows)
    out = tmp_path / "out"
    result = export_directory(admin, out)
    assert (result.cassettes, result.written) == (2, 2)
    files, counts = import_paths(admin, [out])
    assert (files, counts.inserted, counts.updated, counts.unchanged) == (2, 0, 0, 3)
    (out / "embeddings" / "stale.json").write_text('{"fakeai_cassette": 1}')
    cleaned = export_directory(admin, out, clean=True)
    assert cleaned.unchanged == 2 and cleaned.removed == 1 and not (out / "embeddings" / "stale.json").exists()
    with pytest.raises(CassetteFileError, match="no such file"):
        import_paths(admin, [tmp_path / "missing"])


def test_iter_rows_pages_through_everything(admin):
    admin.upsert([row(f"{i:064x}", body=base64.b64encode(bytes([i]))) for i in range(23)])
    assert [r["key"] for r in admin.iter_rows(batch=5)] == [f"{i:064x}" for i in range(23)]


def test_duration_survives_export_and_import():
    import datetime as dt

    from fakeai.cassettes.document import document_to_rows, rows_to_document

    import hashlib

    request = b'{"body":null,"headers":{},"method":"GET","path":"/v1/models","query":[]}'
    row = {
        "key": hashlib.sha256(request).hexdigest(), "episode": 0, "method": "GET", "path": "/v1/models",
        "request": request,
        "model": None, "upstream": "http://127.0.0.1:9/v1", "status": 200,
        "headers": b'{"content-type":"application/json"}', "stream": False, "body": b'{"data":[]}',
        "events": None, "size": 11, "recorded_at": dt.datetime(2026, 11, 25, 10, 0), "duration_ms": 812.0625,
    }
    document = rows_to_document([row])
    assert document["episodes"][0]["duration_ms"] == 812.0625
    (again,) = document_to_rows(document)
    assert again["duration_ms"] == 812.0625
    del document["episodes"][0]["duration_ms"]  # files exported before durations were kept
    assert document_to_rows(document)[0]["duration_ms"] is None
