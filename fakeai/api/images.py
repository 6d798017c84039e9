"""POST /v1/images/generations, and the stored pictures its URLs point at:
GET (public) and DELETE (keyed) /v1/images/files/{id}.png.

Both file routes are registered on the root router, the GET without the API-key guard: browsers and ``<img>`` tags
cannot send a bearer key, and the id's 128 random bits are what protects a picture (as OpenAI's
signed URLs do). Pictures this server generated are its own resources, so they are served from the
database in every mode rather than dispatched to record/replay.
"""

from __future__ import annotations

import msgspec
from litestar import Request, Response, delete, get, post

from fakeai.api.auth import require_api_key
from fakeai.api.openapi import documented
from fakeai.api.replies import answer, runtime_of, to_response
from fakeai.modes.synthetic import lazy
from fakeai.schemas import decode_json
from fakeai.schemas.images import ImageDeleted, ImageGenerateRequest, ImagesResponse

synthetic = lazy("images")  # imported when first used (see fakeai.modes.synthetic)

__all__ = ["V1_HANDLERS", "ROOT_HANDLERS"]

_DECODER = msgspec.json.Decoder(ImageGenerateRequest)


@post(
    "/images/generations",
    status_code=200,
    **documented(
        "Images",
        "Generate images",
        body=ImageGenerateRequest,
        example=ImageGenerateRequest(model="gpt-image-1", prompt="A cute baby sea otter", size="256x256"),
        ok=ImagesResponse,
        stream="`image_generation.partial_image` events, then `image_generation.completed`.",
    ),
)
async def generate_images(request: Request) -> Response:
    # The exchange's base URL (the host the client used) is where the picture URLs will point.
    return await answer(
        request,
        lambda ctx, exchange: synthetic.generate_images(
            ctx, decode_json(exchange.body, ImageGenerateRequest, _DECODER), exchange.base_url
        ),
        limit_body=True,
    )


@get(
    "/v1/images/files/{name:str}",
    **documented("Images", "Get a generated picture (no key: the id is the capability)", ok_media="image/*", security=()),
)
async def get_image_file(request: Request, name: str) -> Response:
    reply = await synthetic.get_image_file(runtime_of(request).synthetic, name)
    return to_response(request, reply)


@delete(
    "/v1/images/files/{name:str}",
    status_code=200,
    guards=[require_api_key],
    **documented("Images", "Delete a generated picture", ok=ImageDeleted),
)
async def delete_image_file(request: Request, name: str) -> Response:
    reply = await synthetic.delete_image_file(runtime_of(request).synthetic, name)
    return to_response(request, reply)


V1_HANDLERS = [generate_images]
# One path, two guards: both live on the root router (Litestar wants a path's handlers on one router).
ROOT_HANDLERS = [get_image_file, delete_image_file]
