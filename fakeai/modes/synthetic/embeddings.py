"""Synthetic embeddings: deterministic unit vectors in which texts sharing words are close.

A text's vector is feature hashing followed by a random projection, done without a big matrix:
every lower-cased word is hashed (``wordkeys``: stable across processes, unlike ``hash()``) to a 64-bit
key, and the key picks one row of a small fixed table (``BUCKETS`` x ``BLOCK`` float32) for each
``BLOCK``-wide slice of a ``CORE``-wide vector, with a different multiply-shift hash per slice. The
word's vector is those rows side by side; a text's core is the weighted sum of its words' vectors plus a
smaller component keyed by the whole text (so two texts with the same words in a different order still
differ), normalised to unit length. Two texts sharing words therefore share terms of the sum and have a
higher cosine than unrelated ones, whose cosine is near 0.

Models wider than the core repeat it, each ``CORE``-wide block with its own fixed signs (per model) and
scaled by 1/sqrt(blocks): an orthogonal map, so cosines between texts are exactly the cores' and the
vector stays unit length, while the sum and the table lookups cost a sixth of what 1536 independent
columns would (the row gather and product were most of an uncached request). ``dimensions`` keeps the
first N values and renormalises (what OpenAI's text-embedding-3 models do).

The table and signs are drawn from SHAKE-256 rather than numpy's generators, so vectors are identical
across restarts, workers and numpy versions. Hash constants are derived from the model name: each model
has its own space.
"""

from __future__ import annotations

import asyncio
import pybase64  # SIMD base64: a 16 x 1536 answer in 6 us where the standard library takes ~170 us
import hashlib
import threading
import zlib
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from fakeai.errors import InvalidRequestError
from fakeai.modes.base import Body
from fakeai.modes.synthetic.embedding_batches import EmbeddingBatches
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.textpieces import STOPWORD_WEIGHT, STOPWORDS, Words, scan, weights_of
from fakeai.modes.synthetic.wordkeys import batch_words, mix
from fakeai.schemas import encode_json
from fakeai.schemas.embeddings import EmbeddingRequest

__all__ = ["DEFAULT_DIMENSIONS", "STOPWORDS", "STOPWORD_WEIGHT", "create_embeddings", "embed_texts", "model_dimensions"]

BLOCK = 128  # width of one slice of the core
CORE = 256  # width of the summed vector; wider models repeat it (see the module docstring)
BUCKET_BITS = 13
BUCKETS = 1 << BUCKET_BITS  # rows of the table: 8192 x 128 float32 = 4 MiB, built once
TEXT_WEIGHT = 0.35  # share of the whole-text component relative to the words' part
MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
MAX_REQUEST_TOKENS = 300_000
MAX_TOKEN_ID = 2**31 - 1
GATHER_FLOATS = 4 * 1024 * 1024  # floats gathered at once (16 MiB), whatever the batch or text length
# A chunk of words is summed by a matrix product when its (inputs x distinct words) matrix has at most
# this many cells per word occurrence; sparser chunks gather a row per occurrence instead.
DENSE_CELLS = 8
# Batches costing more than about a millisecond (tokens x dimensions) are computed in a thread, off the
# event loop, so other requests keep flowing meanwhile.
OFFLOAD_WORK = 2_000_000
# Smaller requests arriving together are computed in one call (``embedding_batches``) of up to this much
# work: a batch's per-request cost is about a third of a lone request's, so it holds the loop for about
# as long as the batch's requests one after another would (~1 ms).
BATCH_WORK = 4_000_000
BODY_CACHE_BYTES = 16 * 1024 * 1024  # per worker
SEEN_MIN, SEEN_MAX = 64, 65_536  # answers offered once and remembered (by hash), so that a repeat is kept

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


