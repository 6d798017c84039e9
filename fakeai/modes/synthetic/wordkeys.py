"""The words of a batch of texts as 64-bit keys, hashed in a few numpy passes over the whole batch.

A word is a maximal run of ``\\w`` characters of the lower-cased text (what ``re.findall(r"\\w+",
text.lower())`` returns). Its key is a hash of its UTF-8 bytes: the sum of each byte times a fixed
odd 64-bit constant for its position (64 of them, drawn from SHAKE-256, reused cyclically for longer
words) plus the length times another, then a 64-bit finaliser. It is stable across processes and
numpy versions (no ``hash()``), and the same whichever way the words were found:

- ASCII batches (the common case) are segmented with a byte lookup table, without a Python loop;
- anything else goes through the regex, one call per text, and the words found are hashed by the
  very same numpy code, so a word has one key whatever else is in its batch.

Hashing a batch costs one ``str.join`` and about fifteen numpy calls instead of one crc32 call per word.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

__all__ = ["batch_words", "mix", "word_key", "word_keys"]

_SPAN = 64
_CONSTANTS = np.frombuffer(hashlib.shake_256(b"fakeai word keys v1").digest(8 * (_SPAN + 1)), dtype="<u8") | 1
_POSITION = _CONSTANTS[:_SPAN].copy()
_LENGTH = _CONSTANTS[_SPAN]
_33, _MIX1, _MIX2 = np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_WORD = re.compile(r"\w+")

# ASCII byte -> its lower-cased value when it is a word character (letters, digits, "_"), else 0.
_ASCII = np.zeros(256, dtype=np.uint8)
for _c in range(128):
    if _WORD.fullmatch(chr(_c)):
        _ASCII[_c] = ord(chr(_c).lower())
# Words already split by the regex and joined by spaces (texts by NUL): every other byte is a word's.
_SPLIT = np.arange(256, dtype=np.uint8)
_SPLIT[0] = _SPLIT[32] = 0


def mix(keys: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (murmur3's): every input bit affects every output bit. Array arithmetic
    wraps around silently, which the hash relies on."""
    keys = keys ^ (keys >> _33)
    keys *= _MIX1
    keys ^= keys >> _33
    keys *= _MIX2
    keys ^= keys >> _33
    return keys


def _segments(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys of the runs of non-zero ``values`` and the text each run starts in (``offsets``: text starts)."""
    inside = np.empty(len(values) + 2, dtype=np.int8)
    inside[0] = inside[-1] = 0
    np.not_equal(values, 0, out=inside[1:-1].view(np.bool_))
    edges = np.diff(inside)
    starts = np.flatnonzero(edges == 1)
    if not len(starts):
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.intp)
    lengths = np.flatnonzero(edges == -1) - starts
    chars = np.flatnonzero(inside[1:-1])
    firsts = np.cumsum(lengths) - lengths  # where each word starts among ``chars``
    position = np.arange(len(chars)) - np.repeat(firsts, lengths)
    terms = values[chars].astype(np.uint64) * _POSITION[position & (_SPAN - 1)]
    keys = np.add.reduceat(terms, firsts) + lengths.astype(np.uint64) * _LENGTH
    return mix(keys), np.searchsorted(offsets, starts, side="right") - 1


def batch_words(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Keys (uint64) of every word of ``texts`` in order, and the index of the text each belongs to."""
    joined = "\0".join(texts)
    if joined.isascii():
        values = _ASCII[np.frombuffer(joined.encode("ascii"), dtype=np.uint8)]
        sizes = [len(text) + 1 for text in texts]
    else:
        pieces = [" ".join(_WORD.findall(text.lower())).encode() for text in texts]
        values = _SPLIT[np.frombuffer(b"\0".join(pieces), dtype=np.uint8)]
        sizes = [len(piece) + 1 for piece in pieces]
    offsets = np.zeros(len(texts), dtype=np.intp)
    np.cumsum(sizes[:-1], out=offsets[1:])
    return _segments(values, offsets)


_POSITION_INTS = [int(c) for c in _POSITION]
_LENGTH_INT, _MIX1_INT, _MIX2_INT = int(_LENGTH), int(_MIX1), int(_MIX2)
_MASK = (1 << 64) - 1


def word_key(word: bytes) -> int:
    """One word's key (``word``: lower-cased UTF-8 ``\\w`` characters) in plain integers: the same
    value as ``batch_words`` without its ~20 numpy calls (~50 us of fixed cost), for a few words."""
    total = _LENGTH_INT * len(word)
    for at in range(0, len(word), _SPAN):
        total += sum(map(int.__mul__, word[at : at + _SPAN], _POSITION_INTS))
    key = total & _MASK
    key ^= key >> 33
    key = key * _MIX1_INT & _MASK
    key ^= key >> 33
    key = key * _MIX2_INT & _MASK
    return key ^ key >> 33


def word_keys(words: list[str]) -> np.ndarray:
    """The key of each of ``words`` (each already one lower-cased word), as ``batch_words`` gives it."""
    return batch_words(words)[0]
