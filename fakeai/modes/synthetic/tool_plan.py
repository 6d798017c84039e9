"""Provider-neutral tool planning: which of the offered tools a prompt calls, and arguments valid
against a tool's JSON schema. Providers map their own tool and choice shapes onto these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np

from fakeai.errors import InvalidRequestError
from fakeai.modes.synthetic.jsonschema_fake import SchemaError, fake_instance
from fakeai.modes.synthetic.textcommon import py_random

__all__ = ["BAD_SCHEMA", "fake_arguments", "pick_by_topic"]

# A schema we cannot satisfy or even read (wrong types inside, endless recursion) is the client's 400.
BAD_SCHEMA = (SchemaError, RecursionError, TypeError, ValueError, KeyError, AttributeError)


def pick_by_topic(
    tools: Sequence[tuple[str, str | None]], topics: Sequence[str], rng: np.random.Generator, *, parallel: bool
) -> list[int]:
    """Indexes of the tools (name, description) a prompt about ``topics`` calls: those sharing words
    with it (up to 3 when ``parallel``, else the best), or one drawn at random when none does."""
    words = {w.lower() for w in topics}
    scores = []
    for name, description in tools:
        vocab = set(name.lower().replace("-", "_").split("_"))
        vocab.update((description or "").lower().split())
        scores.append(len(words & vocab))
    best = max(scores)
    if best == 0:
        return [int(rng.integers(len(tools)))]
    hits = [i for i, s in enumerate(scores) if s > 0]
    if not parallel or len(hits) == 1:
        return [scores.index(best)]
    return hits[:3]


def fake_arguments(schema: dict[str, Any] | None, rng: np.random.Generator, *, tool: str, param: str) -> Any:
    """A value valid against ``schema`` (an empty object schema when there is none); 400 naming
    ``param`` when the schema cannot be satisfied."""
    try:
        return fake_instance(schema or {"type": "object", "properties": {}}, py_random(rng))
    except BAD_SCHEMA as exc:
        raise InvalidRequestError(f"Invalid schema for tool '{tool}': {exc}", param=param) from None


encode_arguments = msgspec.json.Encoder().encode
