"""Synthetic English-like text, built so that every emitted piece is exactly one token.

At import we expand a small grammar (sentence templates over part-of-speech word lists) into a pool of a
few thousand sentences, each already split into token pieces (" word", ",", "."). Every word is at most
8 ASCII letters, so ``tokenizer.tokenize`` keeps it as one token and ``completion_tokens == len(tokens)``
holds by construction. A request then only draws a handful of floats from a seeded numpy Generator,
picks sentences, swaps some nouns for words from the prompt and joins: no per-request grammar work.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np

from fakeai.modes.synthetic.tokenizer import tokenize

__all__ = [
    "Generation",
    "generate",
    "is_reasoning_model",
    "make_rng",
    "think",
    "reasoning_cap",
    "topic_words",
    "apply_stop",
    "WORDS",
]

# --- vocabulary (every word <= 8 letters: one token with its leading space) ----------------------------
_NOUNS = (
    "system model process approach value result data method idea context problem question answer pattern "
    "detail example feature choice design language network signal balance request response library server "
    "client budget memory layer metric project team history theory concept step goal factor source outcome "
    "option version change trend field rule tool limit range cost risk effect impact scale surface engine "
    "report record story region market policy culture habit routine garden river city journey picture "
    "device"
).split()
_ADJS = (
    "simple clear useful careful modern common strong broad small large stable flexible reliable complex "
    "subtle natural gradual early recent robust central direct obvious hidden shared general specific quiet "
    "bright steady narrow honest gentle rapid solid careful formal distinct visible"
).split()
_VERBS = (
    "improve support explain create reduce define shape measure handle reveal affect require combine extend "
    "produce describe suggest connect balance capture follow guide build change clarify compare deliver "
    "enable ensure protect provide simplify organize review adjust track test")
_VERBS = _VERBS.split()
_ADVS = "often usually rarely quickly slowly clearly directly mostly simply largely easily gently steadily quietly".split()
_PREPS = "with for across within through around behind beyond under into from about toward".split()
_NUMS = "two three four five several many".split()

_STOPWORDS = frozenset(
    "the and for are but not you all any can her was one our out day get has him his how man new now old see "
    "two way who boy did its let put say she too use that with have this will your from they know want been "
    "good much some time very when come here just like long make many more only over such take than them "
    "well were what about would there their which could other these into then also should does please tell "
    "write give explain describe using used need help thanks thank hello okay yes think know where why".split()
)


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def _third(verb: str) -> str:
    return _plural(verb)  # same spelling rules: supports, reduces, clarifies, reaches


# --- templates ----------------------------------------------------------------------------------------
# {N} noun, {NS} plural, {A} adjective, {V} verb, {VS} verb -s, {ADV} adverb, {P} preposition, {NUM},
# {T} topic: a noun that may be replaced by a word from the prompt at request time. {AN} is "a"/"an"
# agreeing with the next word.
_CONTENT_TEMPLATES = (
    "The {N} {VS} the {A} {N} of {T}.",
    "In practice, {T} {VS} how the {N} {VS} {NS}.",
    "{AN} {A} {N} can {V} the {N} {ADV}.",
    "Most {NS} {V} {T} {P} {AN} {A} {N}.",
    "This is why {T} {VS} so {A}.",
    "For example, {AN} {N} might {V} its {NS} {P} the {N}.",
    "When you {V} the {N}, the {NS} {V} {ADV}.",
    "The {T} is {ADV} {A}, but the {N} is {A}.",
    "It helps to {V} the {N} before you {V} the {NS}.",
    "As a result, {NS} {V} {A} {NS} {P} the {N}.",
    "One {A} way to {V} {T} is to {V} the {N} first.",
    "Over time, the {N} {VS} more {A}.",
    "However, {A} {NS} {ADV} {V} the {N}.",
    "The {N} of {T} {VS} on the {N}.",
    "That {N} {VS} {AN} {A} {N}, and it {VS} the {N} {ADV}.",
    "Think of {T} as {AN} {A} {N} that {VS} {NS}.",
    "In short, {T} {VS} {NS} to {V} {ADV}.",
    "Each {N} {VS} its own {N}, so the {NS} {V} {ADV}.",
    "There are {NUM} {A} {NS} to {V} here.",
    "First, {V} the {N}; then {V} the {NS}.",
    "The {A} {N} is not the {N} itself but the {N} behind it.",
    "Still, {NS} {V} {T} {ADV}.",
    "If the {N} {VS} {A}, {V} the {N} again.",
    "Many {NS} {V} that {T} {VS} {A} {NS}.",
    "Overall, the {N} {VS} {A} {P} {T}.",
    "A good {N} {VS} the {N} and {VS} the {NS}.",
    "The key {N} is how {T} {VS} the {N}.",
    "What {VS} most is the {N} {P} the {A} {N}.",
    "It is {A} to {V} {T} {P} {A} {NS}.",
    "Do you want to {V} the {N} or the {T}?",
    "Why does the {N} {V} {T} so {ADV}?",
    "You can {V} {T} {P} {AN} {A} {N}.",
    "Some {NS} {V} the {N} {ADV}, while others {V} it {P} {NS}.",
    "With {T}, the {A} {N} {VS} {A} {NS}.",
    "Note that the {N} {VS} {T} only {P} the {N}.",
    "The {NS} {P} {T} are {A}, {A}, and {A}.",
)
_REASONING_TEMPLATES = (
    "Okay, the user is asking about {T}.",
    "Let me think about how {T} {VS} the {N}.",
    "I should {V} the {N} first.",
    "Maybe the {A} {N} matters here.",
    "Wait, the {N} might {V} the {NS} too.",
    "So the answer should {V} {T} {ADV}.",
    "I need to {V} the {A} {NS} clearly.",
    "Hmm, what about the {N} of {T}?",
    "That seems {A}, so I will {V} the {N}.",
    "Let me check the {N} again.",
    "The user probably wants {AN} {A} {N}.",
    "I could {V} {T} {P} the {N}.",
)

_SLOT = re.compile(r"\{(\w+)\}|([,.;?])|([A-Za-z]+)")
_POOL_SIZE = 3000
_REASONING_POOL_SIZE = 600


@dataclass(slots=True, frozen=True)
class _Sentence:
    tokens: tuple[str, ...]  # first token carries its leading space: " The"
    bare: tuple[str, ...]  # the same without that space, for the start of text or of a paragraph
    topic_at: int  # index of the topic token, -1 if none


def _expand(templates: Sequence[str], count: int, seed: int) -> tuple[_Sentence, ...]:
    rng = np.random.default_rng(seed)
    pools = {
        "N": _NOUNS,
        "T": _NOUNS,
        "NS": [p for p in map(_plural, _NOUNS) if len(p) <= 8],
        "A": _ADJS,
        "V": _VERBS,
        "VS": [v for v in map(_third, _VERBS) if len(v) <= 8],
        "ADV": _ADVS,
        "P": _PREPS,
        "NUM": _NUMS,
    }
    # Templates parsed once, and every draw made up front (one numpy call, not one per slot): this runs
    # at import, on the way to a healthy server.
    parsed = [_SLOT.findall(t) for t in templates]
    draws = iter(rng.random(count * max(len(p) for p in parsed)).tolist())
    out = []
    for i in range(count):
        words: list[str] = []
        topic_at = -1
        for slot, punct, literal in parsed[i % len(parsed)]:
            if punct:
                words.append(punct)
            elif literal:
                words.append(literal)
            elif slot == "AN":
                words.append("\0AN")
            else:
                pool = pools[slot]
                if slot == "T":
                    topic_at = len(words)
                words.append(pool[int(next(draws) * len(pool))])
        for j, w in enumerate(words):  # article agreement with the following word
            if w == "\0AN":
                nxt = words[j + 1]
                vowel = nxt[0] in "aeiou" and not nxt.startswith(("use", "usu", "uni"))
                words[j] = "an" if vowel or nxt.startswith("hon") else "a"
        words[0] = words[0][0].upper() + words[0][1:]
        tokens = tuple(w if w in ",.;?" else " " + w for w in words)
        out.append(_Sentence(tokens, (tokens[0][1:], *tokens[1:]), topic_at))
    return tuple(out)


_CONTENT_SENTENCES = _expand(_CONTENT_TEMPLATES, _POOL_SIZE, 1234)
_REASONING_SENTENCES = _expand(_REASONING_TEMPLATES, _REASONING_POOL_SIZE, 4321)

# Every vocabulary word, for logprob alternatives and JSON values.
WORDS: tuple[str, ...] = tuple(sorted(set(_NOUNS + _ADJS + _VERBS + _ADVS)))


# --- randomness ------------------------------------------------------------------------------------------
# Two Generators reused by every request: creating a numpy Generator costs ~20 us, resetting a PCG64
# state ~5 us. Unseeded requests share one never-reset stream; seeded ones reset the other, so a seeded
# request cannot make the unseeded answers after it repeat. Safe because generation runs synchronously
# on the event loop thread.
_RNG = np.random.Generator(np.random.PCG64())
_SEEDED = np.random.Generator(np.random.PCG64())
_BITGEN = _SEEDED.bit_generator


def make_rng(seed: int | None, *parts: str) -> np.random.Generator:
    """The Generator for a request: fully determined by ``parts`` and ``seed`` when seed is given.

    Without a seed the shared stream simply continues, so answers vary from call to call.
    """
    if seed is None:
        return _RNG
    h = hashlib.blake2b(digest_size=32)
    h.update(str(seed).encode())
    for part in parts:
        h.update(b"\0")
        h.update(part.encode("utf-8", "surrogatepass"))
    d = h.digest()
    _BITGEN.state = {
        "bit_generator": "PCG64",
        "state": {"state": int.from_bytes(d[:16], "little"), "inc": int.from_bytes(d[16:], "little") | 1},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return _SEEDED


_WORD = re.compile(r"[A-Za-z][a-z]{2,15}|[A-Z]{2,8}|[a-z][A-Za-z]{2,15}")


def topic_words(text: str, limit: int = 8) -> list[str]:
    """Content words of the prompt to weave into the answer, most recent first.

    Capitalised words keep their case unless they start a sentence (names stay names); the rest are
    lower-cased. Long words are fine: the generator inserts their token pieces.
    """
    # The end of a prompt is what the question is about, and 600 characters hold enough content words;
    # prompts repeat under load (benchmarks, retries), hence the memo.
    return list(_topic_words(text[-600:], limit))


@lru_cache(maxsize=1024)
def _topic_words(text: str, limit: int) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for m in reversed(list(_WORD.finditer(text))):
        w = m.group()
        lw = w.lower()
        if lw in _STOPWORDS:
            continue
        if w[0].isupper():
            before = text[max(0, m.start() - 2) : m.start()].strip()
            if (not before or before[-1] in ".!?:\n\"'") and not w.isupper():
                w = lw
        if w not in seen:
            seen[w] = None
            if len(seen) >= limit:
                break
    return tuple(seen)


# --- generation --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Generation:
    tokens: list[str]
    finish_reason: str  # "stop" | "length"
    reasoning: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens) + len(self.reasoning)


_REASONING_FAMILIES = ("gpt-oss", "o1", "o3", "o4-mini", "deepseek-r1", "qwq", "r1-distill")


@lru_cache(maxsize=4096)
def is_reasoning_model(model: str) -> bool:
    """gpt-oss, o1/o3/o4-mini and DeepSeek-R1 families think out loud (vLLM's ``reasoning_content``)."""
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("o1", "o3", "o4-mini")):
        return True
    return any(f in name for f in ("gpt-oss", "deepseek-r1", "qwq", "r1-distill"))


