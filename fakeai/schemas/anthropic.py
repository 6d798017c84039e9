"""Anthropic's Messages API on the wire, following ``anthropic.types`` (the official SDK is the authority).

Requests are lenient where Anthropic's are (unknown fields ignored, content block types the synthetic
model does not act on accepted), strict where a real server would answer 400 (``max_tokens`` missing,
``temperature`` out of range, an unknown block type). The answer Structs encode in the field order the
API sends.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta

__all__ = [
    "AnthropicError",
    "AnthropicErrorDetail",
    "AnthropicModel",
    "AnthropicModelList",
    "CountTokensRequest",
    "Message",
    "MessageParam",
    "MessagesRequest",
    "TextBlock",
    "ThinkingBlock",
    "TokensCount",
    "ToolUseBlock",
    "Usage",
]


# --- request: content blocks ------------------------------------------------------------------------------
class CacheControl(msgspec.Struct, kw_only=True):
    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None


class TextParam(msgspec.Struct, tag_field="type", tag="text", kw_only=True):
    text: str
    cache_control: CacheControl | None = None
    citations: list[dict[str, Any]] | None = None


class ImageParam(msgspec.Struct, tag_field="type", tag="image", kw_only=True):
    source: dict[str, Any]
    cache_control: CacheControl | None = None


class DocumentParam(msgspec.Struct, tag_field="type", tag="document", kw_only=True):
    source: dict[str, Any]
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None
    cache_control: CacheControl | None = None


class SearchResultParam(msgspec.Struct, tag_field="type", tag="search_result", kw_only=True):
    source: str
    title: str
    content: list[TextParam]
    cache_control: CacheControl | None = None


class ToolUseParam(msgspec.Struct, tag_field="type", tag="tool_use", kw_only=True):
    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheControl | None = None


class ToolResultParam(msgspec.Struct, tag_field="type", tag="tool_result", kw_only=True):
    tool_use_id: str
    content: str | list[Union[TextParam, ImageParam, DocumentParam, SearchResultParam]] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingParam(msgspec.Struct, tag_field="type", tag="thinking", kw_only=True):
    thinking: str
    signature: str


class RedactedThinkingParam(msgspec.Struct, tag_field="type", tag="redacted_thinking", kw_only=True):
    data: str


class ServerToolUseParam(msgspec.Struct, tag_field="type", tag="server_tool_use", kw_only=True):
    id: str
    name: str
    input: dict[str, Any] = {}
    cache_control: CacheControl | None = None


class WebSearchResultParam(msgspec.Struct, tag_field="type", tag="web_search_tool_result", kw_only=True):
    tool_use_id: str
    content: Any = None
    cache_control: CacheControl | None = None


ContentBlockParam = Union[
    TextParam,
    ImageParam,
    DocumentParam,
    SearchResultParam,
    ToolUseParam,
    ToolResultParam,
    ThinkingParam,
    RedactedThinkingParam,
    ServerToolUseParam,
    WebSearchResultParam,
]


class MessageParam(msgspec.Struct, kw_only=True):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlockParam]


# --- request: tools, thinking -------------------------------------------------------------------------------
class ToolParam(msgspec.Struct, kw_only=True):
    """A custom tool (``type`` absent or ``custom``) or one of Anthropic's server/client tools
    (``bash_20250124``, ``web_search_20250305``, ...), which have no ``input_schema``."""

    name: Annotated[str, Meta(min_length=1, max_length=128)]
    type: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    cache_control: CacheControl | None = None
    strict: bool | None = None


class ToolChoiceAuto(msgspec.Struct, tag_field="type", tag="auto", kw_only=True):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(msgspec.Struct, tag_field="type", tag="any", kw_only=True):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(msgspec.Struct, tag_field="type", tag="tool", kw_only=True):
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(msgspec.Struct, tag_field="type", tag="none", kw_only=True):
    pass


ToolChoice = Union[ToolChoiceAuto, ToolChoiceAny, ToolChoiceTool, ToolChoiceNone]


class ThinkingEnabled(msgspec.Struct, tag_field="type", tag="enabled", kw_only=True):
    budget_tokens: int
    display: Literal["summarized", "omitted"] | None = None


class ThinkingDisabled(msgspec.Struct, tag_field="type", tag="disabled", kw_only=True):
    pass


class ThinkingAdaptive(msgspec.Struct, tag_field="type", tag="adaptive", kw_only=True):
    display: Literal["summarized", "omitted"] | None = None


ThinkingConfig = Union[ThinkingEnabled, ThinkingDisabled, ThinkingAdaptive]


class Metadata(msgspec.Struct, kw_only=True):
    user_id: str | None = None


class CountTokensRequest(msgspec.Struct, kw_only=True):
    model: Annotated[str, Meta(min_length=1)]
    messages: list[MessageParam]
    system: str | list[TextParam] | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoice | None = None
    thinking: ThinkingConfig | None = None
    cache_control: CacheControl | None = None


class MessagesRequest(CountTokensRequest, kw_only=True):
    max_tokens: Annotated[int, Meta(ge=1)]
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Annotated[int, Meta(ge=0)] | None = None
    metadata: Metadata | None = None
    service_tier: Literal["auto", "standard_only"] | None = None


# --- response -----------------------------------------------------------------------------------------------
class TextBlock(msgspec.Struct, tag_field="type", tag="text", kw_only=True):
    text: str
    citations: None = None


class ThinkingBlock(msgspec.Struct, tag_field="type", tag="thinking", kw_only=True):
    thinking: str
    signature: str


class ToolUseBlock(msgspec.Struct, tag_field="type", tag="tool_use", kw_only=True):
    id: str
    name: str
    input: dict[str, Any]


ContentBlock = Union[ThinkingBlock, TextBlock, ToolUseBlock]


class CacheCreation(msgspec.Struct, kw_only=True):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class Usage(msgspec.Struct, kw_only=True):
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    cache_creation: CacheCreation
    output_tokens: int
    service_tier: str = "standard"


class Message(msgspec.Struct, kw_only=True):
    id: str
    type: str = "message"
    role: str = "assistant"
    model: str
    content: list[ContentBlock]
    stop_reason: str | None
    stop_sequence: str | None
    usage: Usage


class TokensCount(msgspec.Struct, kw_only=True):
    input_tokens: int


class AnthropicModel(msgspec.Struct, kw_only=True):
    type: str = "model"
    id: str
    display_name: str
    created_at: str  # RFC 3339
    lifecycle: str = "active"


class AnthropicModelList(msgspec.Struct, kw_only=True):
    data: list[AnthropicModel]
    has_more: bool
    first_id: str | None
    last_id: str | None


class AnthropicErrorDetail(msgspec.Struct, kw_only=True):
    type: str  # invalid_request_error | authentication_error | not_found_error | api_error | ...
    message: str


class AnthropicError(msgspec.Struct, kw_only=True):
    """Anthropic's error body (``fakeai.providers.render_anthropic_error`` builds it); described here
    for the OpenAPI document."""

    type: str = "error"
    error: AnthropicErrorDetail
    request_id: str | None = None
