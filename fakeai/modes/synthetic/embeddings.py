"""Synthetic embeddings: deterministic unit vectors in which texts sharing words are close.

A text's vector is feature hashing followed by a random projection, done without a big matrix:
every lower-cased word is hashed (crc32, stable across processes, unlike ``hash()``) to a 32-bit key,
and the key picks one row of a small fixed table (``BUCKETS`` x ``BLOCK`` float32) for each
``BLOCK``-wide slice of the vector, with a different multiply-shift hash per slice. The word's vector
is those rows side by side; a text's vector is the weighted sum of its words' vectors plus a smaller
component keyed by the whole text (so two texts with the same words in a different order still differ),
normalised to unit length. Two texts sharing words therefore share terms of the sum and have a higher
cosine than unrelated ones, whose cosine is near 0.

The table is drawn from SHAKE-256 rather than numpy's generators, so vectors are identical across
restarts, workers and numpy versions. Hash constants are derived from the model name: each model has
its own space. ``dimensions`` keeps the first N values and renormalises (what OpenAI's text-embedding-3
models do), and only the slices needed are computed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import threading
import zlib
from collections import OrderedDict
from functools import lru_cache
from math import sqrt

import numpy as np

from fakeai.errors import InvalidRequestError
from fakeai.modes.base import Body
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.tokenizer import count_tokens
from fakeai.schemas import encode_json
from fakeai.schemas.embeddings import EmbeddingRequest

__all__ = ["DEFAULT_DIMENSIONS", "STOPWORDS", "STOPWORD_WEIGHT", "create_embeddings", "embed_texts", "model_dimensions"]

BLOCK = 128  # width of one slice of the vector
BUCKET_BITS = 13
BUCKETS = 1 << BUCKET_BITS  # rows of the table: 8192 x 128 float32 = 4 MiB, built once
TEXT_WEIGHT = 0.35  # share of the whole-text component relative to the words' part
STOPWORD_WEIGHT = 0.25  # "the", "of" … weigh less, as they do in trained models
MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
MAX_REQUEST_TOKENS = 300_000
MAX_TOKEN_ID = 2**31 - 1
GATHER_FLOATS = 4 * 1024 * 1024  # floats gathered at once (16 MiB), whatever the batch or text length
MAX_GROUP = 256  # inputs padded and summed together
# Batches costing more than about a millisecond (tokens x dimensions) are computed in a thread, off the
# event loop, so other requests keep flowing meanwhile.
OFFLOAD_WORK = 2_000_000
FRAGMENT_CACHE_BYTES = 32 * 1024 * 1024  # per worker
BODY_CACHE_BYTES = 16 * 1024 * 1024  # per worker

DEFAULT_DIMENSIONS = 1024
# Substring of the model id -> native size; first match wins, so longer names come first.
_DIMENSIONS: tuple[tuple[str, int], ...] = (
    ("text-embedding-3-large", 3072),
    ("text-embedding-3-small", 1536),
    ("text-embedding-ada-002", 1536),
    ("all-mpnet-base-v2", 768),
    ("all-minilm", 384),
    ("nv-embedqa-mistral-7b", 4096),
    ("nv-embed-v2", 4096),
    ("nv-embedqa-e5-v5", 1024),
    ("bge-m3", 1024),
    ("bge-large", 1024),
    ("bge-base", 768),
    ("bge-small", 384),
)

_WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i in is it its of on or our she so that the "
    "their them they this to was we were what when where which who will with you your".split()
)
# Word keys are crc32 values, below 2**32; token ids and whole texts live in their own key ranges.
_TOKEN_KEYS = 1 << 33
_TEXT_KEYS = 1 << 34


@lru_cache(maxsize=1)
def _table() -> np.ndarray:
    raw = hashlib.shake_256(b"fakeai embedding table v1").digest(BUCKETS * BLOCK)
    # Signed bytes shifted by a half are uniform and zero-mean; the sum of many is near-Gaussian.
    table = (np.frombuffer(raw, dtype=np.int8).astype(np.float32) + 0.5) / 128.0
    return table.reshape(BUCKETS, BLOCK)


@lru_cache(maxsize=64)
def _mixers(model: str, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-slice multiply-shift hash constants for a model (odd multipliers, 64-bit)."""
    raw = hashlib.shake_256(b"fakeai embedding mixers v1\0" + model.encode()).digest(16 * blocks)
    words = np.frombuffer(raw, dtype="<u8").reshape(blocks, 2)
    return words[:, 0] | np.uint64(1), words[:, 1].copy()


def model_dimensions(model: str) -> int:
    lowered = model.lower()
    for fragment, size in _DIMENSIONS:
        if fragment in lowered:
            return size
    return DEFAULT_DIMENSIONS


def _word_keys(text: str) -> tuple[list[int], list[float]]:
    words = _WORD.findall(text.lower())
    crc32 = zlib.crc32
    keys = [crc32(word.encode()) for word in words]
    weights = [STOPWORD_WEIGHT if word in STOPWORDS else 1.0 for word in words]
    return keys, weights