_PIECES: dict[str, list[str]] = {}


def _pieces(word: str) -> list[str]:
    """Token pieces of " word" (memoised: prompt words repeat across requests; bounded by a reset)."""
    p = _PIECES.get(word)
    if p is None:
        if len(_PIECES) > 50_000:
            _PIECES.clear()
        p = _PIECES[word] = tokenize(" " + word)
    return p


class _Pool:
    """A sentence pool and the length of its shortest sentence (which bounds the draws a target needs).

    (A numpy-vectorised join was measured slower: numpy's per-call cost dominates at ~10 sentences, and
    swapping prompt words into one long list costs more than the per-sentence loop saves.)
    """

    __slots__ = ("sentences", "size", "shortest")

    def __init__(self, sentences: tuple[_Sentence, ...]) -> None:
        self.sentences = sentences
        self.size = len(sentences)
        self.shortest = min(len(s.tokens) for s in sentences)


def _sentences(
    pool: _Pool, rng: np.random.Generator, target: int, topics: Sequence[str], bare_start: bool, keep: int | None = None
) -> list[str]:
    """Whole sentences until at least ``target`` tokens; a paragraph break after 3 or more sentences.

    ``keep``: the caller keeps only that many tokens, so sentences stop once there are enough. The
    draws are the same either way (one ``rng.random`` call sized by ``target``), so the result is a
    prefix of the full one and a seeded answer does not change."""
    if target <= 0:
        return []
    n = target // pool.shortest + 1
    u = rng.random(3 * n).tolist()
    sentences = pool.sentences
    npool = pool.size
    ntop = len(topics)
    out: list[str] = []
    i = 0
    bare = bare_start
    since_para = 0
    enough = target if keep is None else min(target, keep)
    while len(out) < enough:
        s = sentences[int(u[i] * npool)]
        toks = s.bare if bare else s.tokens
        if ntop and s.topic_at > 0 and u[i + 1] < 0.6:
            # A prompt word replaces the topic noun; a long word becomes its several token pieces.
            toks = list(toks)
            toks[s.topic_at : s.topic_at + 1] = _pieces(topics[int(u[i + 1] / 0.6 * ntop)])
        out += toks
        since_para += 1
        # A paragraph break after 3 or more sentences: the final "." becomes ".\n\n" (still one token).
        bare = since_para >= 3 and u[i + 2] < 0.3
        if bare and len(out) < target:
            out[-1] += "\n\n"
            since_para = 0
        i += 3
    return out


