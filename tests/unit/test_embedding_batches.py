"""Embeddings requests arriving in one turn of the loop are computed in one call, with the very
vectors each would get alone."""

from __future__ import annotations

import asyncio

import msgspec
import numpy as np
import pytest

from fakeai.modes.synthetic.embedding_batches import EmbeddingBatches
from fakeai.modes.synthetic.embeddings import _check_inputs, create_embeddings, embed_texts
from fakeai.schemas.embeddings import EmbeddingList, EmbeddingRequest

MODEL = "text-embedding-3-small"


def _request(texts: list[str]) -> tuple[list[str], tuple]:
    items, _, words = _check_inputs(texts)
    return items, words


class Counting:
    def __init__(self) -> None:
        self.calls: list[int] = []  # texts per call

    def __call__(self, model, texts, dimensions, words):  # noqa: ANN001, ANN204
        self.calls.append(len(texts))
        return embed_texts(model, texts, dimensions, words)


BATCHES = [[f"text {i} of request {r}, about vectors" for i in range(r + 1)] for r in range(5)]


def test_requests_of_one_turn_share_one_call_and_get_their_own_vectors_bit_for_bit():
    embed = Counting()
    batches = EmbeddingBatches(embed, max_work=10**9)

    async def main() -> list[np.ndarray]:
        return await asyncio.gather(*(batches.embed(MODEL, None, *_request(texts), 1) for texts in BATCHES))

    vectors = asyncio.run(main())
    assert embed.calls == [sum(map(len, BATCHES))]
    for texts, got in zip(BATCHES, vectors):
        alone = embed_texts(MODEL, *_request(texts)[:1], None, _request(texts)[1])
        assert got.shape == (len(texts), 1536) and got.tobytes() == alone.tobytes()


def test_batches_are_per_model_and_width_and_bounded_by_work():
    embed = Counting()
    batches = EmbeddingBatches(embed, max_work=25)

    async def main() -> list[np.ndarray]:
        calls = [batches.embed(MODEL, None, *_request(["a b"]), 10) for _ in range(5)]  # 2 + 2 + 1
        calls += [batches.embed(MODEL, 64, *_request(["a b"]), 1), batches.embed("bge-m3", None, *_request(["a b"]), 1)]
        return await asyncio.gather(*calls)

    vectors = asyncio.run(main())
    assert sorted(embed.calls) == [1, 1, 1, 2, 2]
    assert [v.shape[1] for v in vectors] == [1536] * 5 + [64, 1024]
    assert all(v.tobytes() == vectors[0].tobytes() for v in vectors[:5])


def test_a_request_that_left_does_not_stop_the_others_and_a_failure_reaches_every_waiter():
    embed = Counting()
    batches = EmbeddingBatches(embed, max_work=10**9)

    async def leaving() -> list:
        first = asyncio.ensure_future(batches.embed(MODEL, None, *_request(["gone"]), 1))
        second = asyncio.ensure_future(batches.embed(MODEL, None, *_request(["stays"]), 1))
        await asyncio.sleep(0)  # both joined the batch
        first.cancel()
        return [await second, first.cancelled()]

    stays, cancelled = asyncio.run(leaving())
    assert cancelled and embed.calls == [1] and stays.shape == (1, 1536)

    def broken(*args):  # noqa: ANN002, ANN202
        raise ValueError("no vectors today")

    failing = EmbeddingBatches(broken, max_work=10**9)

    async def both() -> list:
        calls = [failing.embed(MODEL, None, *_request([t]), 1) for t in ("x", "y")]
        return await asyncio.gather(*calls, return_exceptions=True)

    assert [str(e) for e in asyncio.run(both())] == ["no vectors today"] * 2


@pytest.mark.parametrize("encoding", ["base64", "float"])
def test_concurrent_requests_answer_the_bytes_they_answer_one_at_a_time(encoding: str):
    from fakeai.modes.synthetic import embeddings
    from fakeai.modes.synthetic.context import SyntheticContext
    from fakeai.settings import Settings

    ctx = SyntheticContext(Settings(), None)

    requests = [
        EmbeddingRequest(model=MODEL, input=[f"concurrent text {i} {j}" for j in range(3)], encoding_format=encoding)
        for i in range(6)
    ]

    async def together() -> list[bytes]:
        embeddings.BODIES.clear()
        return [b.content for b in await asyncio.gather(*(create_embeddings(ctx, r) for r in requests))]

    async def apart() -> list[bytes]:
        embeddings.BODIES.clear()
        return [(await create_embeddings(ctx, r)).content for r in requests]

    batched, alone = asyncio.run(together()), asyncio.run(apart())
    assert batched == alone
    assert len({msgspec.json.decode(body, type=EmbeddingList).data[0].embedding.__repr__() for body in alone}) == 6
