"""The piece memo (textpieces.scan) gives what the direct computation gives: token counts of the
tokenizer, word keys of batch_words, stop-word weights; whatever the texts and the memo's state."""

import random

import numpy as np
import pytest

from fakeai.modes.synthetic import textpieces
from fakeai.modes.synthetic.textpieces import scan, weights_of
from fakeai.modes.synthetic.tokenizer import count_tokens
from fakeai.modes.synthetic.wordkeys import batch_words, word_key, word_keys

# Every ASCII character class the tokenizer's pattern treats apart, weighted towards the tricky ones.
ALPHABET = "abcXYZ" * 4 + "0123456789" + " " * 12 + "'''" + "sdmtlvre" + "_-.,!?()\"#" + "\t\n\r\x0b\x0c\x1c"


def random_text(rng: random.Random) -> str:
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
    if rng.random() < 0.6:  # most texts printable with single spaces: those the memo counts itself
        text = " ".join(text.translate({ord(c): " " for c in "\t\n\r\x0b\x0c\x1c"}).split(" "))
        while "  " in text:
            text = text.replace("  ", " ")
    return text


def direct(texts):
    keys, owners = batch_words(texts)
    return [count_tokens(t) for t in texts], keys, weights_of(keys), np.bincount(owners, minlength=len(texts))


def check(texts):
    counts, words = scan(texts)
    expected = direct(texts)
    assert counts == expected[0], texts
    keys, weights, sizes = words
    assert np.array_equal(keys, expected[1]) and np.array_equal(weights, expected[2]), texts
    assert sizes == expected[3].tolist(), texts


@pytest.mark.parametrize("seed", range(4))
def test_scan_matches_the_direct_computation(seed):
    rng = random.Random(seed)
    for _ in range(300):
        check([random_text(rng) for _ in range(rng.randint(1, 8))])
    # Long words (past the hash's 64 constants), long pieces (not memoised), many new words at once.
    check(["x" * 70 + " " + "y" * 300, "the  end " + "z" * 65])
    check([" ".join(f"w{i}x{rng.random()}" for i in range(40))])


def test_scan_survives_an_emptied_or_tiny_memo(monkeypatch):
    texts = ["the cat sat on the mat", "a cat, a mat.", "don't stop 123 _under_ score"]
    check(texts)
    monkeypatch.setattr(textpieces, "MEMO_BYTES", 40)  # emptied on almost every insertion
    check(texts)
    check(["new words here and there", *texts])
    monkeypatch.setattr(textpieces, "LONGEST", 2)  # most pieces never kept
    check(["longer pieces are recomputed every time", *texts])


def test_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(textpieces, "MEMO_BYTES", 10_000)
    for i in range(500):
        scan([f"unique{i} piece{i * 7} number {i}"])
    held = sum(len(p) + len(w) + 16 for p, w in textpieces._WORDS.items())
    assert held <= 10_000 and len(textpieces._FIRST) <= len(textpieces._WORDS) + 500


def test_non_ascii_batches_are_left_to_the_caller():
    counts, words = scan(["naïve café", "plain"])
    assert words is None and counts == [count_tokens("naïve café"), count_tokens("plain")]


def test_word_key_is_batch_words_key():
    rng = random.Random(7)
    words = ["".join(rng.choice("abcz09_") for _ in range(rng.randint(1, 150))) for _ in range(500)]
    assert [word_key(w.encode()) for w in words] == word_keys(words).tolist()
