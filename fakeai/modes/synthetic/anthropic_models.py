"""GET /v1/models and /v1/models/{id} in Anthropic's shape (``anthropic.types.ModelInfo``), for
requests carrying ``anthropic-version``: the catalogue's Claude models, newest first, with Anthropic's
cursor paging (``limit``, ``after_id``, ``before_id``)."""

from __future__ import annotations

from fakeai.errors import InvalidRequestError
from fakeai.modes.base import Body
from fakeai.modes.synthetic.catalogue import CLAUDE_MODELS
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.schemas import encode_json
from fakeai.schemas.anthropic import AnthropicModel, AnthropicModelList

__all__ = ["list_models", "retrieve_model"]

LEARNT_CREATED = "2025-01-01T00:00:00Z"  # models learnt from requests have no release date


def _info(model_id: str) -> AnthropicModel:
    display, created = CLAUDE_MODELS.get(model_id) or (_display_name(model_id), LEARNT_CREATED)
    return AnthropicModel(id=model_id, display_name=display, created_at=created)


def _display_name(model_id: str) -> str:
    """``claude-foo-4-2`` → ``Claude Foo 4.2`` (for ids the catalogue learnt from requests)."""
    words, numbers = [], []
    for part in model_id.split("/")[-1].split("-"):
        (numbers if part.isdigit() and len(part) < 3 else words).append(part)
    return " ".join(w.capitalize() for w in words) + (" " + ".".join(numbers) if numbers else "")


def _claude_ids(ctx: SyntheticContext) -> list[str]:
    learnt = [m.id for m in ctx.catalogue.list() if m.owned_by == "anthropic" and m.id not in CLAUDE_MODELS]
    return list(CLAUDE_MODELS) + learnt


async def list_models(ctx: SyntheticContext, query: dict[str, str]) -> Body:
    try:
        limit = int(query.get("limit", 20))
    except ValueError:
        raise InvalidRequestError("limit: Input should be a valid integer", param="limit") from None
    if not 1 <= limit <= 1000:
        raise InvalidRequestError("limit: Input should be between 1 and 1000", param="limit")
    ids = _claude_ids(ctx)
    after, before = query.get("after_id"), query.get("before_id")
    if after is not None:
        ids = ids[ids.index(after) + 1 :] if after in ids else []
        page, has_more = ids[:limit], len(ids) > limit
    elif before is not None:
        ids = ids[: ids.index(before)] if before in ids else []
        page, has_more = ids[-limit:], len(ids) > limit
    else:
        page, has_more = ids[:limit], len(ids) > limit
    body = AnthropicModelList(
        data=[_info(i) for i in page], has_more=has_more, first_id=page[0] if page else None, last_id=page[-1] if page else None
    )
    return Body(content=encode_json(body))


async def retrieve_model(ctx: SyntheticContext, model_id: str) -> Body:
    return Body(content=encode_json(_info(ctx.catalogue.get(model_id).id)))
