"""The HTTP layer: the only package that imports Litestar.

Controllers are thin: each calls ``replies.answer`` (or ``answer_json``), which reads the request
into an ``Exchange``, hands it to the dispatcher with a thunk that parses the body and synthesizes
(called only when the answer is synthetic), and turns the ``Reply`` into a response. Errors are
translated in ``errors.py`` only.
"""

from __future__ import annotations

from litestar import Router

from fakeai.api import health, models
from fakeai.api import chat, completions, text_generation
from fakeai.api import files, responses
from fakeai.api import messages
from fakeai.api import embeddings, images, ranking
from fakeai.api.auth import require_api_key
from fakeai.api.passthrough import any_v1_route

__all__ = ["FAST_HANDLERS", "ROOT_HANDLERS", "v1_router"]

# Each endpoint module lists its handlers here, once.
V1_HANDLERS: list = [
    models.list_models,
    models.retrieve_model,
    chat.create_chat_completion,
    completions.create_completion,
    text_generation.create_text_generation,
    *files.HANDLERS,
    *responses.HANDLERS,
    *messages.HANDLERS,  # Anthropic's Messages API
    embeddings.create_embeddings,
    *ranking.V1_HANDLERS,
    *images.V1_HANDLERS,
    any_v1_route,  # last: record/replay every other /v1 route (see passthrough.py)
]

# Keyed JSON POST endpoints answered without Litestar's router (see fast_path.py): the ones load
# generators send. Each takes the request alone and reads its own bounded body.
FAST_HANDLERS: list = [
    chat.create_chat_completion,
    completions.create_completion,
    text_generation.create_text_generation,
    messages.create_message,
    messages.count_tokens,
    embeddings.create_embeddings,
    responses.create_response,
    ranking.nim_ranking,
]

ROOT_HANDLERS: list = [
    health.health,
    health.metrics,
    health.prometheus_metrics,
    *ranking.ROOT_HANDLERS,  # /v2/rerank and /rerank, each with its own key guard
    *images.ROOT_HANDLERS,  # /v1/images/files/{id}.png: GET public (the random id is the capability), DELETE keyed
]


def v1_router() -> Router:
    return Router(path="/v1", route_handlers=V1_HANDLERS, before_request=require_api_key)
