import subprocess
import sys

import pytest

from fakeai import __version__


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fakeai", *args], capture_output=True, text=True, timeout=60, env=env)


def test_version():
    r = run("--version")
    assert r.returncode == 0 and __version__ in r.stdout


@pytest.mark.parametrize(
    "args",
    [("serve", "--port", "abc"), ("serve", "--mode", "bogus"), ("serve", "--no-such-flag"), ("serve", "--workers", "0")],
)
def test_bad_serve_option_is_one_line_exit_2(args):
    r = run(*args)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fakeai: error:")
    assert "Traceback" not in r.stderr


def test_db_upgrade_creates_schema(tmp_path):
    db = tmp_path / "x.db"
    r = run("db", "upgrade", "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert db.exists()
    r = run("db", "current", "--db", str(db))
    assert r.returncode == 0 and r.stdout.strip() not in ("", "empty (never migrated)")


def test_models_through_sdk(client):
    ids = [m.id for m in client.models.list()]
    assert "openai/gpt-oss-120b" in ids
    assert client.models.retrieve("openai/gpt-oss-120b").owned_by == "openai"


def test_sdk_raises_matching_errors(live_server):
    import openai

    bad = openai.OpenAI(api_key="sk-wrong", base_url=live_server.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    with pytest.raises(openai.NotFoundError) as info:
        live_server.client().models.retrieve("no/such-model")
    assert "no/such-model" in str(info.value)
