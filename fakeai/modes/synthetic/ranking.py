"""The synthetic ranker behind NIM's ``/v1/ranking``, Cohere's ``/v2/rerank`` and TEI's ``/rerank``.

A passage's logit is BM25 of the query's words in the passage (IDF taken over the passages of the
request, so a word every passage has counts little), squashed into the range a cross-encoder
reranker answers in (about -10 for unrelated text to +10 for a close match), plus a small jitter
from a crc32 of (model, query, passage) so passages sharing no word still get distinct, stable logits.
A passage sharing a query word always outranks one that shares none: any match adds more to the
logit than the jitter can take away.
"""

from __future__ import annotations

import math
import re
import uuid
import zlib
from collections import Counter
from functools import lru_cache

import numpy as np

from fakeai.errors import InvalidRequestError
from fakeai.modes.base import Body
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.embeddings import STOPWORD_WEIGHT, STOPWORDS
from fakeai.modes.synthetic.tokenizer import count_tokens, tokenize
from fakeai.schemas import encode_json
from fakeai.schemas.ranking import (
    CohereDocument,
    CohereMeta,
    CohereRerankRequest,
    CohereRerankResponse,
    CohereResult,
    NimRanking,
    NimRankingRequest,
    NimRankingResponse,
    TeiRerankRequest,
    TeiResult,
)

__all__ = ["MAX_PAIR_TOKENS", "cohere_rerank", "nim_ranking", "score", "tei_rerank"]

DEFAULT_MODEL = "nvidia/nv-rerankqa-mistral-4b-v3"
MAX_PAIR_TOKENS = 512  # query + passage, as NIM's rerankqa models allow
MAX_PASSAGES = 1000
LOGIT_FLOOR = -10.0  # an unrelated passage
LOGIT_SPAN = 20.0  # a perfect match approaches LOGIT_FLOOR + LOGIT_SPAN
COVERAGE_WEIGHT = 3.0
# Jitter is within +/-0.25: it orders passages without shared words but cannot outweigh one shared word
# (worth about a logit or more, for queries of up to 20 words).
JITTER = 0.5
CACHE_CHARS = 16 * 1024  # requests up to this much text have their logits memoised (1024 of them)
BM25_K1 = 1.2
BM25_B = 0.75
FEW_TERMS = 8

_WORD = re.compile(r"\w+")

def truncate_tokens(text: str, limit: int) -> str:
    """The first ``limit`` tokens of ``text`` (by the synthetic tokenizer)."""
    if limit <= 0:
        return ""
    pieces = tokenize(text)
    return text if len(pieces) <= limit else "".join(pieces[:limit])


def _room(query: str, truncate: bool, limit: int) -> int:
    """Tokens left for a passage beside ``query``; a 400 when the query alone fills them and truncating is off."""
    room = limit - count_tokens(query)
    if room < 1 and not truncate:
        raise InvalidRequestError(
            f"Input length exceeds the maximum of {limit} tokens: the query alone has {limit - room} "
            "tokens. Shorten it or set truncate to END.",
            param="query",
        )
    return room


def fit_pairs(query: str, passages: list[str], truncate: bool, limit: int = MAX_PAIR_TOKENS) -> list[str]:
    """Passages cut so that query + passage fits ``limit`` tokens, or a 400 when ``truncate`` is off.

    A token covers at least one character, so a pair shorter than ``limit`` characters fits without
    counting: the commonest case, and counting every passage was a quarter of a ranking request."""
    room: int | None = None
    fitted: list[str] = []
    short = limit - len(query)
    for i, passage in enumerate(passages):
        if len(passage) < short:
            fitted.append(passage)
            continue
        if room is None:
            room = _room(query, truncate, limit)
        tokens = count_tokens(passage)
        if tokens <= room:
            fitted.append(passage)
        elif truncate:
            fitted.append(truncate_tokens(passage, room))
        else:
            raise InvalidRequestError(
                f"Input length exceeds the maximum of {limit} tokens: the query and passage {i} together have "
                f"{tokens + limit - room} tokens. Shorten the passage or set truncate to END.",
                param=f"passages[{i}]",
            )
    if room is None and short <= 0:  # no passage needed counting, but the query alone may be too long
        _room(query, truncate, limit)
    return fitted


