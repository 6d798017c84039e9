"""Embeddings request and response, as ``openai.types.CreateEmbeddingResponse`` describes them.

Unknown request fields are ignored (msgspec's default), so NIM's ``input_type``/``truncate`` and
future SDK fields pass through.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec

__all__ = ["Embedding", "EmbeddingList", "EmbeddingRequest", "EmbeddingUsage"]

# One array kind per union is all msgspec allows, so the "list of strings / token array / list of
# token arrays" cases share one list type; the synthetic generator checks that a list is homogeneous.
EmbeddingInput = Union[str, list[Union[str, int, list[int]]]]


class EmbeddingRequest(msgspec.Struct, kw_only=True):
    model: str
    input: EmbeddingInput
    encoding_format: Literal["float", "base64"] | None = None  # None: float, as the HTTP API defaults
    dimensions: int | None = None
    user: str | None = None
    input_type: str | None = None  # NIM's "query" | "passage"; accepted, same vector either way
    truncate: str | None = None  # NIM's NONE | START | END


class Embedding(msgspec.Struct, kw_only=True):
    object: str = "embedding"
    # A list of floats, or for encoding_format=base64 the little-endian float32 bytes in base64.
    embedding: Any
    index: int


class EmbeddingUsage(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
