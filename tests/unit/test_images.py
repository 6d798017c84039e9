import asyncio
import sqlite3
import struct
import zlib

import numpy as np
import pytest

from fakeai.errors import InvalidRequestError
from fakeai.modes.synthetic.images import parse_size, render
from fakeai.modes.synthetic.png import PNG_SIGNATURE, encode_png, read_png_size
from fakeai.store import Database, upgrade_database
from fakeai.store.images import StoredImage, delete_image, load_image, save_images


def decode_png(data: bytes) -> np.ndarray:
    """An independent reader: walk the chunks, check every CRC, undo the filters."""
    assert data[:8] == PNG_SIGNATURE
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert [k for k, _ in chunks][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and interlace == 0
    channels = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride = width * channels
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        assert kind == 1  # Sub
        recon = line.copy()
        for x in range(channels, stride):
            recon[x] = (recon[x] + recon[x - channels]) & 0xFF
        out[y] = recon
    return out.reshape(height, width, channels)


def test_png_round_trip_rgb_and_rgba():
    rng = np.random.default_rng(0)
    for channels in (3, 4):
        pixels = rng.integers(0, 256, size=(7, 13, channels), dtype=np.uint8)
        data = encode_png(pixels)
        assert read_png_size(data) == (13, 7)
        assert np.array_equal(decode_png(data), pixels)


@pytest.mark.parametrize("size", ["256x256", "1792x1024", "1024x1536"])
def test_rendered_picture_has_the_requested_size(size):
    width, height = parse_size(size)
    data = render(b"a lighthouse at dusk", width, height, 3, False, False)
    assert read_png_size(data) == (width, height)
    if width * height <= 256 * 256:
        assert decode_png(data).shape == (height, width, 3)


def test_pictures_depend_on_the_prompt_only():
    a = render(b"a red fox", 64, 64, 3, False, False)
    assert render(b"a red fox", 64, 64, 3, False, False) == a
    b = render(b"a blue whale", 64, 64, 3, False, False)
    assert a != b
    assert not np.array_equal(decode_png(a), decode_png(b))
    transparent = decode_png(render(b"a red fox", 64, 64, 3, False, True))
    assert transparent.shape == (64, 64, 4) and {0, 255} >= set(np.unique(transparent[:, :, 3]))


def test_parse_size():
    assert parse_size(None) == parse_size("auto") == (1024, 1024)
    for size in ("256x256", "512x512", "1024x1024", "1792x1024", "1024x1792", "1536x1024", "1024x1536", "1536x864"):
        w, h = parse_size(size)
        assert f"{w}x{h}" == size
    for bad in ("100x100", "1024", "4096x4096", "3840x1008", "big", "1024x1024x3", "0x0"):
        with pytest.raises(InvalidRequestError) as info:
            parse_size(bad)
        assert info.value.param == "size"


def test_image_store_expiry_and_delete(tmp_path):
    url = "sqlite+aiosqlite:///" + str(tmp_path / "images.db")
    upgrade_database(url)

    async def scenario() -> None:
        db = Database(url)
        try:
            now = 1_000_000
            rows = [
                StoredImage(id="img_live", created_at=now, expires_at=now + 3600, model="dall-e-2", width=1,
                            height=1, media_type="image/png", data=b"live"),
                StoredImage(id="img_old", created_at=now - 7200, expires_at=now - 3600, model=None, width=1,
                            height=1, media_type="image/png", data=b"old"),
            ]
            await save_images(db, rows, now)
            assert await load_image(db, "img_live", now) == (b"live", "image/png", now + 3600)
            assert await load_image(db, "img_old", now) is None  # expired
            assert await load_image(db, "img_live", now + 3600) is None  # expires exactly at expires_at
            # The next save sweeps expired rows.
            await save_images(db, [StoredImage(id="img_new", created_at=now, expires_at=now + 10, model=None,
                                               width=1, height=1, media_type="image/png", data=b"n")], now + 1)
            with sqlite3.connect(tmp_path / "images.db") as conn:
                ids = {r[0] for r in conn.execute("SELECT id FROM images")}
            assert ids == {"img_live", "img_new"}
            assert not await delete_image(db, "img_old", now + 1)
            assert await delete_image(db, "img_live", now + 1)
            assert not await delete_image(db, "img_live", now + 1)
            assert await load_image(db, "img_live", now + 1) is None
        finally:
            await db.dispose()

    asyncio.run(scenario())
