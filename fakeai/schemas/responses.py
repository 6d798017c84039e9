"""The Responses API on the wire, following ``openai.types.responses`` (``Response``, output items,
usage) rather than the seed where they differ (content type ``output_text``, ``resp_`` ids).

The request is lenient: unknown fields are ignored. ``input`` items and ``tools`` arrive as plain
objects and are checked one by one in the mode (so an error names ``input[2].content``), because
OpenAI's items only sometimes carry the ``type`` a tagged union would need.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = [
    "FormatConfig",
    "FunctionCallInput",
    "FunctionCallItem",
    "FunctionCallOutputInput",
    "FunctionTool",
    "InputMessage",
    "InputItemsQuery",
    "ItemList",
    "OutputMessage",
    "OutputText",
    "ReasoningItem",
    "Response",
    "ResponseCancelRequest",
    "ResponseCreateRequest",
    "ResponseDeleted",
    "ResponseUsage",
    "ReasoningText",
    "SummaryText",
    "TextConfig",
]


# --- request -------------------------------------------------------------------------------------------
class FormatConfig(msgspec.Struct, kw_only=True):
    """``text.format``: ``{"type": "text"}``, ``json_object`` or ``json_schema`` with name and schema."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | UnsetType = UNSET
    schema: dict[str, Any] | UnsetType = UNSET
    description: str | UnsetType = UNSET
    strict: bool | None | UnsetType = UNSET


class TextConfig(msgspec.Struct, kw_only=True):
    format: FormatConfig = msgspec.field(default_factory=FormatConfig)
    verbosity: Literal["low", "medium", "high"] = "medium"


class ChatJSONSchema(msgspec.Struct, kw_only=True):
    name: str = "response"
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class ChatResponseFormat(msgspec.Struct, kw_only=True):
    """The seed's (chat-style) ``response_format``, accepted as an alias of ``text.format``."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: ChatJSONSchema | None = None


class Reasoning(msgspec.Struct, kw_only=True):
    effort: str | None = None
    summary: str | None = None
    generate_summary: str | None = None  # the older spelling of ``summary``


class ResponseCreateRequest(msgspec.Struct, kw_only=True):
    model: Annotated[str, Meta(min_length=1)] | None = None
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    max_output_tokens: Annotated[int, Meta(ge=1)] | None = None
    max_tool_calls: Annotated[int, Meta(ge=1)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    response_format: ChatResponseFormat | None = None
    reasoning: Reasoning | None = None
    metadata: dict[str, str] | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    stream: bool | None = None
    background: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None
    service_tier: str | None = None
    user: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    include: list[str] | None = None
    seed: int | None = None  # not an OpenAI field: makes answers reproducible, as in chat


class ResponseCancelRequest(msgspec.Struct):
    """``POST /v1/responses/{id}/cancel`` takes no fields (OpenAI's SDK sends no body); a body is ignored."""


class FunctionTool(msgspec.Struct, kw_only=True, omit_defaults=False):
    """A function tool as the Responses API spells it (flat, not nested under ``function``)."""

    type: Literal["function"] = "function"
    name: Annotated[str, Meta(min_length=1, max_length=64)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = True  # strict by default in the Responses API


class InputMessage(msgspec.Struct, kw_only=True):
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[dict[str, Any]]
    type: Literal["message"] = "message"
    id: str | None = None
    status: str | None = None


class FunctionCallInput(msgspec.Struct, kw_only=True):
    type: Literal["function_call"] = "function_call"
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutputInput(msgspec.Struct, kw_only=True):
    type: Literal["function_call_output"] = "function_call_output"
    call_id: str
    output: str | list[dict[str, Any]]
    id: str | None = None
    status: str | None = None


# --- response ------------------------------------------------------------------------------------------
class OutputText(msgspec.Struct, kw_only=True, omit_defaults=False, tag_field="type", tag="output_text"):
    text: str
    annotations: list[Any] = []
    logprobs: list[Any] = []


class OutputMessage(msgspec.Struct, kw_only=True, omit_defaults=False, tag_field="type", tag="message"):
    id: str
    status: str  # in_progress | completed | incomplete
    role: str = "assistant"
    content: list[OutputText] = []


class FunctionCallItem(msgspec.Struct, kw_only=True, omit_defaults=False, tag_field="type", tag="function_call"):
    id: str
    call_id: str
    name: str
    arguments: str
    status: str


class SummaryText(msgspec.Struct, kw_only=True, tag_field="type", tag="summary_text"):
    text: str


class ReasoningText(msgspec.Struct, kw_only=True, tag_field="type", tag="reasoning_text"):
    text: str


class ReasoningItem(msgspec.Struct, kw_only=True, omit_defaults=False, tag_field="type", tag="reasoning"):
    id: str
    summary: list[SummaryText] = []
    content: list[ReasoningText] = []  # the thinking, as vLLM serves gpt-oss (OpenAI only encrypts it)
    status: str = "completed"


OutputItem = OutputMessage | FunctionCallItem | ReasoningItem


class InputTokensDetails(msgspec.Struct, kw_only=True):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(msgspec.Struct, kw_only=True):
    reasoning_tokens: int = 0


class ResponseUsage(msgspec.Struct, kw_only=True):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class IncompleteDetails(msgspec.Struct):
    reason: str


class ReasoningConfig(msgspec.Struct, kw_only=True, omit_defaults=False):
    effort: str | None = None
    summary: str | None = None


class Response(msgspec.Struct, kw_only=True, omit_defaults=False):
    id: str
    object: str = "response"
    created_at: int
    status: str  # queued | in_progress | completed | incomplete | failed | cancelled
    background: bool = False
    completed_at: int | None = None
    error: dict[str, Any] | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    model: str
    output: list[OutputItem] = []
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    reasoning: ReasoningConfig = msgspec.field(default_factory=ReasoningConfig)
    service_tier: str = "default"
    store: bool = False
    temperature: float = 1.0
    text: TextConfig = msgspec.field(default_factory=TextConfig)
    tool_choice: str | dict[str, Any] = "auto"
    tools: list[Any] = []
    top_logprobs: int = 0
    top_p: float = 1.0
    truncation: str = "disabled"
    usage: ResponseUsage | None = None
    user: str | None = None
    metadata: dict[str, str] = {}


class ResponseDeleted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "response"
    deleted: bool = True


class ItemList(msgspec.Struct, kw_only=True, omit_defaults=False):
    object: str = "list"
    data: list[dict[str, Any]]
    has_more: bool
    first_id: str | None
    last_id: str | None


class InputItemsQuery(msgspec.Struct, kw_only=True):
    """The query string of ``GET /v1/responses/{id}/input_items``."""

    limit: Annotated[int, Meta(ge=1, le=100)] | None = None
    after: str | None = None
    order: Literal["asc", "desc"] | None = None
