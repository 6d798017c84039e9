"""Ranking requests and responses in the three dialects the one ranker serves.

- NVIDIA NIM ``POST /v1/ranking``: ``{"query": {"text"}, "passages": [{"text"}], "truncate"}`` ->
  ``{"rankings": [{"index", "logit"}]}``.
- Cohere ``POST /v2/rerank`` (and ``/v1/rerank``): ``{"query": str, "documents": [str | {"text"}],
  "top_n", "return_documents"}`` -> ``{"id", "results": [{"index", "relevance_score", "document"?}], "meta"}``.
- Hugging Face TEI ``POST /rerank``: ``{"query", "texts", "return_text", "truncate", "raw_scores"}`` ->
  ``[{"index", "score", "text"?}]``.

Unknown fields are ignored so clients that send extras (``model`` to TEI, ``max_chunks_per_doc``) work.
"""

from __future__ import annotations

from typing import Literal, Union

import msgspec

__all__ = [
    "CohereDocument",
    "CohereMeta",
    "CohereRerankRequest",
    "CohereRerankResponse",
    "CohereResult",
    "NimRanking",
    "NimRankingRequest",
    "NimRankingResponse",
    "NimText",
    "TeiRerankRequest",
    "TeiResult",
]


class NimText(msgspec.Struct):
    text: str


class NimRankingRequest(msgspec.Struct, kw_only=True):
    model: str | None = None
    query: NimText
    passages: list[NimText]
    truncate: Literal["NONE", "END"] = "NONE"


class NimRanking(msgspec.Struct, kw_only=True):
    index: int
    logit: float


class NimRankingResponse(msgspec.Struct, kw_only=True):
    rankings: list[NimRanking]


class CohereDocument(msgspec.Struct):
    text: str


class CohereRerankRequest(msgspec.Struct, kw_only=True):
    model: str | None = None
    query: str
    documents: list[Union[str, CohereDocument]]
    top_n: int | None = None
    return_documents: bool = False
    max_tokens_per_doc: int | None = None  # v2: longer documents are truncated, never refused


class CohereResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    relevance_score: float
    document: CohereDocument | None = None


class CohereBilledUnits(msgspec.Struct, kw_only=True):
    search_units: int = 1


class CohereApiVersion(msgspec.Struct, kw_only=True):
    version: str = "2"


class CohereMeta(msgspec.Struct, kw_only=True):
    api_version: CohereApiVersion = msgspec.field(default_factory=CohereApiVersion)
    billed_units: CohereBilledUnits = msgspec.field(default_factory=CohereBilledUnits)


class CohereRerankResponse(msgspec.Struct, kw_only=True):
    id: str
    results: list[CohereResult]
    meta: CohereMeta
    model: str | None = None  # vLLM's rerank adds these two; Cohere clients ignore them
    usage: dict[str, int] | None = None


class TeiRerankRequest(msgspec.Struct, kw_only=True):
    query: str
    texts: list[str]
    return_text: bool = False
    truncate: bool | None = None
    raw_scores: bool = False  # TEI: true gives the logit, false its sigmoid


class TeiResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    score: float
    text: str | None = None
