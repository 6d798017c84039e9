"""The pytest plugin with the anthropic SDK: ``fakeai_server.anthropic`` records, replays with no
upstream, and a replay miss gets the plugin's "fakeai cassette miss" section."""

from __future__ import annotations

import pytest

from fakeai.cassettes.server_process import ServerProcess

pytest_plugins = ["pytester"]

SUITE = '''
def test_claude(fakeai_server):
    message = fakeai_server.anthropic.messages.create(
        model="claude-haiku-4-5", max_tokens=30, messages=[{"role": "user", "content": "Name a river"}])
    print("ANSWER=" + message.content[0].text)
    with fakeai_server.anthropic.messages.stream(
        model="claude-haiku-4-5", max_tokens=30, messages=[{"role": "user", "content": "Name a lake"}]) as stream:
        print("STREAMED=" + "".join(stream.text_stream))
'''
MISS = '''
def test_never_recorded(fakeai_server):
    fakeai_server.anthropic.messages.create(
        model="claude-haiku-4-5", max_tokens=30, messages=[{"role": "user", "content": "Nobody asked this"}])
'''


def lines_with(result, prefix: str) -> list[str]:  # noqa: ANN001
    return [line.split(prefix, 1)[1] for line in result.outlines if prefix in line]


def test_anthropic_record_then_replay_then_a_miss(pytester, tmp_path):
    pytester.makepyfile(test_suite=SUITE)
    cassettes = tmp_path / "cassettes"
    with ServerProcess(db=str(tmp_path / "up.db")) as upstream:
        recorded = pytester.runpytest_subprocess(
            "-s", "--fakeai-mode", "record", "--fakeai-upstream", upstream.base_url, "--fakeai-cassettes", str(cassettes)
        )
    recorded.assert_outcomes(passed=1)
    assert sorted(p.parent.name for p in cassettes.rglob("*.json")) == ["messages", "messages"]
    pytester.makepyfile(test_miss=MISS)
    replayed = pytester.runpytest_subprocess("-s", "--fakeai-cassettes", str(cassettes))
    replayed.assert_outcomes(passed=1, failed=1)
    assert lines_with(replayed, "ANSWER=") == lines_with(recorded, "ANSWER=") != [""]
    assert lines_with(replayed, "STREAMED=") == lines_with(recorded, "STREAMED=")
    replayed.stdout.fnmatch_lines(["*fakeai cassette miss*", "No cassette recorded for POST /v1/messages (request hash *"])
