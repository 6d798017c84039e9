"""Image generation request and response, as ``openai.types.ImagesResponse`` describes them.

Unknown request fields are ignored; the enumerations the SDK defines are checked so a typo is a
400 naming the field rather than a silently different picture.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "Image",
    "ImageGenCompletedEvent",
    "ImageGenPartialImageEvent",
    "ImageDeleted",
    "ImageGenerateRequest",
    "ImageUsage",
    "ImagesResponse",
]


class ImageGenerateRequest(msgspec.Struct, kw_only=True):
    prompt: str
    model: str | None = None
    n: int | None = None
    size: str | None = None  # a standard size, "auto", or any WIDTHxHEIGHT the GPT image models accept
    quality: Literal["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"] | None = None
    style: Literal["vivid", "natural"] | None = None
    response_format: Literal["url", "b64_json"] | None = None
    background: Literal["transparent", "opaque", "auto"] | None = None
    output_format: Literal["png", "webp", "jpeg", "gif", "svg"] | None = None
    stream: bool | None = None
    partial_images: int | None = None  # streaming: pictures sent before the final one (0..3)
    user: str | None = None


class Image(msgspec.Struct, kw_only=True):  # nulls included, as the seed shows them
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class InputTokensDetails(msgspec.Struct, kw_only=True):
    image_tokens: int = 0
    text_tokens: int


class ImageUsage(msgspec.Struct, kw_only=True):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    total_tokens: int


class ImagesResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    created: int
    data: list[Image]
    size: str | None = None
    output_format: str | None = None
    quality: str | None = None
    background: str | None = None
    usage: ImageUsage | None = None


class ImageGenPartialImageEvent(msgspec.Struct, kw_only=True, tag_field="type", tag="image_generation.partial_image"):
    b64_json: str
    background: str
    created_at: int
    output_format: str = "png"
    partial_image_index: int
    quality: str
    size: str


class ImageGenCompletedEvent(msgspec.Struct, kw_only=True, tag_field="type", tag="image_generation.completed"):
    b64_json: str
    background: str
    created_at: int
    output_format: str = "png"
    quality: str
    size: str
    usage: ImageUsage


class ImageDeleted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "image"
    deleted: bool = True
