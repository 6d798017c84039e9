"""The one synthetic ranker in three dialects: NVIDIA NIM ``POST /v1/ranking``, Cohere
``POST /v2/rerank`` (and ``/v1/rerank``), Hugging Face TEI ``POST /rerank``.

The two routes outside ``/v1`` carry the API-key guard themselves (the root router has none).
"""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.auth import require_api_key
from fakeai.api.openapi import documented
from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import lazy
from fakeai.schemas.ranking import (
    CohereRerankRequest,
    CohereRerankResponse,
    NimRankingRequest,
    NimRankingResponse,
    NimText,
    TeiRerankRequest,
    TeiResult,
)

synthetic = lazy("ranking")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["V1_HANDLERS", "ROOT_HANDLERS"]

_NIM = msgspec.json.Decoder(NimRankingRequest)
_COHERE = msgspec.json.Decoder(CohereRerankRequest)
_TEI = msgspec.json.Decoder(TeiRerankRequest)

_QUERY, _PASSAGES = "What is the capital of France?", ["Paris is the capital of France.", "Berlin is in Germany."]
_COHERE_DOC = documented(
    "Ranking",
    "Rerank documents (Cohere)",
    body=CohereRerankRequest,
    example=CohereRerankRequest(model="rerank-v3.5", query=_QUERY, documents=list(_PASSAGES)),
    ok=CohereRerankResponse,
)


@post(
    "/ranking",
    status_code=200,
    **documented(
        "Ranking",
        "Rank passages (NVIDIA NIM)",
        body=NimRankingRequest,
        example=NimRankingRequest(
            model="nvidia/nv-rerankqa-mistral-4b-v3", query=NimText(_QUERY), passages=[NimText(p) for p in _PASSAGES]
        ),
        ok=NimRankingResponse,
    ),
)
async def nim_ranking(request: Request) -> Response:
    return await answer_json(request, _NIM, lambda ctx, body: synthetic.nim_ranking(ctx, body))


@post("/rerank", status_code=200, **_COHERE_DOC)
async def cohere_rerank_v1(request: Request) -> Response:
    return await answer_json(request, _COHERE, lambda ctx, body: synthetic.cohere_rerank(ctx, body))


@post("/v2/rerank", status_code=200, guards=[require_api_key], **_COHERE_DOC)
async def cohere_rerank_v2(request: Request) -> Response:
    return await answer_json(request, _COHERE, lambda ctx, body: synthetic.cohere_rerank(ctx, body))


@post(
    "/rerank",
    status_code=200,
    guards=[require_api_key],
    **documented(
        "Ranking",
        "Rerank texts (Hugging Face TEI)",
        body=TeiRerankRequest,
        example=TeiRerankRequest(query=_QUERY, texts=list(_PASSAGES)),
        ok=list[TeiResult],
    ),
)
async def tei_rerank(request: Request) -> Response:
    return await answer_json(request, _TEI, lambda ctx, body: synthetic.tei_rerank(ctx, body))


V1_HANDLERS = [nim_ranking, cohere_rerank_v1]
ROOT_HANDLERS = [cohere_rerank_v2, tei_rerank]
