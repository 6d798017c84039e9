"""Legacy completions on the wire (``openai.types.Completion``), and the Azure text-generation pair."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from fakeai.schemas.chat import StreamOptions

__all__ = ["CompletionRequest", "Completion", "CompletionChoice", "CompletionLogprobs", "CompletionUsage"]


class CompletionRequest(msgspec.Struct, kw_only=True):
    model: Annotated[str, Meta(min_length=1)]
    # str | list[str] | list[int] | list[list[int]]: msgspec unions allow one array type, so the list is
    # checked element by element in the mode (errors still name 'prompt').
    prompt: str | list[Any] | None = None
    suffix: str | None = None
    max_tokens: Annotated[int, Meta(ge=0)] | None = 16
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    logprobs: Annotated[int, Meta(ge=0, le=5)] | None = None
    echo: bool | None = None
    stop: str | Annotated[list[str], Meta(max_length=4)] | None = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    best_of: Annotated[int, Meta(ge=1, le=20)] | None = None
    logit_bias: dict[str, float] | None = None
    seed: int | None = None
    user: str | None = None
    ignore_eos: bool | None = None  # vLLM
    min_tokens: Annotated[int, Meta(ge=0)] | None = None  # vLLM


class CompletionLogprobs(msgspec.Struct):
    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(msgspec.Struct, kw_only=True):
    text: str
    index: int
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None


class CompletionUsage(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Completion(msgspec.Struct, kw_only=True):
    id: str
    object: str = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage
    system_fingerprint: str = "fp_fakeai"
