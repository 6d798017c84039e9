"""The offline tokenizer: lossless splitting, cl100k-like counts, chat overhead."""


import pytest

from fakeai.modes.synthetic.tokenizer import count_message_tokens, count_tokens, tokenize

SAMPLES = [
    "",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I don't know; it's 12345 dollars.\n\nNext paragraph here.",
    "snake_case_name = some_function(x, y) + 42",
    "日本語のテキストと English mixed",
    "   leading and trailing spaces   ",
    "tabs\tand\r\nwindows newlines\n",
    "internationalization supercalifragilistic",
    "emoji 🙂 and accents: café naïve",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_tokenize_is_lossless(text):
    assert "".join(tokenize(text)) == text
    assert count_tokens(text) == len(tokenize(text))


# Reference counts from OpenAI's cl100k_base for these strings; ours must be close (within 20%).
@pytest.mark.parametrize(
    "text,cl100k",
    [
        ("Hello, world!", 4),
        ("The quick brown fox jumps over the lazy dog.", 10),
        ("Tell me a story about a dragon who learns to code in Python.", 14),
        ("I don't know, it's complicated.", 9),
    ],
)
def test_counts_close_to_cl100k(text, cl100k):
    assert abs(count_tokens(text) - cl100k) <= max(1, cl100k * 0.2)


def test_words_and_punctuation():
    assert tokenize("Hello, world!") == ["Hello", ",", " world", "!"]
    assert tokenize(" don't") == [" don", "'t"]
    assert tokenize("1234567") == ["123", "456", "7"]


def test_long_words_split_into_pieces():
    pieces = tokenize(" internationalization")
    assert len(pieces) == 3 and all(len(p.strip()) <= 8 for p in pieces)


def test_cjk_counts_per_character():
    assert count_tokens("日本語") == 3


def test_empty():
    assert count_tokens("") == 0
    assert tokenize("") == []


def test_message_overhead():
    one = count_message_tokens([{"role": "user", "content": "Hello"}])
    assert one == 3 + 1 + 3
    two = count_message_tokens([{"role": "system", "content": "Be nice."}, {"role": "user", "content": "Hello"}])
    assert two == one + 3 + count_tokens("Be nice.")
    named = count_message_tokens([{"role": "user", "content": "Hello", "name": "bob"}])
    assert named == one + 1


def test_message_parts_and_tool_calls():
    parts = [{"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "image_url", "image_url": {"url": "x"}}]}]
    assert count_message_tokens(parts) == 3 + 1 + 85 + 3
    calls = [{"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "get", "arguments": '{"a": 1}'}}]}]
    assert count_message_tokens(calls) > 6


def test_long_text_counts_grow_with_the_text():
    # Its speed (~0.3 us per token) is measured by bench/timing.py, not asserted here.
    text = "The quick brown fox jumps over the lazy dog. " * 2000  # ~20k tokens
    counts = [count_tokens(text * k) for k in (1, 2)]
    assert 15_000 < counts[0] and counts[0] * 2 - 2 <= counts[1] <= counts[0] * 2 + 2
