import base64
import subprocess
import sys

import numpy as np
import pytest

from fakeai.errors import InvalidRequestError
from fakeai.modes.synthetic.embeddings import (
    DEFAULT_DIMENSIONS,
    _check_inputs,
    _encode,
    ByteLRU,
    embed_texts,
    model_dimensions,
)
from fakeai.schemas.embeddings import EmbeddingList

MODEL = "text-embedding-3-small"


def cos(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("sentence-transformers/all-mpnet-base-v2", 768),
        ("text-embedding-3-small", 1536),
        ("text-embedding-3-large", 3072),
        ("text-embedding-ada-002", 1536),
        ("nvidia/nv-embedqa-e5-v5", 1024),
        ("some/unknown-model", DEFAULT_DIMENSIONS),
    ],
)
def test_sizes_per_model_and_unit_length(model, size):
    assert model_dimensions(model) == size
    vectors = embed_texts(model, ["hello world", "a much longer sentence about nothing in particular", "!!"])
    assert vectors.shape == (3, size)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_same_text_same_vector_whatever_the_batch():
    text = "The quick brown fox jumps over the lazy dog"
    alone = embed_texts(MODEL, [text])[0]
    padded = embed_texts(MODEL, ["short", text, "word " * 900, *[f"filler {i}" for i in range(300)]])[1]
    assert np.array_equal(alone, padded)  # bit for bit, not just close
    assert not np.array_equal(alone, embed_texts("text-embedding-3-large", [text])[0][:1536])


def test_deterministic_across_processes():
    # A fresh interpreter with another hash seed must produce the very same bytes.
    code = (
        "from fakeai.modes.synthetic.embeddings import embed_texts;import hashlib,sys;"
        "vectors=embed_texts('text-embedding-3-small',['alpha beta','gamma']);"
        "sys.stdout.write(hashlib.sha256(vectors.tobytes()).hexdigest())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "12345"}
    ).stdout
    import hashlib

    assert out == hashlib.sha256(embed_texts(MODEL, ["alpha beta", "gamma"]).tobytes()).hexdigest()


def test_shared_words_are_closer_than_unrelated_texts():
    pairs = [
        ("machine learning with neural networks", "neural networks for machine translation", "yellow bananas"),
        ("the cat sat on the mat", "a cat on a mat", "quarterly revenue grew eleven percent"),
        ("python programming language", "programming in python is fun", "the weather in paris is rainy"),
        ("stock market crash", "market prices crash", "how to bake sourdough bread"),
    ]
    for anchor, related, unrelated in pairs:
        a, r, u = embed_texts(MODEL, [anchor, related, unrelated])
        assert cos(a, r) > cos(a, u) + 0.2, (anchor, cos(a, r), cos(a, u))
        assert abs(cos(a, u)) < 0.2
    # Same words in another order: close but not identical (the whole-text component).
    a, b = embed_texts(MODEL, ["red green blue", "blue green red"])
    assert 0.8 < cos(a, b) < 0.9999


def test_dimensions_is_the_renormalised_prefix():
    full = embed_texts(MODEL, ["dimension check"])[0]
    short = embed_texts(MODEL, ["dimension check"], 256)[0]
    assert short.shape == (256,)
    np.testing.assert_allclose(short, full[:256] / np.linalg.norm(full[:256]), rtol=1e-5, atol=1e-6)
    odd = embed_texts(MODEL, ["dimension check"], 100)[0]
    assert odd.shape == (100,) and abs(np.linalg.norm(odd) - 1) < 1e-5


def test_wide_vectors_are_signed_repeats_of_the_core_with_its_cosines():
    texts = ["machine learning with neural networks", "neural networks for translation", "yellow bananas", "!!"]
    core = embed_texts(MODEL, texts, 256)
    full = embed_texts(MODEL, texts)
    np.testing.assert_allclose(full @ full.T, core @ core.T, atol=1e-6)  # cosines are the core's
    blocks = full.reshape(len(texts), 6, 256)
    np.testing.assert_allclose(np.abs(blocks), np.broadcast_to(np.abs(core)[:, None, :] / np.sqrt(6), blocks.shape), rtol=1e-6, atol=1e-8)
    signs = np.sign(blocks * core[:, None, :])
    assert (signs[:, 0] >= 0).all() and (signs[:, 1:] < 0).any()  # block 0 is the core; the others flip
    assert np.array_equal(signs[0], signs[1])  # the same fixed signs for every text of a model
    other = embed_texts("text-embedding-ada-002", texts)  # the same width, another model: other signs
    assert not np.array_equal(np.sign(other.reshape(4, 6, 256)[0]), signs[0])


def test_token_arrays_embed_and_differ_from_each_other():
    one, two, same = embed_texts(MODEL, [[1, 2, 3], [4, 5, 6], [1, 2, 3]])
    assert np.array_equal(one, same)
    assert cos(one, two) < 0.3
    assert cos(*embed_texts(MODEL, [[1, 2, 3, 4], [1, 2, 3, 9]])) > 0.5


