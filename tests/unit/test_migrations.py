import sqlite3
import threading

from alembic.script import ScriptDirectory

from fakeai.store.engine import alembic_config, current_revision
from fakeai.store.upgrade import SCHEMA_HEAD, upgrade_database


def test_schema_head_constant_matches_alembic(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    assert ScriptDirectory.from_config(alembic_config(url)).get_current_head() == SCHEMA_HEAD


def _upgrade_at_once(url: str, callers: int = 4) -> list[BaseException]:
    """``callers`` threads upgrading ``url`` at the same moment; what any of them raised."""
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            upgrade_database(url)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_upgrades_of_one_file_all_succeed(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    assert _upgrade_at_once(url) == []
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


def test_replicas_upgrading_one_database_at_once_upgrade_it_once(db_url):
    # SQLite under its lock file, PostgreSQL under an advisory lock: every caller succeeds, the
    # tables exist once, and a second upgrade finds nothing to do.
    assert _upgrade_at_once(db_url) == []
    assert current_revision(db_url) == SCHEMA_HEAD
    from fakeai.store.engine import sync_engine
    import sqlalchemy as sa

    engine = sync_engine(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            versions = conn.execute(sa.text("select count(*) from alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert {"cassettes", "files", "file_bytes", "responses", "images", "episode_cursors"} <= tables
    assert versions == 1


def test_downgrade_to_base_and_back_on_both_databases(db_url):
    from alembic import command

    upgrade_database(db_url)
    command.downgrade(alembic_config(db_url), "base")
    assert current_revision(db_url) is None
    upgrade_database(db_url)
    assert current_revision(db_url) == SCHEMA_HEAD


def test_an_unreachable_database_is_recognised_as_unavailable():
    import asyncio

    from fakeai.cassettes.server_process import free_port
    from fakeai.store import Database
    from fakeai.store import cassettes as store
    from fakeai.store.faults import is_unavailable

    async def run() -> BaseException:
        db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing")
        try:
            await store.count(db)
        except Exception as exc:  # noqa: BLE001 - the point of the test
            return exc
        finally:
            await db.dispose()
        raise AssertionError("nothing listens there")

    assert is_unavailable(asyncio.run(run()))
    assert not is_unavailable(ValueError("a bug"))
    assert not is_unavailable(FileNotFoundError(2, "no such file"))  # not a connection
