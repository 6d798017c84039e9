"""The built-in model catalogue.

Unknown models are accepted and added (a dev server should not get in the way) unless
``--strict-models`` is set, in which case they are a 404 ``model_not_found``.
"""

from __future__ import annotations

import hashlib

from fakeai.errors import ModelNotFoundError
from fakeai.schemas.models import Model, ModelPermission

__all__ = ["Catalogue", "BUILTIN_MODELS", "CLAUDE_MODELS", "DEFAULT_MODEL"]

DEFAULT_MODEL = "openai/gpt-oss-120b"

# id -> (owned_by, kind). Kind is informational: chat, embedding, image, ranking, audio, moderation.
BUILTIN_MODELS: dict[str, tuple[str, str]] = {
    "openai/gpt-oss-120b": ("openai", "chat"),
    "openai/gpt-oss-20b": ("openai", "chat"),
    "meta-llama/Llama-3.1-8B-Instruct": ("meta-llama", "chat"),
    "meta-llama/Llama-3.1-70B-Instruct": ("meta-llama", "chat"),
    "meta-llama/Llama-3.3-70B-Instruct": ("meta-llama", "chat"),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": ("mistralai", "chat"),
    "Qwen/Qwen2.5-7B-Instruct": ("Qwen", "chat"),
    "deepseek-ai/DeepSeek-R1": ("deepseek-ai", "chat"),
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": ("deepseek-ai", "chat"),
    "gpt-4o": ("openai", "chat"),
    "gpt-4o-mini": ("openai", "chat"),
    "gpt-4.1": ("openai", "chat"),
    "gpt-4.1-mini": ("openai", "chat"),
    "gpt-4-turbo": ("openai", "chat"),
    "gpt-4": ("openai", "chat"),
    "gpt-3.5-turbo": ("openai", "chat"),
    "gpt-3.5-turbo-instruct": ("openai", "completion"),
    "o1": ("openai", "chat"),
    "o1-mini": ("openai", "chat"),
    "o3": ("openai", "chat"),
    "o3-mini": ("openai", "chat"),
    "o4-mini": ("openai", "chat"),
    "sentence-transformers/all-mpnet-base-v2": ("sentence-transformers", "embedding"),
    "text-embedding-3-small": ("openai", "embedding"),
    "text-embedding-3-large": ("openai", "embedding"),
    "text-embedding-ada-002": ("openai", "embedding"),
    "nvidia/nv-embedqa-e5-v5": ("nvidia", "embedding"),
    "stabilityai/stable-diffusion-xl-base-1.0": ("stabilityai", "image"),
    "dall-e-2": ("openai", "image"),
    "dall-e-3": ("openai", "image"),
    "gpt-image-1": ("openai", "image"),
    "nvidia/nv-rerankqa-mistral-4b-v3": ("nvidia", "ranking"),
    "nvidia/llama-3.2-nv-rerankqa-1b-v2": ("nvidia", "ranking"),
    "BAAI/bge-reranker-v2-m3": ("BAAI", "ranking"),
    "whisper-1": ("openai", "audio"),
    "tts-1": ("openai", "audio"),
    "omni-moderation-latest": ("openai", "moderation"),
}

# Claude models, newest first as Anthropic lists them: id -> (display name, release date). The ids are the
# ones the anthropic SDK names (anthropic.types.Model) plus the dated and alias ids in common use.
CLAUDE_MODELS: dict[str, tuple[str, str]] = {
    "claude-opus-5": ("Claude Opus 5", "2026-11-10T00:00:00Z"),
    "claude-sonnet-5": ("Claude Sonnet 5", "2026-11-10T00:00:00Z"),
    "claude-opus-4-8": ("Claude Opus 4.8", "2026-09-15T00:00:00Z"),
    "claude-opus-4-7": ("Claude Opus 4.7", "2026-06-20T00:00:00Z"),
    "claude-opus-4-6": ("Claude Opus 4.6", "2026-02-05T00:00:00Z"),
    "claude-sonnet-4-6": ("Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    "claude-opus-4-5-20251101": ("Claude Opus 4.5", "2025-11-24T00:00:00Z"),
    "claude-opus-4-5": ("Claude Opus 4.5", "2025-11-24T00:00:00Z"),
    "claude-haiku-4-5-20251001": ("Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
    "claude-haiku-4-5": ("Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
    "claude-sonnet-4-5-20250929": ("Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    "claude-sonnet-4-5": ("Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    "claude-opus-4-1-20250805": ("Claude Opus 4.1", "2025-08-05T00:00:00Z"),
    "claude-opus-4-20250514": ("Claude Opus 4", "2025-05-22T00:00:00Z"),
    "claude-sonnet-4-20250514": ("Claude Sonnet 4", "2025-05-22T00:00:00Z"),
    "claude-3-7-sonnet-20250219": ("Claude Sonnet 3.7", "2025-02-24T00:00:00Z"),
    "claude-3-5-haiku-20241022": ("Claude Haiku 3.5", "2024-10-22T00:00:00Z"),
}
BUILTIN_MODELS.update({model_id: ("anthropic", "chat") for model_id in CLAUDE_MODELS})

CREATED = 1_700_000_000  # a fixed epoch so answers are stable across restarts
# Models learnt from requests are listed up to this many; past it they are still served but not added,
# so a client inventing model names cannot grow the worker's memory without bound.
MAX_LEARNT = 10_000


def _make(model_id: str, owned_by: str) -> Model:
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:24]
    return Model(
        id=model_id,
        created=CREATED,
        owned_by=owned_by,
        permission=[ModelPermission(id=f"modelperm-{digest}", created=CREATED)],
        root=model_id,
        parent=None,
    )


class Catalogue:
    """The models this worker knows: the built-ins plus any a request has named."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self._models: dict[str, Model] = {mid: _make(mid, owner) for mid, (owner, _) in BUILTIN_MODELS.items()}

    def list(self) -> list[Model]:
        return list(self._models.values())

    def get(self, model_id: str) -> Model:
        model = self._models.get(model_id)
        if model is None:
            raise ModelNotFoundError(f"The model '{model_id}' does not exist", param="model")
        return model

    def require(self, model_id: str) -> Model:
        """The model a request names: known, or added on the fly unless strict."""
        model = self._models.get(model_id)
        if model is not None:
            return model
        if self.strict:
            raise ModelNotFoundError(
                f"The model '{model_id}' does not exist or you do not have access to it.", param="model"
            )
        if "/" in model_id:
            owner = model_id.split("/", 1)[0]
        else:
            owner = "anthropic" if model_id.startswith("claude") else "fakeai"
        model = _make(model_id, owner)
        if len(self._models) < len(BUILTIN_MODELS) + MAX_LEARNT:
            self._models[model_id] = model
        return model