def test_input_shapes_and_errors():
    assert _check_inputs("hi")[:2] == (["hi"], [1])
    assert _check_inputs([1, 2, 3]) == ([[1, 2, 3]], [3], None)
    assert _check_inputs([[1, 2], [3]]) == ([[1, 2], [3]], [2, 1], None)
    assert _check_inputs(["a b", "c"])[1] == [2, 1]
    for bad in ([], [1, "a"], ["a", [1]], [""], [[]], "", ["x"] * 2049, "word " * 9000, [-1], [[1], [2**40]]):
        with pytest.raises(InvalidRequestError) as info:
            _check_inputs(bad)
        assert info.value.param == "input"


def test_base64_round_trip_is_little_endian_float32():
    import msgspec

    vectors = embed_texts(MODEL, ["one", "two"])
    body = msgspec.json.decode(_encode(MODEL, vectors, True, 2), type=EmbeddingList)
    assert body.usage.prompt_tokens == body.usage.total_tokens == 2 and body.model == MODEL
    for i, item in enumerate(body.data):
        assert item.index == i and item.object == "embedding"
        decoded = np.frombuffer(base64.b64decode(item.embedding), dtype="<f4")
        assert np.array_equal(decoded, vectors[i])
    floats = msgspec.json.decode(_encode(MODEL, vectors, False, 2), type=EmbeddingList).data
    np.testing.assert_allclose(floats[1].embedding, vectors[1], atol=1e-8)


def test_byte_lru_is_bounded_by_bytes():
    small = ByteLRU(budget=4000)
    for i in range(100):
        small.put(("m", None, "float", f"t{i}"), b"x" * 100)
    assert small.size <= 4000 and ("m", None, "float", "t99") in small.items
    assert small.get(("m", None, "float", "t0")) is None


def test_an_answer_is_kept_when_asked_for_again_within_what_the_cache_could_hold():
    cache = ByteLRU(budget=100_000)  # holds ~90 answers of 1 KB
    body = b"x" * 1000
    for round_ in range(2):  # 50 answers cycled: they fit, and are kept from their second request
        for i in range(50):
            cache.offer(("m", None, True, f"t{i}"), body)
    assert len(cache.items) == 50 and cache.get(("m", None, True, "t7")) == body
    cycled = ByteLRU(budget=100_000)
    for round_ in range(3):  # 1,000 answers cycled could never be served from it: none is kept
        for i in range(1000):
            cycled.offer(("m", None, True, f"t{i}"), body)
    assert len(cycled.items) == 0 and len(cycled.seen) <= 200


def test_batch_of_2048():
    # Its speed (~0.15 s on one core) is measured by bench/timing.py, not asserted here.
    texts = [f"passage {i} about topic {i % 37} and retrieval with vectors" for i in range(2048)]
    vectors = embed_texts(MODEL, texts)
    assert vectors.shape == (2048, 1536)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_repeated_request_is_answered_from_the_body_cache():
    import asyncio

    from fakeai.modes.synthetic.context import SyntheticContext
    from fakeai.modes.synthetic.embeddings import BODIES, create_embeddings
    from fakeai.schemas.embeddings import EmbeddingRequest
    from fakeai.settings import Settings

    ctx = SyntheticContext(Settings(), None)
    request = EmbeddingRequest(model=MODEL, input=[[5, 6], [7]], encoding_format="base64", dimensions=32)
    BODIES.clear()
    first = asyncio.run(create_embeddings(ctx, request)).content
    assert len(BODIES.items) == 0  # asked for once: remembered, not kept
    assert asyncio.run(create_embeddings(ctx, request)).content == first
    assert len(BODIES.items) == 1  # asked for again: kept
    assert asyncio.run(create_embeddings(ctx, request)).content == first
    with pytest.raises(InvalidRequestError):  # errors are never cached
        asyncio.run(create_embeddings(ctx, EmbeddingRequest(model=MODEL, input="x", dimensions=4096)))
    assert len(BODIES.items) == 1


def test_same_vector_whichever_way_the_batch_is_computed(monkeypatch):
    import fakeai.modes.synthetic.embeddings as embeddings

    text = "The quick brown fox jumps over the lazy dog, the end"
    alone = embed_texts(MODEL, [text])[0]
    # A non-ASCII neighbour sends the batch through the regex path; the words hash the same.
    assert np.array_equal(alone, embed_texts(MODEL, ["naïve café über", text])[1])
    # Many distinct words per input: summed by a gather per occurrence instead of a matrix product.
    sparse = [" ".join(f"w{i}x{j}" for j in range(60)) for i in range(40)]
    assert np.array_equal(alone, embed_texts(MODEL, [*sparse, text])[-1])
    # Tiny chunks: the text's words are split across several chunks and summed back exactly.
    monkeypatch.setattr(embeddings, "GATHER_FLOATS", 1536 * 5)
    assert np.array_equal(alone, embed_texts(MODEL, ["padding words here", text])[1])
    # Case and punctuation do not change the words; a non-ASCII word is a word like any other.
    a, b, c = embed_texts(MODEL, ["Café au lait", "café AU LAIT!", "tea with milk"])
    assert cos(a, b) > 0.8 and cos(a, c) < 0.3  # not 1: the whole-text component differs