MAX_GENERATED = 32768
_CONTENT = _Pool(_CONTENT_SENTENCES)
_REASONING = _Pool(_REASONING_SENTENCES)


def natural_length(rng: np.random.Generator) -> int:
    """How long an answer 'wants' to be when nothing limits it: 40..~450 tokens, skewed short."""
    u = float(rng.random())
    return 40 + int(u * u * 400)


# Reasoning never takes more than this share of a max_tokens budget, so a small budget still gets an
# answer (a load generator asking for 20 tokens measures text, not an empty message).
REASONING_SHARE = 0.25
# How long thinking "wants" to be, by reasoning effort: (shortest, spread) in tokens. No effort given is
# medium, as OpenAI and vLLM default; none and minimal do not think at all.
_EFFORT_LENGTH = {"low": (10, 30), "medium": (20, 60), "high": (40, 120)}
NO_REASONING_EFFORTS = frozenset({"none", "minimal"})


def reasoning_cap(max_tokens: int | None) -> int | None:
    """The most reasoning tokens a budget of ``max_tokens`` allows (None: unbounded)."""
    return None if max_tokens is None else int(max_tokens * REASONING_SHARE)


def think(
    rng: np.random.Generator,
    topics: Sequence[str] = (),
    *,
    max_tokens: int | None = None,
    effort: str | None = None,
) -> list[str]:
    """Reasoning text (vLLM's ``reasoning_content``): 20..80 tokens of thinking out loud at medium effort.

    It takes at most a quarter of ``max_tokens`` (the rest is the answer's) and nothing at effort
    ``none``/``minimal``. The Generator draws the same whatever the cap, so a seeded answer's thinking
    is a prefix of the uncapped one.
    """
    if effort in NO_REASONING_EFFORTS:
        return []
    low, spread = _EFFORT_LENGTH.get(effort or "medium", _EFFORT_LENGTH["medium"])
    cap = reasoning_cap(max_tokens)
    tokens = _sentences(_REASONING, rng, low + int(float(rng.random()) * spread), topics, True, cap)
    return tokens if cap is None else tokens[:cap]


