"""Where FakeAI keeps things by default (issue 12, part 6): the database in ``.fakeai/`` (which keeps
itself out of git), exported cassette files in ``cassettes/`` — so committing the cassette folder, as
the README suggests, never sweeps the database in."""

from __future__ import annotations

import os
import subprocess
import sys


def fakeai(cwd, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEAI_")}
    return subprocess.run([sys.executable, "-m", "fakeai", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=env)


def test_default_database_lives_apart_from_exported_cassettes(tmp_path):
    assert fakeai(tmp_path, "db", "upgrade").returncode == 0
    assert (tmp_path / ".fakeai" / "fakeai.db").is_file()
    ignore = (tmp_path / ".fakeai" / ".gitignore").read_text()
    assert "*" in ignore.splitlines()  # the state directory ignores itself, as .pytest_cache does
    rows = subprocess.run(
        [sys.executable, "-c", "import sqlite3; print(sqlite3.connect('.fakeai/fakeai.db').execute("
         "'select count(*) from cassettes').fetchone()[0])"], cwd=tmp_path, capture_output=True, text=True)
    assert rows.stdout.strip() == "0"
    export = fakeai(tmp_path, "cassettes", "export")
    assert export.returncode == 0, export.stderr
    exported = tmp_path / "cassettes"
    assert exported.is_dir() or "0 cassettes" in export.stdout
    everything = [p.name for p in tmp_path.rglob("*") if p.is_file() and ".fakeai" not in p.parts]
    assert not [name for name in everything if ".db" in name], everything
