"""The pytest plugin, driven the way a user drives it: a small test suite using ``fakeai_server``,
run by pytester in a subprocess — recorded from a synthetic FakeAI upstream, then replayed with no
upstream at all, then a request that was never recorded failing with the miss message."""

from __future__ import annotations

import json

import httpcore  # noqa: F401 - imported before pytester snapshots sys.modules: a re-import after its
import pytest  #   restore would give httpcore errors httpx no longer recognises (an ordering trap)

from fakeai.cassettes.server_process import ServerProcess

pytest_plugins = ["pytester"]

SUITE = '''
def test_chat(fakeai_server):
    answer = fakeai_server.client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Name a colour"}], max_tokens=8
    )
    print("MODE=" + fakeai_server.mode, "BASE=" + fakeai_server.base_url)
    print("ANSWER=" + answer.choices[0].message.content)
    assert answer.choices[0].message.content


def test_stream(fakeai_server):
    stream = fakeai_server.client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Count to three"}], max_tokens=6, stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    print("STREAMED=" + text)
    assert text


def test_base_url(fakeai_server):
    assert fakeai_server.base_url.startswith("http://127.0.0.1:") and fakeai_server.base_url.endswith("/v1")
    assert fakeai_server.client.base_url.host == "127.0.0.1"
    assert fakeai_server.client.max_retries == 0
'''

MISS = '''
def test_never_recorded(fakeai_server):
    fakeai_server.client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "A question nobody recorded"}]
    )
'''


@pytest.fixture
def upstream(tmp_path):
    # One per test: the first test stops its upstream to prove replay needs none.
    with ServerProcess(db=str(tmp_path / "up.db")) as server:
        yield server


def lines_with(result, prefix: str) -> list[str]:
    return [line.split(prefix, 1)[1] for line in result.outlines if prefix in line]


def test_record_then_replay_without_upstream_then_a_miss(pytester, upstream, tmp_path):
    pytester.makepyfile(test_suite=SUITE)
    cassettes = tmp_path / "cassettes"

    recorded = pytester.runpytest_subprocess(
        "-s", "--fakeai-mode", "record", "--fakeai-upstream", upstream.base_url, "--fakeai-cassettes", str(cassettes)
    )
    recorded.assert_outcomes(passed=3)
    assert lines_with(recorded, "MODE=")[0].startswith("record")
    recorded.stdout.fnmatch_lines([f"fakeai: recorded 2 cassettes into {cassettes} (2 written, 0 unchanged)"])
    files = sorted(p.relative_to(cassettes).as_posix() for p in cassettes.rglob("*.json"))
    assert len(files) == 2 and all(f.startswith("chat-completions/") for f in files)
    stream_file = next(
        json.loads(p.read_text()) for p in cassettes.rglob("*.json") if "Count to three" in p.read_text()
    )
    assert stream_file["episodes"][0]["stream"] is True

    # No --fakeai-mode: a directory with cassettes means replay; no upstream is given or running.
    # The same run has one test whose request was never recorded.
    upstream.stop()
    pytester.makepyfile(test_miss=MISS)
    replayed = pytester.runpytest_subprocess("-s", "--fakeai-cassettes", str(cassettes))
    replayed.assert_outcomes(passed=3, failed=1)
    assert lines_with(replayed, "MODE=")[0].startswith("replay")
    assert lines_with(replayed, "ANSWER=") == lines_with(recorded, "ANSWER=")
    assert lines_with(replayed, "STREAMED=") == lines_with(recorded, "STREAMED=")
    missed = replayed
    missed.stdout.fnmatch_lines(
        [
            "*test_never_recorded*",
            "*fakeai cassette miss*",
            "No cassette recorded for POST /v1/chat/completions (request hash *",
            "*Record it with: pytest --fakeai-mode record --fakeai-upstream URL*",
        ]
    )
    assert "differs in:" in missed.stdout.str() and "body.messages.0.content" in missed.stdout.str()


