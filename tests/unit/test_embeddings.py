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
    body = msgspec.json.decode(_encode(MODEL, ["one", "two"], None, True, 2), type=EmbeddingList)
    assert body.usage.prompt_tokens == body.usage.total_tokens == 2 and body.model == MODEL
    for i, item in enumerate(body.data):
        assert item.index == i and item.object == "embedding"
        decoded = np.frombuffer(base64.b64decode(item.embedding), dtype="<f4")
        assert np.array_equal(decoded, vectors[i])
    floats = msgspec.json.decode(_encode(MODEL, ["one", "two"], None, False, 2), type=EmbeddingList).data
    np.testing.assert_allclose(floats[1].embedding, vectors[1], atol=1e-8)


def test_byte_lru_is_bounded_by_bytes():
    small = ByteLRU(budget=4000)
    for i in range(100):
        small.put(("m", None, "float", f"t{i}"), b"x" * 100)
    assert small.size <= 4000 and ("m", None, "float", "t99") in small.items
    assert small.get(("m", None, "float", "t0")) is None


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
    assert len(BODIES.items) == 1
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
        body = msgspec.json.decode(_encode(MODEL, ["one", "two", "three"], dims, True, 3), type=EmbeddingList)
        for i, item in enumerate(body.data):
            assert np.array_equal(np.frombuffer(base64.b64decode(item.embedding), dtype="<f4"), vectors[i])


# sha256 of whole answer bodies, computed with the implementation before the piece memo (commit
# ee620b2): answers must stay bit for bit what they were, vectors and usage alike.
GOLDEN = {
    "distinct": "11ff8eec617e6232f7a1dc47c3e5391d73e27dfdb25d926448e464257b416525",
    "float16": "16bd8750efdad3bfe336e6ff10cd2645240cd5824e3cb1cd7e435d8cca2cd388",
    "dims": "aacccb0dc75b896b468350eee4d54ad4b5f156652be454bf667fc44be4c49ea0",
    "tokens": "face59e63a7fa1c512f4ae177d3a5ea607c06e11c0d49e0486248b391a624b84",
    "unicode": "6639dd78eccbcbb00cc6e747c8da377907f2f6f94ad0fd1017751bf07cb63daa",
    "single": "69cf08a8bb1295a7a34957d77f14e9eb979ba79fcc760aced5c8159cede821ef",
    "long": "85fc9000b749bd52a0017d7059f24f75e1da266266db18bb4129357ab2bfb588",
    "many": "eee31a83ed3837c162f5561683e60a292c50dfbcf477fb59eb404fe05eddcb55",
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
