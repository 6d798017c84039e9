"""The ``fakeai cassettes`` helpers that need no server: dates and ages, big tables, stream text."""

from __future__ import annotations

import datetime as dt
import json

import click
import pytest
from click.testing import CliRunner

from fakeai.cassettes.cli import cassettes
from fakeai.cassettes.options import parse_when
from fakeai.cassettes.view import stream_summary
from fakeai.settings import Settings
from fakeai.store.cassette_admin import CassetteAdmin

NOW = dt.datetime(2026, 11, 25, 12, 0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", dt.datetime(2026, 11, 1)),
        ("2026-11-01T10:00:00+02:00", dt.datetime(2026, 11, 1, 8, 0, 0)),
        ("2026-11-01T10:00:00Z", dt.datetime(2026, 11, 1, 10, 0, 0)),
        ("30d", NOW - dt.timedelta(days=30)),
        ("12h", NOW - dt.timedelta(hours=12)),
        ("90m", NOW - dt.timedelta(minutes=90)),
        ("2w", NOW - dt.timedelta(weeks=2)),
    ],
)
def test_dates_and_ages(text, expected):
    assert parse_when(text, "--since", now=NOW) == expected


def test_a_bad_date_is_a_click_error():
    with pytest.raises(click.ClickException, match="--since: 'yesterday' is neither"):
        parse_when("yesterday", "--since")


def test_stream_text_for_chat_completions_and_responses():
    events = [
        {"t": 1.0, "data": {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}},
        {"t": 2.5, "data": {"choices": [{"index": 0, "delta": {"content": "Hel"}}, {"index": 1, "delta": {"content": "A"}}]}},
        {"t": 3.0, "data": {"choices": [{"index": 0, "text": "lo"}]}},
        {"t": 3.5, "event": "response.output_text.delta", "data": {"type": "response.output_text.delta", "delta": "!"}},
        {"t": 4.0, "text": "[DONE]"},
    ]
    assert stream_summary(events) == {"events": 5, "text": {"0": "Hello!", "1": "A"}, "ttft_ms": 2.5, "total_ms": 4.0}


def test_a_big_list_prints_plain_aligned_rows(tmp_path):
    db = str(tmp_path / "big.db")
    row = {
        "method": "POST",
        "path": "/v1/embeddings",
        "request": b"{}",
        "model": "m",
        "upstream": None,
        "status": 200,
        "headers": b"{}",
        "stream": False,
        "body": b"{}",
        "events": None,
        "size": 2,
        "recorded_at": NOW,
    }
    with CassetteAdmin(Settings(db=db).db_url, create=True) as admin:
        admin.upsert([{**row, "key": f"{i:064x}", "episode": 0} for i in range(350)])
    result = CliRunner().invoke(cassettes, ["list", "--db", db, "--wide"], catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "hash", "method", "path", "model", "status", "stream", "episodes", "size", "hits", "recorded_at", "last_used_at"
    ]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split()[:3] == ["000000000000", "POST", "/v1/embeddings"]
    assert lines[-1] == "350 cassettes, 350 episodes, 700 B"
    # --db defaults as serve's does: FAKEAI_DB, else .fakeai/fakeai.db.
    by_env = CliRunner().invoke(cassettes, ["stats", "--json"], env={"FAKEAI_DB": db}, catch_exceptions=False)
    assert json.loads(by_env.output)["total"]["cassettes"] == 350


def test_list_fits_80_columns_shortening_only_endpoint_and_model(tmp_path):
    db = str(tmp_path / "fit.db")
    row = {
        "method": "POST", "request": b"{}", "upstream": None, "status": 200, "headers": b"{}", "stream": False,
        "body": b"{}", "events": None, "size": 2048, "recorded_at": NOW,
    }
    long_model = "nvidia/llama-3.3-nemotron-super-49b-v1.5-instruct-long-name"
    rows = [
        {**row, "key": "a" * 64, "episode": 0, "path": "/v1/chat/completions", "model": long_model},
        {**row, "key": "b" * 64, "episode": 0, "path": "/v1/files/file-0123456789abcdef01234567/content",
         "method": "GET", "model": None},
        {**row, "key": "c" * 64, "episode": 0, "path": "/v1/embeddings", "model": "text-embedding-3-small"},
    ]
    with CassetteAdmin(Settings(db=db).db_url, create=True) as admin:
        admin.upsert(rows)
    narrow = CliRunner().invoke(cassettes, ["list", "--db", db], env={"COLUMNS": "80"}, catch_exceptions=False)
    lines = narrow.output.splitlines()
    assert all(len(line) <= 80 for line in lines), narrow.output
    assert lines[0].split() == ["hash", "endpoint", "model", "status", "eps", "size", "recorded"]
    chat = next(line for line in lines if line.startswith("aaaaaaaa "))
    assert "/chat/completions" in chat and "200" in chat and "2.0 KiB" in chat and "2026-11-25 12:00" in chat
    assert long_model not in chat and "llama-3.3" in chat  # shortened: the org goes first, then an ellipsis
    assert "GET /files/" in next(line for line in lines if line.startswith("bbbbbbbb "))
    # A pipe without COLUMNS shortens nothing (scripts get whole values); --wide has every column.
    piped = CliRunner().invoke(cassettes, ["list", "--db", db], env={"COLUMNS": None}, catch_exceptions=False)
    assert long_model in piped.output
    wide = CliRunner().invoke(cassettes, ["list", "--db", db, "--wide"], env={"COLUMNS": "80"}, catch_exceptions=False)
    for column in ("method", "stream", "hits", "last_used_at"):
        assert column in wide.output