def test_base64_rows_whatever_their_byte_count():
    import msgspec

    for dims in (100, 96, 1):  # 400 bytes (not a multiple of 3), 384 bytes (one is), 4 bytes
        vectors = embed_texts(MODEL, ["one", "two", "three"], dims)
        body = msgspec.json.decode(_encode(MODEL, vectors, True, 3), type=EmbeddingList)
        for i, item in enumerate(body.data):
            assert np.array_equal(np.frombuffer(base64.b64decode(item.embedding), dtype="<f4"), vectors[i])


# sha256 of whole answer bodies, vectors and usage alike. First computed before the piece memo (commit
# ee620b2), so that speed-ups keep answers bit for bit; recomputed once, deliberately, when wide models
# began to repeat a 256-wide core (answers of up to 256 dimensions, "dims" at 1, 100 and 256, kept theirs).
GOLDEN = {
    "distinct": "a6bf8d99e77589c4c8406f465c8e49cc736e6d7569bb9501e6490345f14817d8",
    "float16": "a650ebfb91e2156f10fe4602ac876d22df773cd4325cea9a5d392e4da4e49f5c",
    "dims": "6da7f226d54b74a1d9bd579b257297f0af93d80e8396a1c687ce5d27204e384b",
    "tokens": "da7cd9a53d459aaa1f20c4cfda04b4da24251a4b926ef8369f9e9db7d63c8e17",
    "unicode": "53e2c988fdf1008ddf351610c1071621be2f1ea9a86c182692bd0a4cd98df7a8",
    "single": "0f02ff193ce030eb30d871b973e7d6f00062813c4337d690f9e3e84b2dd7b280",
    "long": "15cfc3e1d042626b4d30e0ae724a6a68a6571b48694a6e560669abe95ca86da8",
    "many": "a97360a0250b8c6cf35dd336049d5d5e3fa6750ccb2ab1b499681065b80a2c37",
}


def golden_requests() -> dict[str, list[dict]]:
    texts16 = [f"benchmark sentence number {i} about vector retrieval and ranking" for i in range(16)]
    small = "text-embedding-3-small"
    return {
        # Every 150th body of the benchmark's emb-distinct scenario (bench/scenarios.py).
        "distinct": [
            {"model": small, "encoding_format": "base64", "input": [f"{t} (variant {j})" for t in texts16]}
            for j in range(0, 3000, 150)
        ],
        "float16": [{"model": small, "encoding_format": "float", "input": texts16}],
        "dims": [
            {"model": small, "input": ["The cat sat on the mat.", "Dogs, cats & birds!"], "dimensions": d,
             "encoding_format": f}
            for d in (1, 100, 256, 1000)
            for f in ("float", "base64")
        ],
        "tokens": [
            {"model": small, "input": [[1, 2, 3], [70000, 5]], "encoding_format": "base64"},
            {"model": "all-minilm", "input": [5, 6, 7]},
        ],
        "unicode": [
            {"model": "text-embedding-3-large", "input": ["naïve café über", "日本語のテキスト",
                                                         "MiXeD CaSe_words and_stuff 123 4567"],
             "encoding_format": "base64"}
        ],
        "single": [
            {"model": "nv-embed-v2", "input": "hello world"},
            {"model": "some/unknown", "input": "Hello, World!  ", "encoding_format": "base64"},
        ],
        "long": [
            {"model": small, "encoding_format": "base64",
             "input": [" ".join(f"w{i}x{j}" for j in range(60)) for i in range(40)] + ["the " * 3000]}
        ],
        "many": [
            {"model": small, "encoding_format": "base64", "dimensions": 512,
             "input": [f"passage {i} about topic {i % 37} and retrieval with vectors" for i in range(600)]}
        ],
    }


@pytest.mark.parametrize("memo", ["cold", "warm"])
def test_answers_are_bit_for_bit_those_of_before(memo):
    import asyncio
    import hashlib

    from fakeai.modes.synthetic import textpieces
    from fakeai.modes.synthetic.context import SyntheticContext
    from fakeai.modes.synthetic.embeddings import BODIES, create_embeddings
    from fakeai.schemas.embeddings import EmbeddingRequest
    from fakeai.settings import Settings

    ctx = SyntheticContext(Settings(), None)
    if memo == "cold":
        for table in (textpieces._TOKENS, textpieces._WORDS, textpieces._FIRST):
            table.clear()
    for name, requests in golden_requests().items():
        digest = hashlib.sha256()
        for request in requests:
            BODIES.clear()
            digest.update(asyncio.run(create_embeddings(ctx, EmbeddingRequest(**request))).content)
        assert digest.hexdigest() == GOLDEN[name], name
