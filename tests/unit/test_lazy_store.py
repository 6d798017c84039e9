"""A synthetic server starts without SQLAlchemy and Alembic (~0.2-0.45 s of a start) and loads them with
the first request that needs the store; record and replay servers, and every other URL, are as before."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading

import pytest
from sqlalchemy.engine import make_url

from fakeai.store import Database, upgrade_database
from fakeai.store.urls import backend_and_database, lazy_engine_ok

# Run in a fresh interpreter: this test process has SQLAlchemy loaded already.
_SERVER = """
import json, sys
from litestar.testing import TestClient
from fakeai.app import app_from_env
from fakeai.settings import DEFAULT_API_KEYS

def loaded():
    return sorted(m for m in ("sqlalchemy", "alembic") if m in sys.modules)

seen = {}
with TestClient(app_from_env()) as client:  # runs the lifespan: the schema check at start included
    client.headers["Authorization"] = f"Bearer {DEFAULT_API_KEYS[0]}"
    seen["health"] = client.get("/health").status_code
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    seen["chat"] = client.post("/v1/chat/completions", json=chat).status_code
    seen["before_files"] = loaded()
    upload = client.post("/v1/files", files={"file": ("a.jsonl", b'{"a": 1}\\n')}, data={"purpose": "assistants"})
    seen["upload"] = upload.status_code
    seen["file_id"] = upload.json().get("id")
    seen["listed"] = [f["id"] for f in client.get("/v1/files").json()["data"]]
    seen["after_files"] = loaded()
print(json.dumps(seen))
"""


def _serve_once(db: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEAI_")} | {"FAKEAI_DB": db}
    done = subprocess.run([sys.executable, "-c", _SERVER], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_synthetic_server_loads_the_store_with_its_first_files_request(tmp_path):
    db = tmp_path / "lazy.db"
    upgrade_database(f"sqlite+aiosqlite:///{db}")  # a database already at head: the start only checks it
    seen = _serve_once(str(db))
    assert (seen["health"], seen["chat"]) == (200, 200)
    assert seen["before_files"] == []  # neither at start nor for a chat completion
    assert seen["upload"] == 200 and seen["listed"] == [seen["file_id"]]
    assert "sqlalchemy" in seen["after_files"]
    rows = sqlite3.connect(db).execute("SELECT id FROM files").fetchall()
    assert rows == [(seen["file_id"],)]  # in the SQLite file itself


def test_a_new_database_still_gets_its_schema_at_start(tmp_path):
    db = tmp_path / "new.db"
    seen = _serve_once(str(db))
    assert seen["upload"] == 200
    assert seen["before_files"] == ["alembic", "sqlalchemy"]  # migrating needs them; nothing else changed
    version = sqlite3.connect(db).execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == [("0007",)]


def test_concurrent_first_uses_of_a_lazy_database_make_one_engine(tmp_path):
    import asyncio

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", lazy=True)
    assert db._engine is None
    barrier = threading.Barrier(8)
    engines: list[object] = []

    def first_use() -> None:
        barrier.wait()
        engines.append(db.engine)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(engines) == 8 and all(e is engines[0] for e in engines)
    assert db.sessions.kw["bind"] is engines[0]
    asyncio.run(db.dispose())


def test_lazy_only_where_no_error_could_move(tmp_path):
    # Any other URL gets its engine (and its errors) at construction, as before.
    assert lazy_engine_ok(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    assert not lazy_engine_ok(f"sqlite:///{tmp_path / 'a.db'}")  # not an async driver: create_async_engine says so
    assert not lazy_engine_ok("postgresql+asyncpg://u@127.0.0.1:1/x")
    with pytest.raises(Exception, match="async"):
        Database(f"sqlite:///{tmp_path / 'a.db'}", lazy=True)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:////abs/dir/fakeai.db",
        "sqlite+aiosqlite:///relative.db",
        "sqlite+aiosqlite:///",
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "sqlite:////a:b/c@d/e#f.db",
        "sqlite+aiosqlite:////with space/x.db",
        "sqlite+aiosqlite:////escaped%20name.db",
        "sqlite+aiosqlite:////x.db?mode=ro",
        "postgresql+asyncpg://user:p%40ss@127.0.0.1:5432/test",
    ],
)
def test_urls_read_without_sqlalchemy_as_sqlalchemy_reads_them(url):
    parsed = make_url(url)
    assert backend_and_database(url) == (parsed.get_backend_name(), parsed.database)
