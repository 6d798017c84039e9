"""Azure-style ``POST /v1/text/generation``, as the seed reference shows it."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

__all__ = ["TextGenerationRequest", "TextGenerationResponse", "TextGenerationUsage"]


class TextGenerationRequest(msgspec.Struct, kw_only=True):
    input: str
    model: Annotated[str, Meta(min_length=1)]
    max_output_tokens: Annotated[int, Meta(ge=1)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    stop: str | Annotated[list[str], Meta(max_length=4)] | None = None
    seed: int | None = None
    user: str | None = None


class TextGenerationUsage(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class TextGenerationResponse(msgspec.Struct, kw_only=True):
    id: str
    created: int
    output: str
    model: str
    usage: TextGenerationUsage
