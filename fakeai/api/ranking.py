"""The one synthetic ranker in three dialects: NVIDIA NIM ``POST /v1/ranking``, Cohere
``POST /v2/rerank`` (and ``/v1/rerank``), Hugging Face TEI ``POST /rerank``.

The two routes outside ``/v1`` carry the API-key guard themselves (the root router has none).
"""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from fakeai.api.auth import require_api_key
from fakeai.api.replies import answer_json
from fakeai.modes.synthetic import ranking as synthetic
from fakeai.schemas.ranking import CohereRerankRequest, NimRankingRequest, TeiRerankRequest

__all__ = ["V1_HANDLERS", "ROOT_HANDLERS"]

_NIM = msgspec.json.Decoder(NimRankingRequest)
_COHERE = msgspec.json.Decoder(CohereRerankRequest)
_TEI = msgspec.json.Decoder(TeiRerankRequest)


@post("/ranking", status_code=200)
async def nim_ranking(request: Request) -> Response:
    return await answer_json(request, _NIM, synthetic.nim_ranking)


@post("/rerank", status_code=200)
async def cohere_rerank_v1(request: Request) -> Response:
    return await answer_json(request, _COHERE, synthetic.cohere_rerank)


@post("/v2/rerank", status_code=200, guards=[require_api_key])
async def cohere_rerank_v2(request: Request) -> Response:
    return await answer_json(request, _COHERE, synthetic.cohere_rerank)


@post("/rerank", status_code=200, guards=[require_api_key])
async def tei_rerank(request: Request) -> Response:
    return await answer_json(request, _TEI, synthetic.tei_rerank)


V1_HANDLERS = [nim_ranking, cohere_rerank_v1]
ROOT_HANDLERS = [cohere_rerank_v2, tei_rerank]
