import sqlite3
import threading

from alembic.script import ScriptDirectory

from fakeai.store.engine import SCHEMA_HEAD, alembic_config, current_revision, upgrade_database


def test_schema_head_constant_matches_alembic(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    assert ScriptDirectory.from_config(alembic_config(url)).get_current_head() == SCHEMA_HEAD


def test_concurrent_upgrades_of_one_file_all_succeed(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            upgrade_database(url)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert current_revision(url) == SCHEMA_HEAD
    tables = {r[0] for r in sqlite3.connect(tmp_path / "race.db").execute("select name from sqlite_master")}
    assert {"cassettes", "files", "file_bytes", "responses", "images"} <= tables


def test_downgrade_to_base_and_back(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'dg.db'}"
    upgrade_database(url)
    from alembic import command

    command.downgrade(alembic_config(url), "base")
    assert current_revision(url) is None
    upgrade_database(url)
    assert current_revision(url) == SCHEMA_HEAD
