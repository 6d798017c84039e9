"""Faults in record and replay modes: never forwarded, never stored, no cassette consumed."""

from __future__ import annotations

import sqlite3

import httpx
import openai
import pytest

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Name a river."}], "max_tokens": 20}


def cassette_rows(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT key, episode, status, body, events FROM cassettes ORDER BY key, episode").fetchall()


def upstream_chats(upstream) -> int:  # noqa: ANN001
    return httpx.get(upstream.root_url + "/metrics").json()["requests"].get("/v1/chat/completions", 0)


def test_faults_over_record_and_replay_leave_cassettes_and_episode_order(start_server, live_server, tmp_path) -> None:  # noqa: ANN001
    db = str(tmp_path / "cassettes.db")
    recorder = start_server("--mode", "record", "--upstream", live_server.base_url, db=db)
    client = recorder.client()
    forwarded = upstream_chats(live_server)
    for fault in ("server_error", "rate_limit", "stream_cut", "malformed", "stream_error", "disconnect"):
        with pytest.raises((openai.APIError, ValueError)):
            raw = client.chat.completions.with_raw_response.create(**CHAT, extra_headers={"x-fakeai-fault": fault})
            raw.parse()
    assert upstream_chats(live_server) == forwarded and cassette_rows(db) == []  # not forwarded, not stored
    episodes = [client.chat.completions.create(**CHAT).choices[0].message.content for _ in range(2)]
    streamed = client.chat.completions.create(**CHAT, stream=True, extra_headers={"x-fakeai-fault": "none"})
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert episodes[0] != episodes[1] and upstream_chats(live_server) == forwarded + 3
    recorder.stop()
    recorded = cassette_rows(db)
    assert len(recorded) == 3

    replayer = start_server("--mode", "replay", "--fault-rate", "1", "--fault-types", "server_error,stream_cut,malformed",
                            "--fault-seed", "5", db=db)
    client = replayer.client()
    for _ in range(4):  # every request meets a fault; none may move the cursor
        with pytest.raises((openai.APIError, ValueError)):
            client.chat.completions.with_raw_response.create(**CHAT).parse()
    damaged = httpx.post(replayer.base_url + "/chat/completions", json=CHAT,
                         headers={"Authorization": f"Bearer {replayer.api_key}", "x-fakeai-fault": "malformed"})
    assert damaged.status_code == 200 and damaged.headers["x-fakeai-source"] == "replay"
    first_episode = {(row[0], row[1]): row[3] for row in recorded}[(damaged.headers["x-fakeai-request-hash"], 0)]
    assert first_episode.startswith(damaged.content) and len(damaged.content) < len(first_episode)  # episode 0, cut
    exempt = {"x-fakeai-fault": "none"}
    replayed = [client.chat.completions.create(**CHAT, extra_headers=exempt).choices[0].message.content for _ in range(2)]
    assert replayed == episodes  # episode 0 then 1, as recorded
    stream = client.chat.completions.create(**CHAT, stream=True, extra_headers={"x-fakeai-fault": "stream_cut",
                                                                               "x-fakeai-fault-after": "2"})
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    replayer.stop()
    assert cassette_rows(db) == recorded
