"""A request's token cost for the rate limits, counted as OpenAI counts it before answering: the
prompt's tokens plus the completion budget the request asks for (times ``n``), or a default."""

from __future__ import annotations

from typing import Any

import msgspec

from fakeai.modes.synthetic.tokenizer import count_message_tokens, count_tokens

__all__ = ["DEFAULT_COMPLETION_BUDGET", "request_cost"]

DEFAULT_COMPLETION_BUDGET = 256  # chat and responses without max_tokens / max_output_tokens
COMPLETIONS_DEFAULT = 16  # legacy completions default max_tokens, as OpenAI's
NO_COMPLETION = ("/v1/embeddings", "/v1/moderations")
_MAX_DEPTH = 12


class _Costed(msgspec.Struct):
    """The fields a cost is made of; anything else in the body is skipped unread. Any-typed: a
    field of the wrong type costs nothing here and is the mode's to reject."""

    model: Any = None
    messages: Any = None
    prompt: Any = None
    input: Any = None
    instructions: Any = None
    system: Any = None  # Anthropic's system prompt
    suffix: Any = None
    max_completion_tokens: Any = None
    max_tokens: Any = None
    max_output_tokens: Any = None
    n: Any = None
    best_of: Any = None


_decode = msgspec.json.Decoder(_Costed).decode


def request_cost(path: str, body: bytes) -> tuple[int, str | None]:
    """(tokens, model) of a JSON request body; (0, None) when it is not one (the mode reports why)."""
    if not body or body[:1] not in (b"{", b" ", b"\n", b"\t", b"\r"):
        return 0, None
    try:
        data = _decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return 0, None
    model = data.model if isinstance(data.model, str) else None
    try:
        return _prompt(data) + _budget(path, data), model
    except (TypeError, ValueError, AttributeError, RecursionError):  # hostile shapes: the mode answers 400
        return len(body) // 4, model


def _prompt(data: _Costed) -> int:
    tokens = 0
    messages = data.messages
    if isinstance(messages, list) and all(isinstance(m, dict) for m in messages):
        tokens += count_message_tokens(messages)
    for value in (data.prompt, data.input, data.instructions, data.system, data.suffix):
        if value is not None:
            tokens += _text_tokens(value, 0)
    return tokens


def _text_tokens(value: Any, depth: int) -> int:
    if isinstance(value, str):
        return count_tokens(value)
    if depth > _MAX_DEPTH:
        return 0
    if isinstance(value, list):
        if value and all(type(v) is int for v in value):  # token ids
            return len(value)
        return sum(_text_tokens(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(_text_tokens(v, depth + 1) for v in value.values())
    return 0


def _budget(path: str, data: _Costed) -> int:
    if path.startswith(NO_COMPLETION):
        return 0
    for value in (data.max_completion_tokens, data.max_tokens, data.max_output_tokens):
        if type(value) is int and value >= 0:
            budget = value
            break
    else:
        budget = COMPLETIONS_DEFAULT if path == "/v1/completions" else DEFAULT_COMPLETION_BUDGET
    n = data.best_of if type(data.best_of) is int else data.n
    return budget * (n if type(n) is int and 0 < n <= 128 else 1)