def _token_keys(tokens: list[int]) -> tuple[list[int], list[float]]:
    return [_TOKEN_KEYS + (t & 0xFFFFFFFF) for t in tokens], [1.0] * len(tokens)


def embed_texts(model: str, inputs: list[str] | list[list[int]], dimensions: int | None = None) -> np.ndarray:
    """Unit vectors (float32, one row per input) for strings or token arrays.

    An input's vector depends on that input alone, bit for bit, whatever else is in the batch: inputs
    are padded with zero-weight keys (adding 0.0 changes nothing) and summed in their own key order.
    """
    dims = dimensions or model_dimensions(model)
    blocks = -(-dims // BLOCK)
    width = blocks * BLOCK
    table = _table()
    mult, add = _mixers(model, blocks)
    shift = np.uint64(64 - BUCKET_BITS)

    keys: list[int] = []
    weights: list[float] = []
    lengths: list[int] = []
    for item in inputs:
        if isinstance(item, str):
            item_keys, item_weights = _word_keys(item)
            whole = zlib.crc32(item.encode())
        else:
            item_keys, item_weights = _token_keys(item)
            whole = zlib.crc32(np.asarray(item, dtype="<i8").tobytes())
        # The whole-text component, scaled to the words' part (whose norm grows like sqrt(sum w^2)).
        keys.append(_TEXT_KEYS + whole)
        weights.append(TEXT_WEIGHT * max(1.0, sqrt(sum(w * w for w in item_weights))))
        keys.extend(item_keys)
        weights.extend(item_weights)
        lengths.append(len(item_keys) + 1)

    key_arr = np.asarray(keys, dtype=np.uint64)
    weight_arr = np.asarray(weights, dtype=np.float32)
    length_arr = np.asarray(lengths, dtype=np.intp)
    start_arr = np.concatenate(([0], np.cumsum(length_arr)[:-1]))
    out = np.empty((len(inputs), width), dtype=np.float32)
    # Inputs of similar length are padded together, in groups that bound the gathered temporary.
    order = np.argsort(length_arr, kind="stable")
    i = 0
    while i < len(order):
        longest = int(length_arr[order[min(i + MAX_GROUP, len(order)) - 1]])
        piece = max(1, min(longest, GATHER_FLOATS // width))
        count = max(1, min(MAX_GROUP, GATHER_FLOATS // (width * piece)))
        group = order[i : i + count]
        longest = int(length_arr[group[-1]])
        acc = np.zeros((len(group), width), dtype=np.float32)
        for lo in range(0, longest, piece):
            cols = np.arange(lo, min(lo + piece, longest))
            valid = cols[None, :] < length_arr[group, None]
            pos = np.where(valid, start_arr[group, None] + cols[None, :], 0)
            with np.errstate(over="ignore"):  # the multiply-shift hash relies on 64-bit wrap-around
                buckets = (key_arr[pos][..., None] * mult + add) >> shift
            rows = table[buckets.astype(np.intp)].reshape(len(group), len(cols), width)
            acc += np.einsum("nl,nld->nd", np.where(valid, weight_arr[pos], 0.0).astype(np.float32), rows)
        out[group] = acc
        i += len(group)
    out = out[:, :dims]
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def _check_inputs(raw: str | list) -> tuple[list[str] | list[list[int]], list[int]]:
    """Normalise ``input`` to a homogeneous list; also count tokens per input."""
    if isinstance(raw, str):
        items: list = [raw]
    elif not raw:
        raise InvalidRequestError("'$.input' is invalid: an empty array is not allowed.", param="input")
    elif all(isinstance(x, int) for x in raw):
        items = [raw]  # one token array
    elif all(isinstance(x, str) for x in raw) or all(isinstance(x, list) for x in raw):
        items = raw
    else:
        raise InvalidRequestError(
            "'$.input' is invalid: use a string, an array of strings, an array of tokens or an array of "
            "token arrays, not a mixture.",
            param="input",
        )
    if len(items) > MAX_INPUTS:
        raise InvalidRequestError(f"'$.input' is too long: at most {MAX_INPUTS} inputs per request.", param="input")
    counts: list[int] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            tokens = count_tokens(item)
        else:
            tokens = len(item)
            if tokens and not 0 <= min(item) <= max(item) <= MAX_TOKEN_ID:
                raise InvalidRequestError(
                    f"'$.input[{i}]' is invalid: token ids are whole numbers from 0 to {MAX_TOKEN_ID}.", param="input"
                )
        if tokens == 0:
            raise InvalidRequestError(f"'$.input[{i}]' is invalid: it must not be empty.", param="input")
        if tokens > MAX_INPUT_TOKENS:
            raise InvalidRequestError(
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however input {i} has "
                f"{tokens} tokens. Please reduce the length of the input.",
                param="input",
            )
        counts.append(tokens)
    total = sum(counts)
    if total > MAX_REQUEST_TOKENS:
        raise InvalidRequestError(
            f"Requested {total} tokens; at most {MAX_REQUEST_TOKENS} tokens can be embedded in one request.",
            param="input",
        )
    return items, counts


class ByteLRU:
    """A least-recently-used map of bytes, bounded by the bytes it holds (values and keys). Locked:
    big batches are built in a worker thread while the event loop serves small requests."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.items: OrderedDict[tuple, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: tuple, value: bytes) -> None:
        cost = len(value) + _key_cost(key)
        if cost > self.budget // 16:
            return
        with self.lock:
            old = self.items.pop(key, None)
            if old is not None:
                self.size -= len(old) + _key_cost(key)
            self.items[key] = value
            self.size += cost
            while self.size > self.budget:
                old_key, old_value = self.items.popitem(last=False)
                self.size -= len(old_value) + _key_cost(old_key)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.size = 0


def _key_cost(key: tuple) -> int:
    """Roughly the bytes a key's input holds (a text, a token tuple, or a tuple of either)."""
    item = key[-1]
    if isinstance(item, str):
        return 64 + len(item)
    return 64 + sum(len(x) if isinstance(x, str) else 8 * len(x) if isinstance(x, tuple) else 8 for x in item)


def _hashable(value: str | list) -> str | tuple:
    if isinstance(value, str):
        return value
    return tuple(tuple(x) if isinstance(x, list) else x for x in value)


# Encoded vectors (the JSON of one ``embedding`` value) by (model, dims, format, input), so texts that
# come back (a load test's inputs, a re-indexed corpus) cost a lookup. Vectors do not depend on the
# batch, so a cached fragment is exactly what a fresh one would be.
FRAGMENTS = ByteLRU(FRAGMENT_CACHE_BYTES)
# Whole answers by (model, dims, format, input): a repeated request skips validation and assembly too.
# Only successful answers are kept, so a hit needs no checks.
BODIES = ByteLRU(BODY_CACHE_BYTES)


def _fragments(vectors: np.ndarray, base64_format: bool) -> list[bytes]:
    if base64_format:
        # Little-endian float32, each row on its own: what the SDK's base64 parser decodes.
        little = vectors.astype("<f4", copy=False)
        return [b'"' + base64.b64encode(row.tobytes()) + b'"' for row in little]
    # Rounded to 8 decimals, the JSON is half as long as float32's full double repr, with no loss a
    # float32 consumer could see.
    rows = np.round(vectors.astype(np.float64), 8)
    return [encode_json(row.tolist()) for row in rows]


def _encode(
    model: str, items: list, dimensions: int | None, base64_format: bool, prompt_tokens: int
) -> bytes:
    """The response body (``EmbeddingList``'s shape), assembled from cached and fresh fragments."""
    fmt = "base64" if base64_format else "float"
    keys = [(model, dimensions, fmt, item if isinstance(item, str) else tuple(item)) for item in items]
    fragments = [FRAGMENTS.get(key) for key in keys]
    missing = [i for i, fragment in enumerate(fragments) if fragment is None]
    if missing:
        fresh = _fragments(embed_texts(model, [items[i] for i in missing], dimensions), base64_format)
        for i, fragment in zip(missing, fresh):
            fragments[i] = fragment
            FRAGMENTS.put(keys[i], fragment)
    data = b",".join(
        b'{"object":"embedding","index":%d,"embedding":%s}' % (i, fragment) for i, fragment in enumerate(fragments)
    )
    return b"".join(
        (
            b'{"object":"list","data":[',
            data,
            b'],"model":',
            encode_json(model),
            b',"usage":{"prompt_tokens":%d,"total_tokens":%d}}' % (prompt_tokens, prompt_tokens),
        )
    )


async def create_embeddings(ctx: SyntheticContext, request: EmbeddingRequest) -> Body:
    ctx.catalogue.require(request.model)
    base64_format = request.encoding_format == "base64"
    answer_key = (request.model, request.dimensions, base64_format, _hashable(request.input))
    cached = BODIES.get(answer_key)
    if cached is not None:
        return Body(content=cached)
    items, counts = _check_inputs(request.input)
    native = model_dimensions(request.model)
    dims = request.dimensions
    if dims is not None and not 1 <= dims <= native:
        raise InvalidRequestError(
            f"Invalid value for 'dimensions': {dims}. {request.model} supports 1 to {native} dimensions.",
            param="dimensions",
        )
    prompt_tokens = sum(counts)

    def build() -> bytes:
        return _encode(request.model, items, dims, base64_format, prompt_tokens)

    big = prompt_tokens * (dims or native) > OFFLOAD_WORK
    content = await asyncio.to_thread(build) if big else build()
    BODIES.put(answer_key, content)
    return Body(content=content)
