"""A minimal PNG encoder (zlib + struct, no Pillow) for 8-bit RGB and RGBA arrays.

Every row uses the Sub filter (each byte minus the one a pixel to its left), computed with one numpy
subtraction: the synthetic pictures are smooth, so the filtered rows are nearly constant and even
zlib's fastest level shrinks them to a few percent.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["PNG_SIGNATURE", "encode_png", "read_png_size"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {3: 2, 4: 6}  # channels -> PNG colour type (truecolour, truecolour with alpha)
_SUB = 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray, level: int = 1) -> bytes:
    """``pixels`` is uint8 of shape (height, width, 3 or 4)."""
    height, width, channels = pixels.shape
    row = pixels.reshape(height, width * channels)
    filtered = np.empty((height, width * channels + 1), dtype=np.uint8)
    filtered[:, 0] = _SUB
    filtered[:, 1 : 1 + channels] = row[:, :channels]
    np.subtract(row[:, channels:], row[:, :-channels], out=filtered[:, 1 + channels :])  # wraps mod 256
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(filtered.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )


def read_png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height
