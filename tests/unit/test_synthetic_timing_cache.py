"""Logprobs and the prompt-cache rule of synthetic mode (the latency model: test_engine.py)."""


import numpy as np

from fakeai.modes.synthetic.logprobs import token_logprobs
from fakeai.modes.synthetic.prompt_cache import PrefixCache


def test_logprobs_shape_and_order():
    tokens = ["Hello", " world", "."]
    out = token_logprobs(np.random.default_rng(1), tokens, 5)
    assert [t for t, _, _ in out] == tokens
    for tok, lp, tops in out:
        assert lp < 0
        assert len(tops) == 5 and tops[0] == (tok, lp)
        lps = [x for _, x in tops]
        assert lps == sorted(lps, reverse=True) and len(set(lps)) == 5
        assert len({t for t, _ in tops}) == 5


def test_logprobs_deterministic():
    a = token_logprobs(np.random.default_rng(9), ["a", "b"], 3)
    b = token_logprobs(np.random.default_rng(9), ["a", "b"], 3)
    assert a == b
    assert token_logprobs(np.random.default_rng(9), ["a"], 0)[0][2] == []


def test_prompt_cache_rule():
    cache = PrefixCache()
    prompt = [f" w{i}" for i in range(1500)]
    assert cache.observe(prompt) == 0  # first time: nothing cached
    assert cache.observe(prompt) == 1408  # 1500 rounded down to 128 steps
    assert cache.observe(prompt[:1200] + [" other"] * 300) == 1152
    assert cache.observe(prompt[:1000]) == 0  # under 1024 tokens never caches
    assert cache.observe(prompt, namespace="other-model") == 0


def test_prompt_cache_bounded():
    cache = PrefixCache(max_entries=50)
    for k in range(20):
        cache.observe([f" p{k}-{i}" for i in range(2048)])
    assert len(cache) <= 50