def generate(
    rng: np.random.Generator,
    *,
    topics: Sequence[str] = (),
    max_tokens: int | None = None,
    min_tokens: int = 0,
    ignore_eos: bool = False,
    stop: Sequence[str] | None = None,
    reasoning: bool = False,
    reasoning_effort: str | None = None,
    bare_start: bool = True,
    target: int | None = None,
) -> Generation:
    """One completion. ``max_tokens`` bounds reasoning + content together, as OpenAI's does; reasoning
    gets at most a quarter of it (``think``).

    The answer ends at the first sentence end past a natural target length (finish ``stop``) unless
    ``max_tokens`` cuts it first (finish ``length``). ``ignore_eos`` (vLLM) makes it run to max_tokens.
    """
    # A context window's worth at most: max_tokens=10**9 with ignore_eos must not exhaust memory.
    budget = min(max_tokens, MAX_GENERATED) if max_tokens is not None else MAX_GENERATED
    reasoning_tokens: list[str] = []
    if reasoning:  # a bounded share of the budget: the rest (at least one token) is the answer's
        reasoning_tokens = think(rng, topics, max_tokens=budget, effort=reasoning_effort)
        budget -= len(reasoning_tokens)
    if target is None:
        target = natural_length(rng)
    target = max(target, min_tokens - len(reasoning_tokens), 1)
    if ignore_eos and max_tokens is not None:
        target = budget
    # The answer "wants" target tokens; if the budget is smaller it is cut there (finish "length").
    cut = target >= budget
    tokens = _sentences(_CONTENT, rng, min(target, budget), topics, bare_start)
    finish = "stop"
    if cut or len(tokens) > budget:
        tokens = tokens[:budget]
        finish = "length"
    if stop:
        cut = apply_stop(tokens, stop)
        if cut is not None:
            tokens, finish = cut, "stop"
    return Generation(tokens, finish, reasoning_tokens)


def apply_stop(tokens: list[str], stop: Sequence[str]) -> list[str] | None:
    """Tokens up to (excluding) the first occurrence of any stop string, or None when none occurs."""
    text = "".join(tokens)
    first = -1
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1 and (first == -1 or i < first):
                first = i
    if first == -1:
        return None
    # Keep whole tokens before the cut, re-split only the token the cut falls in.
    out: list[str] = []
    pos = 0
    for t in tokens:
        end = pos + len(t)
        if end > first:
            if first > pos:
                out.extend(tokenize(t[: first - pos]))
            break
        out.append(t)
        pos = end
    return out
