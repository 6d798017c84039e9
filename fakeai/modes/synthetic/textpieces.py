"""The words of a batch of texts (keys and weights) and their token counts, memoised per piece.

An embeddings batch costs mostly fixed overheads: one tokenizer regex call per text for ``usage``
and ~25 numpy calls to find, hash and weigh the words. The texts of a corpus are mostly made of the
same few thousand pieces (``"sentence"``, ``"retrieval,"``), so an ASCII text is split at its spaces
and each piece looked up in two memos (its tokens after a space; its words' keys and weights); only
pieces never seen are tokenised and hashed. The results are those of the direct computation:

- Words (``\\w+`` runs of the lower-cased text) never contain a space, and lower-casing ASCII is per
  character, so a text's words are its pieces' words in order, with the keys ``batch_words`` gives.
- Tokens: a space preceded by a non-space always starts a token of ``tokenizer._PATTERN`` (whitespace
  only ever leads a match, and no ``\\s`` run reaches back past a non-space), and what the pattern
  matches before that space does not depend on what follows (its lookaheads see a space or the end
  alike). So a printable-ASCII text without two spaces in a row has the tokens of its first piece
  plus those of ``" " + piece`` for each other piece. Other texts are counted by ``count_tokens``.
"""

from __future__ import annotations

import re

import numpy as np

from fakeai.modes.synthetic.tokenizer import count_tokens, tokenize
from fakeai.modes.synthetic.wordkeys import batch_words, word_key, word_keys

__all__ = ["MEMO_BYTES", "STOPWORDS", "STOPWORD_WEIGHT", "Words", "scan", "weights_of"]

# A batch's words as ``scan`` finds them: keys (uint64), weights (float64), and how many belong to each text.
Words = tuple[np.ndarray, np.ndarray, list[int]]
STOPWORD_WEIGHT = 0.25  # "the", "of" … weigh less, as they do in trained models
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i in is it its of on or our she so that the "
    "their them they this to was we were what when where which who will with you your".split()
)
_STOPWORD_KEYS = np.unique(word_keys(sorted(STOPWORDS)))
_STOPWORD_INTS = frozenset(_STOPWORD_KEYS.tolist())

# Bounded memory: a full memo is emptied, then refilled by the pieces in use. Pieces longer than
# LONGEST are not kept (a text without spaces would otherwise fill the memo with one entry).
MEMO_BYTES = 4 * 1024 * 1024  # characters of pieces plus bytes of words (about 3x that in RAM)
LONGEST = 256
# Fewer missing words than this are hashed one by one in Python (~2 us each); more, in one numpy pass.
NUMPY_WORDS = 24

_WORD = re.compile(r"\w+")
_TOKENS: dict[str, int] = {}  # piece -> tokens of " " + piece
_WORDS: dict[str, bytes] = {}  # piece -> per word: key (uint64), weight (float64), little-endian
_FIRST: dict[str, int] = {}  # piece -> its tokens as a text's first piece (no space before it)
_size = 0


def weights_of(keys: np.ndarray) -> np.ndarray:
    """Each word's weight (float64): ``STOPWORD_WEIGHT`` for stop words, else 1."""
    nearest = _STOPWORD_KEYS[np.searchsorted(_STOPWORD_KEYS, keys) % len(_STOPWORD_KEYS)]
    return np.where(nearest == keys, STOPWORD_WEIGHT, 1.0)


def _keep(learnt: dict[str, tuple[int, bytes]]) -> None:
    global _size
    for piece, (tokens, words) in learnt.items():
        if len(piece) <= LONGEST:
            _size += len(piece) + len(words) + 16
            if _size > MEMO_BYTES:
                _TOKENS.clear()
                _WORDS.clear()
                _FIRST.clear()
                _size = len(piece) + len(words) + 16
            _TOKENS[piece] = tokens
            _WORDS[piece] = words


def _learn(pieces: set[str]) -> dict[str, tuple[int, bytes]]:
    """(tokens after a space, words) of each piece, computed."""
    found = {piece: _WORD.findall(piece.lower()) for piece in pieces}
    words: dict[str, bytes] = {}
    if sum(map(len, found.values())) < NUMPY_WORDS:
        for piece, piece_words in found.items():
            keys = [word_key(word.encode()) for word in piece_words]
            weights = [STOPWORD_WEIGHT if key in _STOPWORD_INTS else 1.0 for key in keys]
            words[piece] = np.array([keys, np.array(weights).view("<u8")], dtype="<u8").T.tobytes()
    else:
        order = list(pieces)
        keys, owners = batch_words(order)
        pairs = np.stack([keys, weights_of(keys).view(np.uint64)], axis=1).astype("<u8").tobytes()
        at = 0
        for piece, size in zip(order, np.bincount(owners, minlength=len(order)).tolist()):
            words[piece] = pairs[at : at + 16 * size]
            at += 16 * size
    return {piece: (len(tokenize(" " + piece)), words[piece]) for piece in pieces}


def _first_tokens(piece: str) -> int:
    tokens = _FIRST.get(piece)
    if tokens is None:
        tokens = len(tokenize(piece))
        if len(piece) <= LONGEST:
            _FIRST[piece] = tokens
    return tokens


def scan(texts: list[str]) -> tuple[list[int], Words | None]:
    """Each text's token count, and, if every text is ASCII, the batch's words: keys (uint64) and
    weights (float64) of all words in order, and the number of words of each text."""
    batch = "a".join(texts)  # a letter between texts: no "  " across two of them
    if not batch.isascii():
        return [count_tokens(text) for text in texts], None
    split = [text.split(" ") for text in texts]
    simple = batch.isprintable() and "  " not in batch
    try:
        return _assemble(texts, split, simple, _TOKENS.__getitem__, _WORDS.__getitem__)
    except KeyError:
        pass
    everything = {piece for pieces in split for piece in pieces}
    learnt = _learn({piece for piece in everything if piece not in _WORDS})
    _keep(learnt)
    try:
        return _assemble(texts, split, simple, _TOKENS.__getitem__, _WORDS.__getitem__)
    except KeyError:
        # A piece too long to keep, or the memos emptied meanwhile (a big batch in another thread):
        # this batch's own table.
        learnt.update(_learn({piece for piece in everything if piece not in learnt}))
        return _assemble(texts, split, simple, lambda piece: learnt[piece][0], lambda piece: learnt[piece][1])


def _assemble(texts: list[str], split: list[list[str]], simple: bool, tokens_of, words_of):
    """``simple``: every text is printable without two spaces in a row (each counted from its pieces)."""
    # map(): the loops over pieces run in C; this is most of a batch's cost when every piece is known.
    rows = [b"".join(map(words_of, pieces)) for pieces in split]
    if simple:
        counts = [sum(map(tokens_of, pieces)) - tokens_of(pieces[0]) + _first_tokens(pieces[0]) for pieces in split]
    else:
        counts = [
            sum(map(tokens_of, pieces)) - tokens_of(pieces[0]) + _first_tokens(pieces[0])
            if text.isprintable() and "  " not in text
            else count_tokens(text)
            for text, pieces in zip(texts, split)
        ]
    words = np.frombuffer(b"".join(rows), dtype="<u8").reshape(-1, 2)
    return counts, (words[:, 0], words[:, 1].view("<f8"), [len(row) >> 4 for row in rows])
