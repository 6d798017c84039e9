"""fit_pairs skips counting pairs shorter than the limit in characters; the answers must not change."""

import random

from fakeai.errors import InvalidRequestError
from fakeai.modes.synthetic.ranking import fit_pairs, truncate_tokens
from fakeai.modes.synthetic.tokenizer import count_tokens

WORDS = ["a", "transformer", "x", "12345678", "!!", "über", "数据", " ", "\n", "internationalization", "ok."]


def _counted(query: str, passages: list[str], truncate: bool, limit: int) -> list[str] | str:
    """The rule with every pair counted: what fit_pairs must answer."""
    room = limit - count_tokens(query)
    if room < 1 and not truncate:
        return "query"
    out = []
    for i, p in enumerate(passages):
        tokens = count_tokens(p)
        if tokens <= room:
            out.append(p)
        elif truncate:
            out.append(truncate_tokens(p, room))
        else:
            return f"passages[{i}]"
    return out


def _text(rnd: random.Random, words: int) -> str:
    return "".join(rnd.choice(WORDS) + rnd.choice(["", " "]) for _ in range(words))


def test_same_answer_as_counting_every_pair():
    shortcut = 0
    for seed in range(2000):
        rnd = random.Random(seed)
        limit = rnd.choice([4, 8, 16, 40])
        query = _text(rnd, rnd.randrange(0, 12))
        passages = [_text(rnd, rnd.randrange(0, 14)) for _ in range(rnd.randrange(1, 5))]
        truncate = rnd.random() < 0.5
        expected = _counted(query, passages, truncate, limit)
        try:
            got = fit_pairs(query, passages, truncate, limit)
        except InvalidRequestError as exc:
            got = exc.param
        assert got == expected, (seed, query, passages, truncate, limit)
        shortcut += any(len(query) + len(p) < limit for p in passages)
    assert shortcut > 200  # the cases exercise the uncounted path, not only the counted one
