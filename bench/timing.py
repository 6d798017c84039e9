"""Speeds the tests used to assert and now only measure (a loaded CI machine must not fail a test
for being slow; these figures go in reports instead).

    python bench/timing.py

1. Tokenizer: microseconds per token on a ~20k-token text (was: < 3 us in a unit test).
2. Embeddings: seconds for a batch of 2048 texts (was: < 3 s).
3. Replay: a recorded 500 ms stream drained at --replay-speed 0 and 1 (was: speed 0 under half the
   recorded time).
4. A real server: a 100-token stream with no latency model (was: < 1 s); --ttft-ms 300 --itl-ms 20
   accuracy (measured TTFT and total against the model); a cached 1024+-token prefix's TTFT against
   a cold one (was: warm < 0.6 x cold).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakeai.cassettes.server_process import ServerProcess  # noqa: E402
from fakeai.modes.base import Exchange  # noqa: E402
from fakeai.modes.replay import Replayer  # noqa: E402
from fakeai.modes.synthetic.embeddings import embed_texts  # noqa: E402
from fakeai.modes.synthetic.tokenizer import count_tokens  # noqa: E402
from fakeai.store import Database, upgrade_database  # noqa: E402
from fakeai.store import cassettes as store  # noqa: E402

MSGS = [{"role": "user", "content": "Tell me about volcanoes."}]


def tokenizer() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 2000
    start = time.perf_counter()
    for i in range(5):
        count_tokens(text + str(i))
    per_token = (time.perf_counter() - start) / 5 / count_tokens(text)
    print(f"tokenizer: {per_token * 1e6:.2f} us/token")


def embeddings() -> None:
    texts = [f"passage {i} about topic {i % 37} and retrieval with vectors" for i in range(2048)]
    start = time.perf_counter()
    embed_texts("text-embedding-3-small", texts)
    print(f"embeddings: 2048 texts in {time.perf_counter() - start:.3f} s")


def replay(tmp: Path) -> None:
    url = "sqlite+aiosqlite:///" + str(tmp / "replay.db")
    upgrade_database(url)

    async def run() -> None:
        db = Database(url)
        events = [(i * 50.0, b'data: {"n": %d}\n\n' % i) for i in range(10)] + [(500.0, b"data: [DONE]\n\n")]
        await store.insert(db, store.Cassette(key="b" * 64, method="POST", path="/v1/x", request=b"{}", status=200,
                                              stream=True, events=events))
        for speed in (0.0, 1.0):
            replayer = Replayer(db, speed=speed)
            exchange = Exchange(method="POST", path="/v1/x", started=time.perf_counter())
            reply = await replayer.answer(exchange, await replayer.find("b" * 64), {})
            start = time.perf_counter()
            n = len([e async for e in reply.events])
            print(f"replay speed {speed:g}: {n} events of a 500 ms recording in {(time.perf_counter() - start) * 1000:.1f} ms")
            await replayer.stop()
        await db.dispose()

    asyncio.run(run())


def server(tmp: Path) -> None:
    with ServerProcess(db=str(tmp / "plain.db")) as plain:
        client = plain.client()
        client.models.list()
        start = time.perf_counter()
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True, max_tokens=100):
            pass
        print(f"default server: 100-token stream in {(time.perf_counter() - start) * 1000:.1f} ms")
    with ServerProcess("--ttft-ms", "300", "--itl-ms", "20", db=str(tmp / "slow.db")) as slow:
        client = slow.client()
        client.models.list()
        start = time.perf_counter()
        first = None
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True, max_tokens=40,
                                                    extra_body={"ignore_eos": True}):
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - start
        total = time.perf_counter() - start
        print(f"latency model: ttft {first * 1000:.0f} ms (model 300), total {total * 1000:.0f} ms (model {300 + 39 * 20})")
        long_msgs = [{"role": "system", "content": " ".join(f"rule{i} applies" for i in range(900))},
                     {"role": "user", "content": "Go."}]
        ttfts = []
        for _ in range(2):
            start = time.perf_counter()
            for _ in client.chat.completions.create(model="gpt-4o-mini", messages=long_msgs, stream=True, max_tokens=1):
                break
            ttfts.append(time.perf_counter() - start)
        print(f"cached prefix: cold ttft {ttfts[0] * 1000:.0f} ms, warm {ttfts[1] * 1000:.0f} ms "
              f"({ttfts[1] / ttfts[0]:.2f}x)")


def main() -> None:
    tokenizer()
    embeddings()
    with tempfile.TemporaryDirectory() as tmp:
        replay(Path(tmp))
        server(Path(tmp))


if __name__ == "__main__":
    main()