@lru_cache(maxsize=64)
def _signs(model: str, blocks: int) -> np.ndarray:
    """(blocks, CORE) float32: each repeated block's fixed signs, times 1/sqrt(blocks) (the map is orthogonal).
    The first block is the core as it is, so a prefix of up to ``CORE`` values is the same vector whatever
    the model's width."""
    raw = hashlib.shake_256(b"fakeai embedding signs v1\0" + model.encode()).digest(blocks * CORE // 8)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8)).reshape(blocks, CORE)
    bits[0] = 0
    return ((1.0 - 2.0 * bits) / np.sqrt(blocks)).astype(np.float32)


def model_dimensions(model: str) -> int:
    lowered = model.lower()
    for fragment, size in _DIMENSIONS:
        if fragment in lowered:
            return size
    return DEFAULT_DIMENSIONS


def _input_keys(
    inputs: list[str] | list[list[int]], words: Words | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every word (or token) of the batch: keys, weights, the input each belongs to; and each input's own key."""
    if words is not None or inputs and all(isinstance(item, str) for item in inputs):  # words: of strings
        if words is None:
            keys, owners = batch_words(inputs)  # type: ignore[arg-type]
            weights = weights_of(keys)
        else:
            keys, weights, owners = words[0], words[1], np.repeat(np.arange(len(inputs)), words[2])
        whole = list(map(zlib.crc32, map(str.encode, inputs)))  # type: ignore[arg-type]
    else:
        arrays = [np.asarray(item, dtype=np.int64) for item in inputs]
        tokens = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
        keys = mix(tokens.astype(np.uint64) + np.uint64(_TOKEN_KEYS))
        owners = np.repeat(np.arange(len(arrays)), [len(a) for a in arrays])
        weights = np.ones(len(keys))
        whole = [zlib.crc32(a.astype("<i8").tobytes()) for a in arrays]
    whole_keys = mix(np.asarray(whole, dtype=np.uint64) + np.uint64(_TEXT_KEYS))
    return keys, weights, owners, whole_keys


def _rows(keys: np.ndarray, mult: np.ndarray, add: np.ndarray) -> np.ndarray:
    """Each key's vector: one table row per ``BLOCK``-wide slice, picked by that slice's hash."""
    # The multiply-shift hash relies on 64-bit wrap-around (silent for arrays).
    buckets = (keys[:, None] * mult + add) >> np.uint64(64 - BUCKET_BITS)
    return _table().take(buckets.astype(np.intp).ravel(), axis=0).reshape(len(keys), -1)


def embed_texts(
    model: str, inputs: list[str] | list[list[int]], dimensions: int | None = None, words: Words | None = None
) -> np.ndarray:
    """Unit vectors (float32, one row per input) for strings or token arrays; ``words``, if given, are
    the strings' words as ``_check_inputs`` found them (saves finding them again).

    An input's vector depends on that input alone, bit for bit, whatever else is in the batch, because
    its sum is computed exactly: table values are multiples of 1/256 below 1/2 and weights multiples
    of 1/8, so every product and partial sum is a multiple of 1/2048 below 8192 (up to ~16,000 words;
    the API allows 8192 tokens), which float32 holds exactly in any summation order. That lets a batch
    look its distinct keys up once and sum them with one matrix product (BLAS, any blocking) instead
    of a gather per occurrence, and split a long input across chunks.
    """
    dims = dimensions or model_dimensions(model)
    blocks = -(-min(dims, CORE) // BLOCK)
    mult, add = _mixers(model, blocks)
    count = len(inputs)
    if not count:
        return np.zeros((0, dims), dtype=np.float32)
    word_keys_, word_weights, word_owners, whole_keys = _input_keys(inputs, words)
    # The whole-text component, scaled to the words' part (whose norm grows like sqrt(sum w^2)), its
    # weight rounded to eighths so that it too sums exactly.
    squares = np.bincount(word_owners, weights=word_weights * word_weights, minlength=count)
    text_weight = np.round(8.0 * TEXT_WEIGHT * np.maximum(1.0, np.sqrt(squares))) / 8.0
    width = blocks * BLOCK
    limit = max(1, GATHER_FLOATS // width)
    if len(word_keys_) + count <= limit:
        distinct, index = _distinct(word_keys_)
        words = len(distinct)
        if count * words <= DENSE_CELLS * len(word_keys_):
            # The common case (a corpus's batch: few distinct words per input): one product of an
            # (inputs x distinct words) weight matrix with the words' rows, in any order, plus each
            # input's own text row. The text rows stay out of the matrix, which would otherwise grow
            # with the square of the batch (every input adds a column only it uses).
            matrix = np.bincount(word_owners * words + index, weights=word_weights, minlength=count * words)
            table_rows = _rows(np.concatenate((distinct, whole_keys)), mult, add)
            out = matrix.astype(np.float32).reshape(count, words) @ table_rows[:words]
            out += table_rows[words:] * text_weight.astype(np.float32)[:, None]
            return _widen(out, dims, model)
    keys = np.concatenate((word_keys_, whole_keys))
    weights = np.concatenate((word_weights, text_weight))
    owners = np.concatenate((word_owners, np.arange(count)))
    # Otherwise in chunks of keys, which bound the temporaries whatever the batch; a chunk's inputs are
    # consecutive, so keys are put in input order (each input's text key first).
    order = np.argsort(owners, kind="stable")
    keys, weights, owners = keys[order], weights[order], owners[order]
    out = np.zeros((count, width), dtype=np.float32)
    for first in range(0, len(keys), limit):
        chunk = slice(first, first + limit)
        chunk_keys, chunk_weights, chunk_owners = keys[chunk], weights[chunk], owners[chunk]
        distinct, index = _distinct(chunk_keys)
        table_rows = _rows(distinct, mult, add)
        lo, hi = int(chunk_owners[0]), int(chunk_owners[-1]) + 1
        if (hi - lo) * len(distinct) <= DENSE_CELLS * len(chunk_keys):
            cells = (chunk_owners - lo) * len(distinct) + index
            matrix = np.bincount(cells, weights=chunk_weights, minlength=(hi - lo) * len(distinct))
            out[lo:hi] += matrix.astype(np.float32).reshape(hi - lo, len(distinct)) @ table_rows
        else:
            # Mostly distinct words: gather one row per occurrence and sum each input's run.
            gathered = table_rows[index]
            gathered *= chunk_weights.astype(np.float32)[:, None]
            runs = np.flatnonzero(np.concatenate(([True], chunk_owners[1:] != chunk_owners[:-1])))
            out[chunk_owners[runs]] += np.add.reduceat(gathered, runs, axis=0)
    return _widen(out, dims, model)


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` without its per-call overhead."""
    order = keys.argsort()
    ordered = keys[order]
    new = np.empty(len(keys), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    index = np.empty(len(keys), dtype=np.intp)
    index[order] = np.cumsum(new) - 1
    return ordered[new], index


def _widen(core: np.ndarray, dims: int, model: str) -> np.ndarray:
    """Unit vectors of ``dims`` values from the summed cores: the core itself up to ``CORE`` values, else its
    signed repeats, cut to ``dims`` (and renormalised when the cut falls inside a block)."""
    if dims <= CORE:
        return _unit(core[:, :dims])
    repeats = -(-dims // CORE)
    wide = (_unit(core)[:, None, :] * _signs(model, repeats)).reshape(len(core), repeats * CORE)
    return wide if dims == wide.shape[1] else _unit(wide[:, :dims])


def _unit(out: np.ndarray) -> np.ndarray:
    # What ``np.linalg.norm(out, axis=1, keepdims=True)`` computes for float32 rows (the same
    # operations, so the same bits), without its argument checks.
    out /= np.sqrt(np.add.reduce(out * out, axis=1, keepdims=True))
    return out


def _check_inputs(raw: str | list) -> tuple[list[str] | list[list[int]], list[int], Words | None]:
    """Normalise ``input`` to a homogeneous list; also count tokens per input, and find the words
    of strings (for ``embed_texts``) on the way."""
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
    words: Words | None = None
    text_tokens: list[int] = []
    if isinstance(items[0], str):
        text_tokens, words = scan(items)
    counts: list[int] = []
    for i, item in enumerate(items):
        if text_tokens:
            tokens = text_tokens[i]
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
    return items, counts, words


class ByteLRU:
    """A least-recently-used map of bytes, bounded by the bytes it holds (values and keys). Locked:
    big batches are built in a worker thread while the event loop serves small requests."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        # key -> (value, its cost): an entry's cost is computed once, not again when it is evicted
        self.items: OrderedDict[tuple, tuple[bytes, int]] = OrderedDict()
        self.seen: OrderedDict[int, None] = OrderedDict()  # hashes of keys offered once (``offer``)
        self.typical: float | None = None  # recent offers' cost, averaged
        self.lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self.lock:
            entry = self.items.get(key)
            if entry is None:
                return None
            self.items.move_to_end(key)
            return entry[0]

    def put(self, key: tuple, value: bytes) -> None:
        cost = len(value) + _key_cost(key)
        if cost > self.budget // 16:
            return
        with self.lock:
            old = self.items.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self.items[key] = (value, cost)
            self.size += cost
            while self.size > self.budget:
                self.size -= self.items.popitem(last=False)[1][1]

    def offer(self, key: tuple, value: bytes) -> None:
        """``put`` only if ``key`` was offered recently: among the last offers, twice as many as the
        map can hold answers of the size offered lately. An answer asked for again only after more
        distinct answers than the map can hold (a corpus of distinct requests, or one cycled through
        by a load test) would be evicted before it is asked for again: keeping it only costs the
        insertion and the eviction, and pushes useful memory out of the CPU's caches."""
        seen = hash(key)
        cost = len(value) + 64
        with self.lock:
            self.typical = cost if self.typical is None else 0.9 * self.typical + 0.1 * cost
            if seen not in self.seen:
                self.seen[seen] = None
                window = min(SEEN_MAX, max(SEEN_MIN, int(2 * self.budget / self.typical)))
                while len(self.seen) > window:
                    self.seen.popitem(last=False)
                return
            del self.seen[seen]
        self.put(key, value)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.seen.clear()
            self.size = 0


def _key_cost(key: tuple) -> int:
    """Roughly the bytes a key's input holds (a text, a token tuple, or a tuple of either). Only
    validated inputs are stored, so a tuple holds one kind of item."""
    item = key[-1]
    if isinstance(item, str):
        return 64 + len(item)
    if not item or isinstance(item[0], int):
        return 64 + 8 * len(item)
    return 64 + sum(map(len, item)) * (1 if isinstance(item[0], str) else 8)


def _hashable(value: str | list) -> str | tuple:
    if isinstance(value, str):
        return value
    items = tuple(value)
    try:
        hash(items)  # strings or token ids (the common case): no copy item by item
    except TypeError:
        return tuple(tuple(x) if isinstance(x, list) else x for x in value)
    return items


# Whole answers by (model, dims, format, input): a repeated request (a load test's bodies) skips
# validation and assembly. Only successful answers are kept, so a hit needs no checks. Vectors are not
# cached one by one: computing one costs about as much as looking it up would (~10 us).
BODIES = ByteLRU(BODY_CACHE_BYTES)
_BATCHES = EmbeddingBatches(embed_texts, BATCH_WORK)


def _embedding_values(vectors: np.ndarray, base64_format: bool) -> list[bytes | memoryview]:
    """The JSON of each row's ``embedding`` value, without its quotes for base64."""
    if base64_format:
        # Little-endian float32, each row on its own: what the SDK's base64 parser decodes. When a row
        # is a whole number of 3-byte groups, one encoding of the matrix cut at row boundaries is the
        # rows' encodings side by side (and the cuts are views, not copies).
        raw = np.ascontiguousarray(vectors, dtype="<f4")
        row_bytes = raw.shape[1] * 4
        if row_bytes % 3:
            return [pybase64.b64encode(row) for row in raw]
        encoded = memoryview(pybase64.b64encode(raw))
        size = row_bytes // 3 * 4
        return [encoded[i : i + size] for i in range(0, len(encoded), size)]
    # Rounded to 8 decimals, the JSON is half as long as float32's full double repr, with no loss a
    # float32 consumer could see.
    rows = np.round(vectors.astype(np.float64), 8)
    return [encode_json(row) for row in rows.tolist()]


def _encode(model: str, vectors: np.ndarray, base64_format: bool, prompt_tokens: int) -> bytes:
    """The response body (``EmbeddingList``'s shape), joined once."""
    values = _embedding_values(vectors, base64_format)
    quote = b'"' if base64_format else b""
    parts: list[bytes | memoryview] = [b'{"object":"list","data":[']
    for i, value in enumerate(values):
        parts += (b'%s{"object":"embedding","index":%d,"embedding":%s' % (b"," if i else b"", i, quote), value, quote + b"}")
    parts.append(
        b'],"model":%s,"usage":{"prompt_tokens":%d,"total_tokens":%d}}'
        % (encode_json(model), prompt_tokens, prompt_tokens)
    )
    return b"".join(parts)


async def create_embeddings(ctx: SyntheticContext, request: EmbeddingRequest) -> Body:
    ctx.catalogue.require(request.model)
    base64_format = request.encoding_format == "base64"
    answer_key = (request.model, request.dimensions, base64_format, _hashable(request.input))
    cached = BODIES.get(answer_key)
    if cached is not None:
        return Body(content=cached)
    items, counts, words = _check_inputs(request.input)
    native = model_dimensions(request.model)
    dims = request.dimensions
    if dims is not None and not 1 <= dims <= native:
        raise InvalidRequestError(
            f"Invalid value for 'dimensions': {dims}. {request.model} supports 1 to {native} dimensions.",
            param="dimensions",
        )
    prompt_tokens = sum(counts)
    work = prompt_tokens * (dims or native)
    if work > OFFLOAD_WORK:
        def build() -> bytes:
            return _encode(request.model, embed_texts(request.model, items, dims, words), base64_format, prompt_tokens)

        content = await asyncio.to_thread(build)
    else:
        if words is not None:  # texts: computed with the others arriving now (same vectors, fewer calls)
            vectors = await _BATCHES.embed(request.model, dims, items, words, work)  # type: ignore[arg-type]
        else:
            vectors = embed_texts(request.model, items, dims, words)
        content = _encode(request.model, vectors, base64_format, prompt_tokens)
    BODIES.offer(answer_key, content)
    return Body(content=content)
