"""Embeddings requests that arrive together are computed together.

Under load, several embeddings requests for one model reach the handler in the same turn of the
event loop (uvicorn starts every request whose bytes came in one poll). ``embed_texts`` costs a
request mostly fixed overheads (some forty numpy calls), so one call for four requests costs about
what one request did alone: measured in process on 16-text requests, 190 us per request alone and
70 us each in batches of eight. Nothing a client sees changes: an input's vector depends on that
input alone, bit for bit (``embed_texts`` sums exactly), so a request gets the same vectors in a
batch as alone.

A batch is computed one turn after its first request joined (``call_soon``), once every request
already ready in that turn has joined it; a request that arrives alone waits that one turn (a few
microseconds). Work per batch is bounded (``max_work``: texts' tokens times dimensions), so no batch
holds the loop much longer than its requests would have one after another.

The open batches are per worker and live for one turn of its loop: nothing in them outlives the
requests, or differs between workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from fakeai.modes.synthetic.textpieces import Words

__all__ = ["EmbeddingBatches"]

# embed(model, texts, dimensions, words) -> one unit vector per text
Embed = Callable[[str, list[str], "int | None", Words], np.ndarray]


class _Batch:
    __slots__ = ("loop", "requests", "work")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.requests: list[tuple[list[str], Words, asyncio.Future[np.ndarray]]] = []
        self.work = 0


class EmbeddingBatches:
    def __init__(self, embed: Embed, max_work: int) -> None:
        self._embed = embed
        self._max_work = max_work
        self._open: dict[tuple[str, int | None], _Batch] = {}  # (model, dimensions) -> the batch now filling

    async def embed(self, model: str, dimensions: int | None, texts: list[str], words: Words, work: int) -> np.ndarray:
        """``texts``' vectors (one row each), computed with whatever else arrives in this turn."""
        loop = asyncio.get_running_loop()
        key = (model, dimensions)
        batch = self._open.get(key)
        if batch is None or batch.loop is not loop or batch.work + work > self._max_work:
            batch = self._open[key] = _Batch(loop)
            loop.call_soon(self._run, model, dimensions, batch)
        future: asyncio.Future[np.ndarray] = loop.create_future()
        batch.requests.append((texts, words, future))
        batch.work += work
        return await future

    def _run(self, model: str, dimensions: int | None, batch: _Batch) -> None:
        key = (model, dimensions)
        if self._open.get(key) is batch:
            del self._open[key]
        waiting = [request for request in batch.requests if not request[2].done()]  # a client may have left
        if not waiting:
            return
        try:
            vectors = self._vectors(model, dimensions, waiting)
        except Exception as exc:  # noqa: BLE001 - every request of the batch gets it, as it would alone
            for _, _, future in waiting:
                future.set_exception(exc)
            return
        for (_, _, future), rows in zip(waiting, vectors):
            future.set_result(rows)

    def _vectors(self, model: str, dimensions: int | None, waiting: list) -> list[np.ndarray]:
        if len(waiting) == 1:
            texts, words, _ = waiting[0]
            return [self._embed(model, texts, dimensions, words)]
        texts = [text for request in waiting for text in request[0]]
        words = (
            np.concatenate([request[1][0] for request in waiting]),
            np.concatenate([request[1][1] for request in waiting]),
            [count for request in waiting for count in request[1][2]],
        )
        everything = self._embed(model, texts, dimensions, words)
        ends = np.cumsum([len(request[0]) for request in waiting])
        return np.split(everything, ends[:-1])
