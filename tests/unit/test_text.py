"""The synthetic text generator: one token per piece, lengths, determinism, stop strings, reasoning."""

import numpy as np
import pytest

from fakeai.modes.synthetic import text as T
from fakeai.modes.synthetic.tokenizer import count_tokens, tokenize


def gen(seed=1, prompt="Tell me about Kubernetes networking", **kw):
    rng = T.make_rng(seed, prompt)
    return T.generate(rng, topics=T.topic_words(prompt), **kw)


@pytest.mark.parametrize("seed", range(30))
def test_every_piece_is_one_token(seed):
    g = gen(seed, reasoning=seed % 2 == 0)
    assert g.tokens
    assert tokenize(g.text) == g.tokens
    assert count_tokens(g.text) == len(g.tokens)
    if g.reasoning:
        assert tokenize(g.reasoning_text) == g.reasoning
    assert g.completion_tokens == len(g.tokens) + len(g.reasoning)


def test_reads_like_language():
    g = gen(3)
    text = g.text
    assert text[0].isupper() and text.rstrip()[-1] in ".?"
    words = text.split()
    assert len(set(words)) > len(words) / 3  # not one sentence on repeat
    assert "lorem" not in text.lower()
    # Mostly real words from the vocabulary or the prompt.
    assert sum(w.strip(".,;?").lower() in T.WORDS or w.strip(".,;?").lower() in {"the", "a", "an"} for w in words) > len(words) / 3


def test_seed_is_deterministic_and_prompt_sensitive():
    a = gen(7, "What is the capital of France?")
    b = gen(7, "What is the capital of France?")
    c = gen(7, "How do volcanoes form?")
    d = gen(8, "What is the capital of France?")
    assert a.tokens == b.tokens
    assert a.tokens != c.tokens
    assert a.tokens != d.tokens


def test_unseeded_varies():
    rng = T.make_rng(None, "x")
    outs = {tuple(T.generate(rng).tokens) for _ in range(5)}
    assert len(outs) == 5


def test_weaves_prompt_words():
    prompt = "Explain how photosynthesis works in chloroplasts"
    texts = " ".join(gen(s, prompt, target=200).text for s in range(5))
    assert "photosynthesis" in texts or "chloroplasts" in texts


def test_topic_words():
    words = T.topic_words("Tell me about Kubernetes networking. What does NVIDIA build?")
    assert "Kubernetes" in words and "NVIDIA" in words and "networking" in words
    assert "tell" not in words and "the" not in words


def test_natural_end_is_a_sentence_end():
    for seed in range(10):
        g = gen(seed, max_tokens=10_000)
        assert g.finish_reason == "stop"
        assert g.text.rstrip()[-1] in ".?"


def test_max_tokens_cuts_with_length():
    g = gen(1, max_tokens=5, target=100)
    assert len(g.tokens) == 5 and g.finish_reason == "length"


def test_ignore_eos_runs_to_max_tokens():
    g = gen(2, max_tokens=333, ignore_eos=True)
    assert len(g.tokens) == 333 and g.finish_reason == "length"


def test_min_tokens():
    g = gen(2, min_tokens=300)
    assert len(g.tokens) >= 300


def test_stop_strings_cut_at_first():
    g = gen(4, target=200)
    full = g.text
    word = full.split()[5]
    cut = gen(4, target=200, stop=[word, "zzzz-never"])
    assert cut.finish_reason == "stop"
    assert cut.text == full[: full.index(word)]
    assert tokenize(cut.text) == cut.tokens


def test_stop_inside_a_token():
    tokens = ["Hello", " world", "."]
    assert T.apply_stop(tokens, ["orl"]) == ["Hello", " w"]
    assert T.apply_stop(tokens, ["nope"]) is None


def test_reasoning_counts_in_budget():
    g = gen(5, reasoning=True, max_tokens=10_000)
    assert g.reasoning and g.tokens
    # Reasoning takes at most a quarter of the budget, so even a tiny budget gets an answer.
    for budget in (1, 2, 8, 20, 40):
        short = gen(5, reasoning=True, max_tokens=budget, target=500)
        assert len(short.reasoning) == budget // 4 and short.tokens, budget
        assert short.completion_tokens == budget and short.finish_reason == "length"
    assert gen(5, reasoning=True, max_tokens=400).reasoning == g.reasoning  # a large budget: uncapped
    for effort in ("none", "minimal"):
        assert gen(5, reasoning=True, reasoning_effort=effort).reasoning == []


@pytest.mark.parametrize(
    "model,expected",
    [
        ("openai/gpt-oss-120b", True),
        ("gpt-oss-20b", True),
        ("o1-mini", True),
        ("o3", True),
        ("o4-mini", True),
        ("deepseek-ai/DeepSeek-R1", True),
        ("gpt-4o", False),
        ("meta-llama/Llama-3.1-8B-Instruct", False),
    ],
)
def test_reasoning_models(model, expected):
    assert T.is_reasoning_model(model) is expected


def test_vocabulary_words_are_single_tokens():
    for w in T.WORDS:
        assert tokenize(" " + w) == [" " + w]


def test_rng_is_generator():
    assert isinstance(T.make_rng(1, "a"), np.random.Generator)


def test_seeded_requests_do_not_make_unseeded_ones_repeat():
    outs = []
    for _ in range(2):
        T.generate(T.make_rng(5, "same seeded request"))
        outs.append(T.generate(T.make_rng(None)).tokens)
    assert outs[0] != outs[1]
