"""Streams on the engine clock are written by its step straight to the connection (``EngineStream.push``):
the same events, framed as uvicorn frames them, as an unpaced stream of the same request."""

from __future__ import annotations

import re

import httpx
import pytest

ANTHROPIC_KEY = "sk-ant-fakeai-1234567890abcdef"
VOLATILE = re.compile(rb'"(id|created|created_at|system_fingerprint)":("[^"]*"|\d+)')  # per process or per call
MSGS = [{"role": "user", "content": "Describe a harbour at dawn."}]
CASES = {
    "chat": ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": MSGS, "max_tokens": 30, "n": 2, "seed": 7,
                                      "stream_options": {"include_usage": True}}),
    "completions": ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon a time", "seed": 7,
                                        "max_tokens": 25}),
    "messages": ("/v1/messages", {"model": "claude-sonnet-4-5", "messages": MSGS, "max_tokens": 25}),
}


def _events(server, path: str, body: dict) -> list[bytes]:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {server.api_key}", "x-api-key": ANTHROPIC_KEY,
               "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", server.root_url + path, json={**body, "stream": True}, headers=headers,
                      timeout=30) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["transfer-encoding"] == "chunked"
        raw = r.read()  # httpx checks the chunked framing on the way
    return [VOLATILE.sub(rb'"\1":_', e) for e in raw.split(b"\n\n") if e.strip()]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_paced_stream_sends_the_events_an_unpaced_one_sends(start_server, case):  # noqa: ANN001
    path, body = CASES[case]
    unpaced = _events(start_server(), path, body)
    paced_server = start_server("--ttft-ms", "5", "--itl-ms", "3")
    paced = _events(paced_server, path, body)
    assert len(paced) > 20 and paced == unpaced
    again = _events(paced_server, path, body)  # the connection's state after a pushed stream: a clean second one
    assert again == paced
