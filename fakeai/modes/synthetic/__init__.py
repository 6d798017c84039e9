"""Synthetic mode: plausible, deterministic answers generated locally with numpy.

The generator modules (``chat``, ``embeddings``, ...) load numpy and build their vocabularies at import,
a quarter of a second of a server's start. Record and replay never call them (unless ``--on-miss
synthetic``), so the HTTP layer names them through ``lazy`` and ``load_generators`` imports them
before a server that synthesizes answers its first request.
"""

from __future__ import annotations

import importlib
from typing import Any

from fakeai.modes.synthetic.context import SyntheticContext

__all__ = ["GENERATORS", "SyntheticContext", "lazy", "lazy_module", "load_generators"]

GENERATORS = (
    "anthropic_models", "chat", "completions", "embeddings", "files", "images", "messages", "models", "ranking",
    "responses", "text_generation",
)  # fmt: skip


class _LazyModule:
    """A module imported at the first read of one of its names. The module's names are then copied
    onto this object, so later reads are plain attribute reads (no cost on the request path)."""

    def __init__(self, name: str) -> None:
        self._lazy_name = name  # the module's full name

    def __getattr__(self, attr: str) -> Any:  # only for names not copied yet
        module = importlib.import_module(self._lazy_name)
        self.__dict__.update(vars(module))
        return getattr(module, attr)


def lazy(name: str) -> Any:
    """``fakeai.modes.synthetic.<name>`` (one of ``GENERATORS``), imported when one of its names is first
    read: read them where they are called (in the synthetic thunk), not where a handler starts."""
    assert name in GENERATORS, name
    return _LazyModule(f"{__name__}.{name}")


def lazy_module(name: str) -> Any:
    """Any module by its full name, imported when one of its names is first read: the store modules
    the generators use, which load SQLAlchemy (a synthetic server needs them only for files, images by
    URL and stored responses)."""
    return _LazyModule(name)


def load_generators() -> None:
    """Import every generator now (a server that synthesizes, before its first request)."""
    for name in GENERATORS:
        importlib.import_module(f"{__name__}.{name}")
