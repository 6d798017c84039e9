"""Every ``fakeai cassettes`` and ``fakeai db`` command against a PostgreSQL database, and cassettes
moved between PostgreSQL and SQLite with export/import (the README's recipe), byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from fakeai.cassettes.server_process import ServerProcess, free_port
from fakeai.settings import DEFAULT_API_KEYS
from tests.databases import pg_database

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEYS[0]}"}


def fakeai(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEAI_")}
    env["COLUMNS"] = "220"
    return subprocess.run([sys.executable, "-m", "fakeai", *args], capture_output=True, text=True, timeout=120, env=env)


def ok(*args: str) -> str:
    result = fakeai(*args)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def recorded(live_server):  # noqa: ANN201
    """A PostgreSQL database holding three cassettes recorded through a real recording server."""
    with pg_database() as url:
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello rivers"}], "max_tokens": 5}
        with ServerProcess("--mode", "record", "--upstream", live_server.base_url, db=url) as recorder:
            answers = [
                httpx.post(recorder.base_url + "/chat/completions", json=chat, headers=AUTH, timeout=30),
                httpx.post(recorder.base_url + "/chat/completions", json={**chat, "stream": True}, headers=AUTH, timeout=30),
                httpx.get(recorder.base_url + "/models", headers=AUTH, timeout=30),
            ]
        assert [a.status_code for a in answers] == [200, 200, 200]
        yield url, {a.headers["x-fakeai-request-hash"]: a.content for a in answers}


def test_every_cassettes_command_works_on_postgresql(recorded, tmp_path) -> None:  # noqa: ANN001
    url, answers = recorded
    listed = json.loads(ok("cassettes", "list", "--db", url, "--json"))
    assert sorted(c["key"] for c in listed) == sorted(answers)
    some = sorted(answers)[0]
    assert some[:12] in ok("cassettes", "show", some[:8], "--db", url)
    stats = json.loads(ok("cassettes", "stats", "--db", url, "--json"))
    assert stats["total"]["cassettes"] == 3
    assert fakeai("cassettes", "scan", "--db", url).returncode == 0
    assert "would prune 3 cassettes" in ok("cassettes", "prune", "--unused-since", "2999-01-01", "--dry-run", "--db", url)
    assert json.loads(ok("cassettes", "prune", "--older-than", "30d", "--json", "--db", url))["cassettes"] == 0
    assert fakeai("db", "current", "--db", url).stdout.strip() == ok("db", "upgrade", "--db", url).split()[-1]

    # PostgreSQL → files → SQLite → files: the same files, then back into PostgreSQL after a delete.
    from_pg, from_sqlite = tmp_path / "from-pg", tmp_path / "from-sqlite"
    ok("cassettes", "export", "--db", url, "--out", str(from_pg))
    sqlite_db = str(tmp_path / "moved.db")
    ok("cassettes", "import", str(from_pg), "--db", sqlite_db)
    ok("cassettes", "export", "--db", sqlite_db, "--out", str(from_sqlite))
    files = sorted(p.relative_to(from_pg) for p in from_pg.rglob("*.json"))
    assert len(files) == 3 and files == sorted(p.relative_to(from_sqlite) for p in from_sqlite.rglob("*.json"))
    assert all((from_pg / f).read_bytes() == (from_sqlite / f).read_bytes() for f in files)
    ok("cassettes", "delete", some[:10], "--db", url)
    assert len(json.loads(ok("cassettes", "list", "--db", url, "--json"))) == 2
    imported = json.loads(ok("cassettes", "import", str(from_sqlite), "--db", url, "--json"))
    assert imported["inserted"] == 1
    # ... and the moved cassettes replay byte for byte from SQLite.
    with ServerProcess("--mode", "replay", db=sqlite_db) as replay:
        assert httpx.get(replay.base_url + "/models", headers=AUTH, timeout=30).content in answers.values()


def test_a_wrong_url_is_one_line_with_the_password_masked() -> None:
    refused = f"postgresql+asyncpg://fakeai:s3cret-pw@127.0.0.1:{free_port()}/nothing"
    for args in (("serve", "--db", refused), ("cassettes", "list", "--db", refused), ("db", "upgrade", "--db", refused)):
        result = fakeai(*args)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("fakeai: error:"), (args, result.stderr)
        assert "s3cret-pw" not in result.stderr + result.stdout and "Traceback" not in result.stderr
        assert "refused" in lines[0].lower() or "connect" in lines[0].lower(), lines[0]
