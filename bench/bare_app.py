"""The baseline: a bare Litestar app that answers fixed bytes, as fast as Litestar + uvicorn can.

FakeAI's figures are reported as ratios against this app on the same machine in the same run.
Run: uvicorn bench.bare_app:app --port N
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
from litestar import Litestar, Request, Response, post
from litestar.response import Stream

CHAT = msgspec.json.encode(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "openai/gpt-oss-120b",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The quick brown fox jumps over the lazy dog. " * 8},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 100, "total_tokens": 120},
    }
)

CHUNK = (
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
    b'"model":"openai/gpt-oss-120b","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}\n\n'
)
STREAM_CHUNKS = 100


@post("/v1/chat/completions", status_code=200)
async def chat(request: Request) -> Response:
    await request.body()  # read the body, as a real handler must
    return Response(content=CHAT, media_type="application/json")


async def _events() -> AsyncIterator[bytes]:
    for _ in range(STREAM_CHUNKS):
        yield CHUNK
    yield b"data: [DONE]\n\n"


@post("/v1/stream", status_code=200)
async def stream(request: Request) -> Stream:
    await request.body()
    return Stream(content=_events(), media_type="text/event-stream")


# The engine clock's baseline (bench/engine_timing.py --baseline): what the issue calls "a bare Litestar +
# uvicorn endpoint", pacing a stream the plain way: one sleep per token to an absolute deadline
# (BENCH_TTFT_MS, then BENCH_ITL_MS apart), ``max_tokens`` chunks of one word. Under the stream-timing client's URL
# prefix, since the client always posts to <url>/v1/chat/completions.
PACED_TTFT = float(os.environ.get("BENCH_TTFT_MS", "200")) / 1000
PACED_ITL = float(os.environ.get("BENCH_ITL_MS", "20")) / 1000
# One token per chunk for aiperf too: it counts output tokens by tokenizing the text, with a tokenizer
# trained on FakeAI's prose (bench/aiperf.py), in which " the" is one token and " word" is three.
PACED_CHUNK = CHUNK.replace(b'" word"', b'" the"')


async def _paced_events(tokens: int) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    at = loop.time() + PACED_TTFT
    for _ in range(tokens):
        await asyncio.sleep(max(0.0, at - loop.time()))
        at += PACED_ITL
        yield PACED_CHUNK
    yield b"data: [DONE]\n\n"


@post("/paced/v1/chat/completions", status_code=200)
async def paced(request: Request) -> Stream:
    body = msgspec.json.decode(await request.body())
    tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 16)  # aiperf sends the former
    return Stream(content=_paced_events(tokens), media_type="text/event-stream")


# Same-size baselines: bench/run.py saves one FakeAI answer per scenario here (BENCH_FIXED_DIR), so an
# endpoint whose answers are large (16 embeddings) is compared with a bare app sending the same bytes.
FIXED = {p.stem: p.read_bytes() for p in Path(os.environ.get("BENCH_FIXED_DIR", "/nonexistent")).glob("*.json")}


@post("/v1/fixed/{name:str}", status_code=200)
async def fixed(request: Request, name: str) -> Response:
    await request.body()
    return Response(content=FIXED[name], media_type="application/json")


# The same for streams (*.sse): FakeAI's saved stream, sent back one SSE event per send.
FIXED_STREAMS = {
    p.stem: [event + b"\n\n" for event in p.read_bytes().split(b"\n\n") if event]
    for p in Path(os.environ.get("BENCH_FIXED_DIR", "/nonexistent")).glob("*.sse")
}


async def _fixed_events(events: list[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event


@post("/v1/fixed-stream/{name:str}", status_code=200)
async def fixed_stream(request: Request, name: str) -> Stream:
    await request.body()
    return Stream(content=_fixed_events(FIXED_STREAMS[name]), media_type="text/event-stream")


app = Litestar(route_handlers=[chat, stream, fixed, fixed_stream, paced], logging_config=None)
