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
    # Many different bodies, cycled through by wrk, so no per-worker cache of recent answers helps.
    distinct: tuple[bytes, ...] = ()


_chat = {
    "model": "openai/gpt-4o-mini",
    "messages": [{"role": "user", "content": "Summarise the history of the printing press in a paragraph."}],
    "max_tokens": 100,
}
_stream = {**_chat, "stream": True, "max_tokens": 100, "min_tokens": 100, "ignore_eos": True}

# The chat (#11): a reasoning model, 50 tokens, against a bare app sending FakeAI's own answer.
_chat_oss = {
    "model": "openai/gpt-oss-120b",
    "messages": [{"role": "user", "content": "Summarise the history of the printing press in a paragraph."}],
    "max_tokens": 50,
}

SCENARIOS = [
    Scenario("chat", "/v1/chat/completions", msgspec.json.encode(_chat), 0.6),
    Scenario("chat-oss", "/v1/chat/completions", msgspec.json.encode(_chat_oss), 0.8,
             baseline_path="/v1/fixed/chat-oss"),
    Scenario("stream", "/v1/chat/completions", msgspec.json.encode(_stream), 0.6, stream=True,
             baseline_path="/v1/stream"),
]

# Embeddings and ranking are compared with a bare app sending the same bytes FakeAI sends (saved once
# at the start of the run): 16 vectors of 1536 floats are ~0.5 MB of JSON, and what we measure is what
# FakeAI adds on top of moving those bytes. base64 is what the openai SDK asks for by default.
_texts = [f"benchmark sentence number {i} about vector retrieval and ranking" for i in range(16)]
for _fmt in ("base64", "float"):
    SCENARIOS.append(
        Scenario(f"emb-{_fmt}", "/v1/embeddings", msgspec.json.encode(
            {"model": "text-embedding-3-small", "input": _texts, "encoding_format": _fmt}), 0.5,
            baseline_path=f"/v1/fixed/emb-{_fmt}")
    )
SCENARIOS.append(
    Scenario("ranking", "/v1/ranking", msgspec.json.encode(
        {"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": {"text": "what is machine learning"},
         "passages": [{"text": f"passage {i} about learning machines and statistics"} for i in range(10)]}), 0.5,
        baseline_path="/v1/fixed/ranking")
)

# The same requests with 3,000 distinct bodies: what a load test with a real corpus sends.
DISTINCT = 3000
_emb_distinct = tuple(
    msgspec.json.encode({"model": "text-embedding-3-small", "encoding_format": "base64",
                         "input": [f"{t} (variant {j})" for t in _texts]})
    for j in range(DISTINCT)
)
SCENARIOS.append(
    Scenario("emb-distinct", "/v1/embeddings", _emb_distinct[0], 0.5, baseline_path="/v1/fixed/emb-distinct",
             distinct=_emb_distinct)
)
_rank_distinct = tuple(
    msgspec.json.encode({"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": {"text": f"what is machine learning {j}"},
                         "passages": [{"text": f"passage {i} about learning machines and statistics, take {j}"}
                                      for i in range(10)]})
    for j in range(DISTINCT)
)
SCENARIOS.append(
    Scenario("rank-distinct", "/v1/ranking", _rank_distinct[0], 0.6, baseline_path="/v1/fixed/rank-distinct",
             distinct=_rank_distinct)
)

# Anthropic's Messages API against a bare app sending the same bytes: the whole message, and the same
# stream event by event (one SSE event per send, as FakeAI sends them). The answer is a function of the
# conversation, so every request streams the same number of events.
_messages = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "Summarise the history of the printing press in a paragraph."}],
}
SCENARIOS.append(Scenario("messages", "/v1/messages", msgspec.json.encode(_messages), 0.6,
                          baseline_path="/v1/fixed/messages"))
SCENARIOS.append(Scenario("msg-stream", "/v1/messages", msgspec.json.encode({**_messages, "stream": True}), 0.6,
                          stream=True, baseline_path="/v1/fixed-stream/msg-stream"))
