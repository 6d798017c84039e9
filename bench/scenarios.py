"""The requests each benchmark scenario sends, and its floor (FakeAI / baseline)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec


@dataclass(frozen=True)
class Scenario:
    name: str
    fakeai_path: str
    body: bytes
    floor: float
    stream: bool = False
    baseline_path: str = "/v1/chat/completions"
    baseline_body: bytes = b"{}"


_chat = {
    "model": "openai/gpt-4o-mini",
    "messages": [{"role": "user", "content": "Summarise the history of the printing press in a paragraph."}],
    "max_tokens": 100,
}
_stream = {**_chat, "stream": True, "max_tokens": 100, "min_tokens": 100, "ignore_eos": True}

SCENARIOS = [
    Scenario("chat", "/v1/chat/completions", msgspec.json.encode(_chat), 0.6),
    Scenario("stream", "/v1/chat/completions", msgspec.json.encode(_stream), 0.6, stream=True,
             baseline_path="/v1/stream"),
    Scenario("embeddings", "/v1/embeddings", msgspec.json.encode(
        {"model": "text-embedding-3-small", "input": [f"benchmark sentence number {i} about retrieval" for i in range(16)],
         "encoding_format": "float"}), 0.5),
    Scenario("ranking", "/v1/ranking", msgspec.json.encode(
        {"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": {"text": "what is machine learning"},
         "passages": [{"text": f"passage {i} about learning machines and statistics"} for i in range(10)]}), 0.5),
]
