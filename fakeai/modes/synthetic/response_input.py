"""Reading a Responses API request: its input items, function tools, tool choice and text format.

Split from ``responses.py`` (which plans, streams and stores the answer); everything here is pure
validation and normalisation of what the client sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from fakeai.errors import InvalidRequestError
from fakeai.modes.synthetic.textcommon import new_id
from fakeai.schemas.decode import param_of
from fakeai.schemas.responses import (
    FormatConfig,
    FunctionCallInput,
    FunctionCallOutputInput,
    FunctionTool,
    InputMessage,
    ResponseCreateRequest,
    TextConfig,
)

__all__ = ["Conversation", "read_format", "read_input", "read_tools", "tool_choice"]

_TOOL_CHOICES = ("none", "auto", "required")


@dataclass(slots=True)
class Conversation:
    items: list[dict[str, Any]]  # this request's input items, normalised, with ids (for input_items)
    text: str  # the conversation so far (tail), what the answer is about
    last_text: str  # the latest user turn (or tool output): topics come from it first
    tokens: int  # input tokens, earlier turns (previous_response_id) included
    pieces: Callable[[], list[str]]  # the prompt's token pieces, computed only for long prompts
    after_tool_output: bool  # the last item is a function_call_output: time to answer in text
    history_tokens: int = 0  # the part of ``tokens`` that came from previous_response_id


def _convert(item: dict[str, Any], type_: type, where: str) -> Any:
    try:
        return msgspec.convert(item, type_)
    except msgspec.ValidationError as exc:
        message, param = param_of(str(exc))
        full = f"{where}.{param}" if param else where
        raise InvalidRequestError(message.replace(f"'{param}'", f"'{full}'") if param else message, param=full)


_TEXT_PARTS = {"input_text", "output_text"}


def _message_parts(m: InputMessage, where: str) -> tuple[list[dict[str, Any]], str, int]:
    """(normalised content parts, their text, extra tokens for images/files)."""
    text_type = "output_text" if m.role == "assistant" else "input_text"
    if isinstance(m.content, str):
        part: dict[str, Any] = {"type": text_type, "text": m.content}
        if text_type == "output_text":
            part["annotations"] = []
        return [part], m.content, 0
    parts, texts, extra = [], [], 0
    for j, raw in enumerate(m.content):
        kind = raw.get("type")
        if kind in _TEXT_PARTS or kind == "refusal":
            key = "refusal" if kind == "refusal" else "text"
            if not isinstance(raw.get(key), str):
                raise InvalidRequestError(
                    f"Missing required parameter: '{where}.content[{j}].{key}'.", param=f"{where}.content[{j}].{key}"
                )
            texts.append(raw[key])
            if kind != "refusal" and text_type == "output_text":  # what the assistant said is output text
                raw = {**raw, "type": "output_text", "annotations": raw.get("annotations") or []}
        elif kind in ("input_image", "input_file", "input_audio"):
            extra += 85  # OpenAI's base cost of a low-detail image; close enough for files and audio
        else:
            raise InvalidRequestError(
                f"Invalid value for '{where}.content[{j}].type': '{kind}'. Expected input_text, output_text, "
                "refusal, input_image, input_file or input_audio.",
                param=f"{where}.content[{j}].type",
            )
        parts.append(raw)
    return parts, " ".join(texts), extra


def read_input(req: ResponseCreateRequest) -> tuple[list[dict[str, Any]], list[tuple[str, str]], int, bool]:
    """(normalised items, (role, text) per item, extra tokens, ends with a tool output)."""
    raw = req.input
    if raw is None:
        raise InvalidRequestError("Missing required parameter: 'input'.", param="input")
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    elif not raw:
        raise InvalidRequestError("Invalid value for 'input': expected at least one item.", param="input")
    items: list[dict[str, Any]] = []
    turns: list[tuple[str, str]] = []
    extra = 0
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        kind = item.get("type", "message")
        if kind == "message":
            m = _convert(item, InputMessage, where)
            parts, text, more = _message_parts(m, where)
            extra += more
            items.append({"id": m.id or new_id("msg_"), "type": "message", "role": m.role, "content": parts,
                          "status": "completed"})
            turns.append((m.role, text))
        elif kind == "function_call":
            c = _convert(item, FunctionCallInput, where)
            items.append({"id": c.id or new_id("fc_"), "type": "function_call", "call_id": c.call_id,
                          "name": c.name, "arguments": c.arguments, "status": "completed"})
            turns.append(("assistant", c.name + " " + c.arguments))
        elif kind == "function_call_output":
            o = _convert(item, FunctionCallOutputInput, where)
            out = o.output if isinstance(o.output, str) else " ".join(str(p.get("text", "")) for p in o.output)
            items.append({"id": o.id or new_id("fco_"), "type": "function_call_output", "call_id": o.call_id,
                          "output": o.output, "status": "completed"})
            turns.append(("tool", out))
        else:  # reasoning, item_reference, hosted-tool items: kept for the record, not read
            items.append(item if "id" in item else {"id": new_id("item_"), **item})
    after_tool = bool(items) and items[-1]["type"] == "function_call_output"
    return items, turns, extra, after_tool


def read_tools(req: ResponseCreateRequest) -> tuple[list[FunctionTool], list[Any]]:
    """(the function tools the model may call, every tool as the response echoes it)."""
    functions: list[FunctionTool] = []
    echoed: list[Any] = []
    for i, tool in enumerate(req.tools or []):
        if tool.get("type") == "function":
            fn = _convert(tool, FunctionTool, f"tools[{i}]")
            functions.append(fn)
            echoed.append(fn)
        else:
            echoed.append(tool)  # web_search, file_search, mcp...: accepted and echoed, never called
    return functions, echoed


def read_format(req: ResponseCreateRequest) -> TextConfig:
    """``text.format``, or the seed's chat-style ``response_format`` translated into it."""
    if req.text is not None:
        config = req.text
    elif req.response_format is not None:
        rf = req.response_format
        fmt = FormatConfig(type=rf.type)
        if rf.type == "json_schema":
            if rf.json_schema is None:
                raise InvalidRequestError(
                    "Missing required parameter: 'response_format.json_schema'.", param="response_format.json_schema"
                )
            js = rf.json_schema
            fmt = FormatConfig(type="json_schema", name=js.name, schema=js.schema or {"type": "object"},
                               description=js.description if js.description is not None else msgspec.UNSET,
                               strict=js.strict)
        config = TextConfig(format=fmt)
    else:
        return TextConfig()
    fmt = config.format
    if fmt.type == "json_schema":
        if fmt.name is msgspec.UNSET:
            raise InvalidRequestError("Missing required parameter: 'text.format.name'.", param="text.format.name")
        if fmt.schema is msgspec.UNSET:
            raise InvalidRequestError("Missing required parameter: 'text.format.schema'.", param="text.format.schema")
    return config


def tool_choice(choice: str | dict[str, Any] | None, functions: list[FunctionTool]) -> tuple[str, list[FunctionTool]]:
    """(mode: none|auto|required, the functions that mode may call)."""
    if choice is None:
        return "auto", functions
    if isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise InvalidRequestError(
                f"Invalid value for 'tool_choice': '{choice}'. Expected none, auto, required or an object.",
                param="tool_choice",
            )
        return choice, functions
    by_name = {fn.name: fn for fn in functions}
    kind = choice.get("type")
    if kind == "function":
        fn = by_name.get(choice.get("name"))  # type: ignore[arg-type]
        if fn is None:
            raise InvalidRequestError(
                f"Invalid value for 'tool_choice': no function named '{choice.get('name')}' in 'tools'.",
                param="tool_choice.name",
            )
        return "named", [fn]
    if kind == "allowed_tools":
        allowed = [by_name[t["name"]] for t in choice.get("tools") or () if t.get("name") in by_name]
        return ("required" if choice.get("mode") == "required" else "auto"), allowed
    return "auto", []  # a hosted tool (web_search...): nothing we would call
