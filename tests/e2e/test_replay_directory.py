"""``fakeai serve --mode replay --cassettes DIR`` serves exactly what DIR holds (issue 12, part 5).

The files go into a temporary database for the run, so a cassette deleted from DIR (or never
committed) is a miss even when --db still holds it from an earlier run; --keep-cassettes is the
explicit way to import into --db. Nothing is imported when the server cannot bind its port.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fakeai.cassettes.server_process import ServerProcess, free_port
from fakeai.settings import DEFAULT_API_KEYS

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEYS[0]}"}
PROMPTS = ("rivers", "mountains", "deserts")


def fakeai(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEAI_")}
    return subprocess.run([sys.executable, "-m", "fakeai", *args], capture_output=True, text=True, timeout=60,
                          env=env)


def ask(base_url: str, prompt: str) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Tell me about {prompt}"}], "seed": 1}
    return httpx.post(base_url + "/chat/completions", json=body, headers=AUTH, timeout=30)


def cassette_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM cassettes").fetchone()[0]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, live_server) -> dict:
    """Three recorded chat answers, exported into a directory (one file each)."""
    root = tmp_path_factory.mktemp("replaydir")
    db = root / "recorded.db"
    answers = {}
    with ServerProcess("--mode", "record", "--upstream", live_server.base_url, db=str(db)) as recorder:
        for prompt in PROMPTS:
            r = ask(recorder.base_url, prompt)
            assert r.status_code == 200, r.text
            answers[prompt] = (r.content, r.headers["x-fakeai-request-hash"])
    out = root / "exported"
    result = fakeai("cassettes", "export", "--db", str(db), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(list(out.rglob("*.json"))) == 3
    return {"dir": out, "answers": answers, "root": root}


def _copy_without(exported: dict, tmp_path: Path, prompt: str) -> Path:
    import shutil

    target = tmp_path / "cassettes"
    shutil.copytree(exported["dir"], target)
    key = exported["answers"][prompt][1]
    [victim] = list(target.rglob(f"{key[:12]}.json"))
    victim.unlink()
    return target


def test_a_file_deleted_from_the_directory_is_a_miss(exported, tmp_path):
    db = tmp_path / "ci.db"
    # First a run with the whole directory, as before the file was deleted: with the old behaviour
    # the cassettes stayed in --db and the next run still answered the deleted one.
    with ServerProcess("--mode", "replay", "--cassettes", str(exported["dir"]), db=str(db)) as full:
        for prompt in PROMPTS:
            r = ask(full.base_url, prompt)
            assert r.status_code == 200 and r.content == exported["answers"][prompt][0]
    directory = _copy_without(exported, tmp_path, "mountains")
    with ServerProcess("--mode", "replay", "--cassettes", str(directory), db=str(db)) as ci:
        missing = ask(ci.base_url, "mountains")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "cassette_not_found"
        for prompt in ("rivers", "deserts"):
            r = ask(ci.base_url, prompt)
            assert r.status_code == 200 and r.content == exported["answers"][prompt][0]
    assert not db.exists() or cassette_count(db) == 0  # --db was never written


def test_keep_cassettes_imports_into_db_and_serves_all_it_holds(exported, tmp_path):
    db = tmp_path / "kept.db"
    with ServerProcess("--mode", "replay", "--cassettes", str(exported["dir"]), "--keep-cassettes", db=str(db)):
        pass
    assert cassette_count(db) == 3
    directory = _copy_without(exported, tmp_path, "mountains")
    with ServerProcess("--mode", "replay", "--cassettes", str(directory), "--keep-cassettes", db=str(db)) as kept:
        assert ask(kept.base_url, "mountains").status_code == 200  # asked for: --db's cassettes are served too


def test_nothing_is_imported_when_the_port_is_taken(exported, tmp_path):
    db = tmp_path / "never.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for extra in ([], ["--keep-cassettes"]):
            result = fakeai("serve", "--port", port, "--db", str(db), "--mode", "replay",
                            "--cassettes", str(exported["dir"]), *extra)
            assert result.returncode == 2, result.stderr
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], result.stderr
    assert not db.exists()


def test_recording_beside_a_directory_needs_keep_cassettes(exported, tmp_path):
    result = fakeai("serve", "--port", str(free_port()), "--db", str(tmp_path / "x.db"), "--mode", "replay",
                    "--on-miss", "record", "--upstream", "http://127.0.0.1:9/v1", "--cassettes", str(exported["dir"]))
    assert result.returncode == 2 and "--keep-cassettes" in result.stderr
    assert not (tmp_path / "x.db").exists()
