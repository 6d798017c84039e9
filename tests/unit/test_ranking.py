import asyncio

import msgspec
import pytest

from fakeai.errors import InvalidRequestError
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.ranking import (
    MAX_PAIR_TOKENS,
    cohere_rerank,
    fit_pairs,
    logits_of,
    nim_ranking,
    score,
    tei_rerank,
    truncate_tokens,
)
from fakeai.modes.synthetic.tokenizer import count_tokens
from fakeai.schemas.ranking import CohereRerankRequest, NimRankingRequest, NimText, TeiRerankRequest
from fakeai.settings import Settings

CTX = SyntheticContext(Settings(), None)


def run(coro):
    return msgspec.json.decode(asyncio.run(coro).content)


def test_a_shared_word_outranks_no_shared_word():
    cases = [
        ("What is machine learning?", ["Bananas are yellow", "Machine learning learns from data", "Rust is safe"]),
        ("capital of France", ["Paris is the capital of France", "The moon orbits the earth", "Cats purr"]),
        ("sourdough", ["A recipe for sourdough bread " + "filler " * 200, "Sixteen unrelated words here"] * 3),
    ]
    for query, passages in cases:
        logits = score(query, passages)
        for i, passage in enumerate(passages):
            for j, other in enumerate(passages):
                shares = set(query.lower().split()) & set(passage.lower().split())
                if shares and not set(query.lower().split()) & set(other.lower().split()):
                    assert logits[i] > logits[j], (query, passage, other)
    # More of the query matched ranks higher; results stay in a cross-encoder's logit range.
    logits = score("fast red car", ["red car", "fast red car", "car", "boat"])
    assert list(logits.argsort()[::-1]) == [1, 0, 2, 3]
    assert -11 < logits.min() < logits.max() < 11


def test_a_word_every_passage_has_still_beats_none():
    passages = [f"python snippet number {i}" for i in range(50)] + ["java only here"]
    logits = score("python", passages)
    assert logits[:50].min() > logits[50]


def test_deterministic_and_memoised_logits_are_the_same():
    passages = ["alpha beta", "gamma delta", "beta gamma"]
    assert (score("beta", passages) == score("beta", passages)).all()
    for texts in (passages, passages + ["x" * 20_000]):  # the second is past the memo's size limit
        assert (logits_of("beta", texts, "m") == score("beta", texts, "m")).all()
        assert (logits_of("beta", texts, "m") == logits_of("beta", texts, "m")).all()
    nim = NimRankingRequest(query=NimText("beta"), passages=[NimText(p) for p in passages])
    first = run(nim_ranking(CTX, nim))
    assert first == run(nim_ranking(CTX, nim))
    ranks = first["rankings"]
    assert [r["logit"] for r in ranks] == sorted((r["logit"] for r in ranks), reverse=True)
    assert sorted(r["index"] for r in ranks) == [0, 1, 2]
    assert ranks[-1]["index"] == 1


def test_truncate_none_refuses_and_end_cuts():
    long_passage = "word " * 1000
    with pytest.raises(InvalidRequestError) as info:
        fit_pairs("query", ["short", long_passage], truncate=False)
    assert info.value.param == "passages[1]"
    fitted = fit_pairs("query", ["short", long_passage], truncate=True)
    assert fitted[0] == "short"
    assert count_tokens("query") + count_tokens(fitted[1]) <= MAX_PAIR_TOKENS
    assert long_passage.startswith(fitted[1])
    with pytest.raises(InvalidRequestError) as info:
        fit_pairs("q " * 600, ["p"], truncate=False)
    assert info.value.param == "query"
    assert truncate_tokens("one two three", 2) == "one two"


def test_cohere_top_n_documents_and_scores():
    request = CohereRerankRequest(
        query="deep learning", documents=["cooking pasta", {"text": "deep learning models"}, "learning to swim"],
        top_n=2, return_documents=True,
    )
    request = msgspec.convert(msgspec.to_builtins(request), CohereRerankRequest)
    body = run(cohere_rerank(CTX, request))
    assert [r["index"] for r in body["results"]] == [1, 2]
    assert body["results"][0]["document"] == {"text": "deep learning models"}
    assert 0 < body["results"][1]["relevance_score"] < body["results"][0]["relevance_score"] < 1
    assert body["meta"]["billed_units"]["search_units"] == 1 and body["id"]
    plain = run(cohere_rerank(CTX, CohereRerankRequest(query="deep learning", documents=["a", "b"])))
    assert all("document" not in r for r in plain["results"]) and len(plain["results"]) == 2


def test_tei_scores_sorted_with_text_and_raw_scores():
    body = run(tei_rerank(CTX, TeiRerankRequest(query="what is ai", texts=["bananas", "ai is artificial"],
                                                return_text=True)))
    assert [r["index"] for r in body] == [1, 0]
    assert body[0]["text"] == "ai is artificial" and 0 < body[1]["score"] < body[0]["score"] < 1
    raw = run(tei_rerank(CTX, TeiRerankRequest(query="what is ai", texts=["bananas"], raw_scores=True)))
    assert raw[0]["score"] < 0 and "text" not in raw[0]


def test_logits_identical_in_another_process():
    import subprocess
    import sys

    query, passages = "a b c d e f g h quick brown fox", ["quick fox", "brown dog", "h g f e d c b a"]
    code = (
        "from fakeai.modes.synthetic.ranking import score;import sys;"
        f"sys.stdout.write(score({query!r}, {passages!r}).tobytes().hex())"
    )
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": seed}).stdout
        assert out == score(query, passages).tobytes().hex()


def test_term_counting_paths_agree(monkeypatch):
    import fakeai.modes.synthetic.ranking as ranking

    query = "what is the capital of france and of its regions"
    passages = ["Paris is the capital of France", "Regions of France: Brittany", "Cats purr", "the the the"]
    monkeypatch.setattr(ranking, "FEW_TERMS", 0)  # Counter per passage
    counted = score(query, passages)
    monkeypatch.setattr(ranking, "FEW_TERMS", 100)  # list.count per query word
    assert (score(query, passages) == counted).all()
    assert counted[0] > counted[2] and counted[1] > counted[2]
