"""Synthetic image generation: real PNGs drawn from the prompt, handed out inline or by URL.

A picture is a two-colour linear gradient with a few discs on it; colours, angle and discs come from
a SHA-256 of (prompt, size, style, quality, index), so a prompt always draws the same picture and
different prompts draw different ones. ``style`` natural mutes the colours, a higher ``quality``
draws more discs. Pictures are cached by those inputs, so a load test repeating one prompt encodes
it once.

``response_format=url`` stores the PNG in the database (``fakeai.store.images``) for
``IMAGE_TTL_SECONDS`` and answers ``{base_url}/v1/images/files/{id}.png`` (``base_url`` is the host
and port the client used). The id carries 128 random bits: the URL is the capability, as OpenAI's
signed URLs are, so the GET needs no API key and works in an ``<img>`` tag.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from functools import lru_cache

import numpy as np
import pybase64

from fakeai.errors import InvalidRequestError, NotFoundError
from fakeai.modes.base import Body, EventStream, sse_event
from fakeai.modes.synthetic import lazy_module
from fakeai.modes.synthetic.context import SyntheticContext
from fakeai.modes.synthetic.png import encode_png
from fakeai.modes.synthetic.tokenizer import count_tokens
from fakeai.schemas import encode_json
from fakeai.schemas.images import (
    Image,
    ImageDeleted,
    ImageGenCompletedEvent,
    ImageGenerateRequest,
    ImageGenPartialImageEvent,
    ImagesResponse,
    ImageUsage,
    InputTokensDetails,
)

# Imported with the first image asked for by URL: importing it at start would load SQLAlchemy.
store = lazy_module("fakeai.store.images")

__all__ = ["IMAGE_TTL_SECONDS", "delete_image_file", "generate_images", "get_image_file", "parse_size", "render"]


IMAGE_TTL_SECONDS = 3600  # OpenAI's image URLs expire after an hour too
DEFAULT_MODEL = "dall-e-2"
DEFAULT_SIZE = (1024, 1024)
MAX_N = 10
MAX_PARTIAL_IMAGES = 3
MAX_PROMPT_CHARS = 32_000
MAX_EDGE = 3840
MAX_PIXELS = 3840 * 2160
PNG = "image/png"
FILES_PATH = "/v1/images/files/"
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_ID = re.compile(r"^img_[0-9a-f]{32}$")
# The GPT image models only answer base64 and report their quality; DALL·E defaults to a URL.
GPT_IMAGE_PREFIXES = ("gpt-image", "chatgpt-image")
GPT_QUALITIES = ("low", "medium", "high", "xhigh", "max")
# Output tokens OpenAI bills a 1024x1024 gpt-image picture, by quality; other sizes scale with area.
_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 4160, "max": 4160}


def parse_size(size: str | None) -> tuple[int, int]:
    """(width, height) for a size string: the SDK's sizes, ``auto``, or a WIDTHxHEIGHT the GPT image
    models accept (multiples of 16, aspect ratio within 3:1, at most 3840x2160)."""
    if size is None or size == "auto":
        return DEFAULT_SIZE
    match = _SIZE.match(size)
    if match:
        width, height = int(match.group(1)), int(match.group(2))
        if (
            width >= 16
            and height >= 16
            and width % 16 == 0
            and height % 16 == 0
            and max(width, height) <= MAX_EDGE
            and width * height <= MAX_PIXELS
            and max(width, height) <= 3 * min(width, height)
        ):
            return width, height
    raise InvalidRequestError(
        f"Invalid value for 'size': {size!r}. Supported values are 'auto', '256x256', '512x512', '1024x1024', "
        "'1536x1024', '1024x1536', '1792x1024', '1024x1792', or WIDTHxHEIGHT with both multiples of 16, "
        "an aspect ratio within 3:1 and at most 3840x2160.",
        param="size",
    )


def _palette(digest: bytes, muted: bool) -> np.ndarray:
    """Eight RGB colours from the digest; ``muted`` pulls them towards grey (style natural)."""
    colours = np.frombuffer(digest[:24], dtype=np.uint8).reshape(8, 3).astype(np.float32)
    if muted:
        colours = 0.55 * colours + 0.45 * colours.mean(axis=1, keepdims=True)
    return colours


@lru_cache(maxsize=16)
def render(seed: bytes, width: int, height: int, discs: int, muted: bool, transparent: bool) -> bytes:
    """The PNG for one picture. Cached: the same inputs always give the same bytes."""
    digest = hashlib.sha256(seed).digest()
    extra = hashlib.sha256(digest).digest()
    colours = _palette(digest, muted)
    angle = digest[24] / 255.0 * 2.0 * np.pi
    # Linear gradient along ``angle``: t(x, y) = x cos + y sin, scaled to 0..1. A channel is linear in t,
    # so it is the sum of a column ramp and a row ramp: one broadcast add per channel.
    xs = np.linspace(0.0, 1.0, width) * np.cos(angle)
    ys = np.linspace(0.0, 1.0, height) * np.sin(angle)
    low = min(xs.min(), 0.0) + min(ys.min(), 0.0)
    span = max(float(xs.max() - xs.min() + ys.max() - ys.min()), 1e-6)
    start, end = colours[0], colours[1]
    channels = 4 if transparent else 3
    pixels = np.empty((height, width, channels), dtype=np.uint8)
    for c in range(3):
        scale = (end[c] - start[c]) / span
        column = (start[c] + scale * (ys - low)).astype(np.float32)
        row = (scale * xs).astype(np.float32)
        np.add(column[:, None], row[None, :], out=pixels[:, :, c], casting="unsafe")
    if transparent:
        pixels[:, :, 3] = 0  # the gradient is the "background" a transparent picture leaves out
    short = min(width, height)
    for i in range(discs):
        b = extra[(4 * i) % 32 : (4 * i) % 32 + 4]
        cx, cy = int(b[0] / 255 * width), int(b[1] / 255 * height)
        radius = max(2, int((0.08 + 0.22 * b[2] / 255) * short))
        colour = colours[2 + (b[3] + i) % 6].astype(np.uint8)
        # One slice per row of the disc: far cheaper than a boolean mask over its bounding box.
        y0, y1 = max(cy - radius, 0), min(cy + radius + 1, height)
        halves = np.sqrt(np.maximum(radius * radius - (np.arange(y0, y1) - cy) ** 2, 0)).astype(int).tolist()
        for y, half in zip(range(y0, y1), halves):
            x0, x1 = max(cx - half, 0), min(cx + half + 1, width)
            if x0 < x1:
                pixels[y, x0:x1, :3] = colour
                if transparent:
                    pixels[y, x0:x1, 3] = 255
    return encode_png(pixels)


def _is_gpt_image(model: str) -> bool:
    return model.startswith(GPT_IMAGE_PREFIXES)


def _usage(prompt: str, width: int, height: int, quality: str, n: int) -> ImageUsage:
    text = count_tokens(prompt)
    output = n * max(1, round(_OUTPUT_TOKENS.get(quality, 1056) * width * height / (1024 * 1024)))
    return ImageUsage(
        input_tokens=text,
        input_tokens_details=InputTokensDetails(text_tokens=text),
        output_tokens=output,
        total_tokens=text + output,
    )


async def generate_images(
    ctx: SyntheticContext, request: ImageGenerateRequest, base_url: str
) -> Body | EventStream:
    """``base_url`` is scheme://host:port as the client reached this server (``Exchange.base_url``)."""
    model = request.model or DEFAULT_MODEL
    ctx.catalogue.require(model)
    if not request.prompt.strip():
        raise InvalidRequestError("'prompt' must not be empty.", param="prompt")
    if len(request.prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequestError(
            f"'prompt' is too long: {len(request.prompt)} characters, at most {MAX_PROMPT_CHARS}.", param="prompt"
        )
    n = 1 if request.n is None else request.n
    if not 1 <= n <= MAX_N:
        raise InvalidRequestError(f"Invalid value for 'n': {n}. It must be between 1 and {MAX_N}.", param="n")
    partials = request.partial_images or 0
    if not 0 <= partials <= MAX_PARTIAL_IMAGES:
        raise InvalidRequestError(
            f"Invalid value for 'partial_images': {partials}. It must be between 0 and {MAX_PARTIAL_IMAGES}.",
            param="partial_images",
        )
    width, height = parse_size(request.size)
    gpt_image = _is_gpt_image(model)
    response_format = request.response_format or ("b64_json" if gpt_image else "url")
    quality = request.quality or "auto"
    transparent = request.background == "transparent"
    discs = {"low": 2, "standard": 3, "auto": 3, "medium": 3}.get(quality, 5)
    muted = request.style == "natural"
    # A big picture takes tens of milliseconds to draw: keep the event loop free meanwhile.
    offload = width * height > 512 * 512

    def draw(i: int, disc_count: int = discs) -> bytes:
        seed = "\0".join((request.prompt, f"{width}x{height}", quality, request.style or "", str(i))).encode()
        return render(seed, width, height, disc_count, muted, transparent)

    if request.stream:
        stream = _stream(request, n, partials, draw, offload, f"{width}x{height}", quality, transparent)
        return EventStream(events=stream)
    if offload or n * width * height > 512 * 512:
        pictures = await asyncio.to_thread(lambda: [draw(i) for i in range(n)])
    else:
        pictures = [draw(i) for i in range(n)]
    now = int(time.time())
    revised = request.prompt if model == "dall-e-3" else None
    if response_format == "b64_json":
        data = [Image(b64_json=pybase64.b64encode(p).decode("ascii"), revised_prompt=revised) for p in pictures]
    else:
        ids = ["img_" + os.urandom(16).hex() for _ in pictures]
        await store.save_images(
            ctx.database,
            [
                store.StoredImage(
                    id=image_id,
                    created_at=now,
                    expires_at=now + IMAGE_TTL_SECONDS,
                    model=model,
                    width=width,
                    height=height,
                    media_type=PNG,
                    data=picture,
                )
                for image_id, picture in zip(ids, pictures)
            ],
            now,
        )
        data = [Image(url=f"{base_url}{FILES_PATH}{image_id}.png", revised_prompt=revised) for image_id in ids]
    reply = ImagesResponse(
        created=now,
        data=data,
        size=f"{width}x{height}",
        output_format="png",  # the only format drawn; asked-for jpeg/webp still get a PNG, labelled so
        quality=quality if quality in GPT_QUALITIES else None,
        background=("transparent" if transparent else "opaque") if gpt_image else None,
        usage=_usage(request.prompt, width, height, quality, n) if gpt_image else None,
    )
    return Body(content=encode_json(reply))


async def _stream(
    request: ImageGenerateRequest,
    n: int,
    partials: int,
    draw: Callable[..., bytes],
    offload: bool,
    size: str,
    quality: str,
    transparent: bool,
) -> AsyncIterator[bytes]:
    """The SSE events ``client.images.generate(stream=True)`` parses: for each picture, ``partials``
    ``image_generation.partial_image`` events (the picture with fewer discs: it "develops") and one
    ``image_generation.completed``."""
    background = "transparent" if transparent else "opaque"
    usage = _usage(request.prompt, *map(int, size.split("x")), quality, 1)
    for i in range(n):
        for k in range(partials):
            picture = await asyncio.to_thread(draw, i, k) if offload else draw(i, k)
            event = ImageGenPartialImageEvent(
                b64_json=pybase64.b64encode(picture).decode("ascii"), background=background,
                created_at=int(time.time()), partial_image_index=k, quality=quality, size=size,
            )
            yield sse_event(encode_json(event), "image_generation.partial_image")
        picture = await asyncio.to_thread(draw, i) if offload else draw(i)
        done = ImageGenCompletedEvent(
            b64_json=pybase64.b64encode(picture).decode("ascii"), background=background,
            created_at=int(time.time()), quality=quality, size=size, usage=usage,
        )
        yield sse_event(encode_json(done), "image_generation.completed")


def _image_id(name: str) -> str:
    image_id = name.removesuffix(".png")
    if not _ID.match(image_id):
        raise NotFoundError(f"No image found with id '{image_id}'.", param="image_id")
    return image_id


async def get_image_file(ctx: SyntheticContext, name: str) -> Body:
    """The stored PNG, until it expires or is deleted (then a 404)."""
    image_id = _image_id(name)
    now = int(time.time())
    found = await store.load_image(ctx.database, image_id, now)
    if found is None:
        raise NotFoundError(
            f"No image found with id '{image_id}'; it may have expired or been deleted.", param="image_id"
        )
    data, media_type, expires_at = found
    headers = {"cache-control": f"public, max-age={max(0, expires_at - now)}, immutable"}
    return Body(content=data, media_type=media_type, headers=headers)


async def delete_image_file(ctx: SyntheticContext, name: str) -> Body:
    image_id = _image_id(name)
    if not await store.delete_image(ctx.database, image_id, int(time.time())):
        raise NotFoundError(f"No image found with id '{image_id}'.", param="image_id")
    return Body(content=encode_json(ImageDeleted(id=image_id)))
