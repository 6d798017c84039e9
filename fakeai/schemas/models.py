"""Model objects, as the seed and ``openai.types.Model`` describe them."""

from __future__ import annotations

import msgspec

__all__ = ["Model", "ModelList", "ModelPermission", "ModelDeleted"]


class ModelPermission(msgspec.Struct, kw_only=True):
    id: str
    object: str = "model_permission"
    created: int
    allow_create_engine: bool = False
    allow_sampling: bool = True
    allow_logprobs: bool = True
    allow_search_indices: bool = False
    allow_view: bool = True
    allow_fine_tuning: bool = False
    organization: str = "*"
    group: str | None = None
    is_blocking: bool = False


class Model(msgspec.Struct, kw_only=True):
    id: str
    object: str = "model"
    created: int
    owned_by: str
    permission: list[ModelPermission] = []
    root: str | None = None
    parent: str | None = None


class ModelList(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[Model]


class ModelDeleted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "model"
    deleted: bool = True