def test_the_recorded_line_shows_without_s(pytester, tmp_path):
    # Captured output is the default: the export line must still reach the terminal.
    pytester.makepyfile(test_one='''
def test_one(fakeai_server):
    assert fakeai_server.client.models.list().data
''')
    with ServerProcess(db=str(tmp_path / "up.db")) as up:
        result = pytester.runpytest_subprocess("--fakeai-mode", "record", "--fakeai-upstream", up.base_url,
                                               "--fakeai-cassettes", str(tmp_path / "cassettes"))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"fakeai: recorded 1 cassette into {tmp_path / 'cassettes'} (1 written, *"])


def test_empty_directory_means_synthetic_and_record_needs_an_upstream(pytester, tmp_path):
    pytester.makepyfile(test_suite=SUITE)
    empty = tmp_path / "empty"
    synthetic = pytester.runpytest_subprocess("-s", "--fakeai-cassettes", str(empty), "-k", "chat or base_url")
    synthetic.assert_outcomes(passed=2)
    assert lines_with(synthetic, "MODE=")[0].startswith("synthetic")
    assert not empty.exists()

    no_upstream = pytester.runpytest_subprocess("--fakeai-mode", "record", "--fakeai-cassettes", str(empty), "-k", "chat")
    no_upstream.assert_outcomes(errors=1)
    no_upstream.stdout.fnmatch_lines(["*--fakeai-mode record needs --fakeai-upstream URL*"])


def test_a_suite_without_the_fixture_does_not_start_fakeai(pytester):
    pytester.makepyfile(
        test_plain="""
import sys

def test_nothing_heavy_imported():
    assert "openai" not in sys.modules and "fakeai.cassettes.server_process" not in sys.modules
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_fixture_pointed_at_a_postgresql_database(pytester, tmp_path):
    # Read through a plain psycopg connection: no database driver is first imported in this test
    # (pytester removes modules a test imported, and a C extension imported again crashes).
    from tests.databases import pg_admin_connection, pg_database

    def count(url: str) -> int:
        with pg_admin_connection(url) as conn:
            return conn.execute("select count(*) from cassettes").fetchone()[0]

    def hits(url: str) -> int:
        with pg_admin_connection(url) as conn:
            return conn.execute("select coalesce(sum(hits), 0) from cassettes").fetchone()[0]

    pytester.makepyfile(test_suite=SUITE)
    cassettes = tmp_path / "cassettes"
    with pg_database() as url, ServerProcess(db=str(tmp_path / "up.db")) as upstream:
        recorded = pytester.runpytest_subprocess(
            "-s", "--fakeai-mode", "record", "--fakeai-upstream", upstream.base_url,
            "--fakeai-cassettes", str(cassettes), "--fakeai-db", url, "-k", "chat or stream",
        )
        recorded.assert_outcomes(passed=2)
        assert count(url) == 2  # recorded into PostgreSQL ...
        assert len(list(cassettes.rglob("*.json"))) == 2  # ... and exported from it
        upstream.stop()
        replayed = pytester.runpytest_subprocess("-s", "--fakeai-cassettes", str(cassettes), "--fakeai-db", url, "-k", "chat or stream")
        replayed.assert_outcomes(passed=2)
        assert hits(url) >= 2  # replayed from the PostgreSQL database
        assert lines_with(replayed, "MODE=")[0].startswith("replay")
        assert lines_with(replayed, "ANSWER=") == lines_with(recorded, "ANSWER=")


def test_recording_with_an_upstream_key_gives_the_session_a_key_of_its_own(pytester, upstream, tmp_path, monkeypatch):
    """With FAKEAI_UPSTREAM_API_KEY the recorder spends a real key, so the public keys are off: the
    fixture's client must still get in (with a key made for the session), and nothing else does."""
    monkeypatch.setenv("FAKEAI_UPSTREAM_API_KEY", upstream.api_key)  # the upstream's real key
    pytester.makepyfile(
        test_keyed=SUITE
        + '''
def test_public_key_is_refused(fakeai_server):
    import openai, pytest
    assert not fakeai_server.api_key.startswith("sk-fakeai-1234")
    public = openai.OpenAI(api_key="sk-fakeai-1234567890abcdef", base_url=fakeai_server.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        public.models.list()
'''
    )
    result = pytester.runpytest_subprocess(
        "--fakeai-mode", "record", "--fakeai-upstream", upstream.base_url, "--fakeai-cassettes", str(tmp_path / "c")
    )
    result.assert_outcomes(passed=4)