def score(query: str, passages: list[str], model: str = DEFAULT_MODEL) -> np.ndarray:
    """One logit per passage (float64): higher is more relevant. Deterministic.

    Plain Python over the (query word, passage) pairs that match: a request holds a few query words
    and tens of passages, where numpy's per-call cost would exceed the arithmetic.
    """
    n = len(passages)
    if not n:
        return np.zeros(0)
    findall = _WORD.findall
    docs = [findall(p.lower()) for p in passages]
    lengths = [len(words) for words in docs]
    mean = max(sum(lengths) / n, 1.0)
    norms = [BM25_K1 * (1.0 - BM25_B + BM25_B * length / mean) for length in lengths]
    terms = sorted(set(findall(query.lower())))  # sorted: set order varies by process, float sums would too
    # A few query words: list.count (in C) beats building a Counter per passage.
    counted = [Counter(words) for words in docs] if len(terms) > FEW_TERMS else None
    bm25 = [0.0] * n
    covered = [0.0] * n
    query_weight = 0.0
    for term in terms:
        weight = STOPWORD_WEIGHT if term in STOPWORDS else 1.0
        query_weight += weight
        if counted is None:
            hits = [(i, tf) for i, words in enumerate(docs) if (tf := words.count(term))]
        else:
            hits = [(i, tf) for i, d in enumerate(counted) if (tf := d.get(term))]
        if not hits:
            continue
        df = len(hits)
        idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))  # always > 0: a match never lowers the score
        for i, tf in hits:
            bm25[i] += weight * idf * tf * (BM25_K1 + 1.0) / (tf + norms[i])
            covered[i] += weight
    # Coverage (the share of the query's words present) keeps a match worth at least
    # 3 / words_in_query before saturation, however common the word or long the passage.
    coverage = COVERAGE_WEIGHT / max(query_weight, 1.0)
    seed = zlib.crc32((model + "\0" + query + "\0").encode())
    exp, crc32 = math.exp, zlib.crc32
    # 1 - exp(-x/3) saturates: three strong matches reach ~65% of the span, a dozen nearly all of it.
    return np.array(
        [
            LOGIT_FLOOR
            + LOGIT_SPAN * (1.0 - exp(-(b + coverage * c) / 3.0))
            + JITTER * (crc32(p.encode(), seed) / 2.0**32 - 0.5)
            for b, c, p in zip(bm25, covered, passages)
        ]
    )


@lru_cache(maxsize=1024)
def _score_cached(query: str, passages: tuple[str, ...], model: str) -> tuple[float, ...]:
    return tuple(score(query, list(passages), model).tolist())


def logits_of(query: str, passages: list[str], model: str) -> np.ndarray:
    """``score``, memoised for requests up to ``CACHE_CHARS`` of text: load tests repeat requests."""
    if len(query) + sum(len(p) for p in passages) > CACHE_CHARS:
        return score(query, passages, model)
    return np.array(_score_cached(query, tuple(passages), model))


def _order(logits: np.ndarray) -> list[int]:
    """Indices by logit, highest first; ties by index (a stable sort) so the order never depends on
    sorting details."""
    return np.argsort(-logits, kind="stable").tolist()


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _model(ctx: SyntheticContext, model: str | None) -> str:
    if model:
        ctx.catalogue.require(model)
        return model
    return DEFAULT_MODEL


def _check_count(count: int, field: str) -> None:
    if not count:
        raise InvalidRequestError(f"'{field}' must contain at least one item.", param=field)
    if count > MAX_PASSAGES:
        raise InvalidRequestError(f"'{field}' can hold at most {MAX_PASSAGES} items; got {count}.", param=field)


async def nim_ranking(ctx: SyntheticContext, request: NimRankingRequest) -> Body:
    model = _model(ctx, request.model)
    _check_count(len(request.passages), "passages")
    query = request.query.text
    passages = fit_pairs(query, [p.text for p in request.passages], request.truncate == "END")
    logits = logits_of(query, passages, model)
    values = logits.tolist()
    rankings = [NimRanking(index=i, logit=round(values[i], 4)) for i in _order(logits)]
    return Body(content=encode_json(NimRankingResponse(rankings=rankings)))


async def cohere_rerank(ctx: SyntheticContext, request: CohereRerankRequest) -> Body:
    model = _model(ctx, request.model)
    _check_count(len(request.documents), "documents")
    if request.top_n is not None and request.top_n < 1:
        raise InvalidRequestError("'top_n' must be at least 1.", param="top_n")
    if request.max_tokens_per_doc is not None and request.max_tokens_per_doc < 1:
        raise InvalidRequestError("'max_tokens_per_doc' must be at least 1.", param="max_tokens_per_doc")
    texts = [d if isinstance(d, str) else d.text for d in request.documents]
    limit = request.max_tokens_per_doc or 4096
    scored = [truncate_tokens(t, limit) for t in texts]  # Cohere truncates long documents, never refuses
    logits = logits_of(request.query, scored, model)
    order = _order(logits)[: request.top_n or None]
    results = [
        CohereResult(
            index=i,
            relevance_score=round(sigmoid(float(logits[i])), 6),
            document=CohereDocument(text=texts[i]) if request.return_documents else None,
        )
        for i in order
    ]
    tokens = count_tokens(request.query) * len(texts) + sum(count_tokens(t) for t in scored)
    reply = CohereRerankResponse(
        id=str(uuid.uuid4()), results=results, meta=CohereMeta(), model=model, usage={"total_tokens": tokens}
    )
    return Body(content=encode_json(reply))


async def tei_rerank(ctx: SyntheticContext, request: TeiRerankRequest) -> Body:
    _check_count(len(request.texts), "texts")
    passages = fit_pairs(request.query, request.texts, bool(request.truncate))
    logits = logits_of(request.query, passages, DEFAULT_MODEL)
    results = [
        TeiResult(
            index=i,
            score=round(float(logits[i]) if request.raw_scores else sigmoid(float(logits[i])), 6),
            text=request.texts[i] if request.return_text else None,
        )
        for i in _order(logits)
    ]
    return Body(content=encode_json(results))

