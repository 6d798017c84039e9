"""POST /v1/completions and POST /v1/text/generation through Litestar's test client."""

from __future__ import annotations

import json

import pytest

from fakeai.modes.synthetic.tokenizer import count_tokens

URL = "/v1/completions"
MODEL = "gpt-3.5-turbo-instruct"


def post(api, **body):
    body.setdefault("model", MODEL)
    body.setdefault("prompt", "Once upon a time")
    return api.post(URL, json=body)


def events(response) -> list:
    blocks = [b for b in response.text.split("\n\n") if b]
    assert blocks[-1] == "data: [DONE]" and all(b.startswith("data: ") for b in blocks)
    return [json.loads(b[6:]) for b in blocks[:-1]]


def test_shape_and_default_max_tokens(api):
    r = post(api)
    assert r.status_code == 200
    body = r.json()
    assert body["id"].startswith("cmpl-") and body["object"] == "text_completion" and body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["logprobs"] is None
    assert choice["finish_reason"] == "length"  # OpenAI's default max_tokens is 16
    assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 16, "total_tokens": 20}
    assert count_tokens(choice["text"]) == 16
    assert choice["text"].startswith(" ")  # continues the prompt


def test_natural_stop_without_limit(api):
    body = post(api, max_tokens=None).json()
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == count_tokens(body["choices"][0]["text"])


@pytest.mark.parametrize(
    "prompt,groups,prompt_tokens",
    [
        ("Hello there", 1, 2),
        (["First prompt", "Second prompt here"], 2, 5),
        ([1, 2, 3, 4], 1, 4),
        ([[1, 2], [3, 4, 5]], 2, 5),
    ],
)
def test_prompt_forms(api, prompt, groups, prompt_tokens):
    body = post(api, prompt=prompt, n=2, max_tokens=3).json()
    assert len(body["choices"]) == groups * 2
    assert [c["index"] for c in body["choices"]] == list(range(groups * 2))
    assert body["usage"]["prompt_tokens"] == prompt_tokens
    assert body["usage"]["completion_tokens"] == groups * 2 * 3


def test_bad_prompt(api):
    for prompt in ([], [1, "a"], [{"x": 1}], 5):
        r = post(api, prompt=prompt)
        assert r.status_code == 400 and r.json()["error"]["param"] == "prompt", prompt


def test_echo_and_suffix(api):
    body = post(api, echo=True, max_tokens=5, suffix=" The end.").json()
    text = body["choices"][0]["text"]
    assert text.startswith("Once upon a time") and count_tokens(text[len("Once upon a time"):]) == 5
    assert body["usage"]["prompt_tokens"] == 4 + count_tokens(" The end.")


def test_logprobs_legacy_shape(api):
    body = post(api, logprobs=3, max_tokens=6).json()
    choice = body["choices"][0]
    lp = choice["logprobs"]
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == len(lp["text_offset"]) == 6
    assert "".join(lp["tokens"]) == choice["text"]
    assert lp["text_offset"][0] == 0 and all(len(t) == 3 for t in lp["top_logprobs"])
    for token, top in zip(lp["tokens"], lp["top_logprobs"]):
        assert token in top


def test_echo_logprobs_include_prompt(api):
    lp = post(api, echo=True, logprobs=1, max_tokens=2).json()["choices"][0]["logprobs"]
    assert lp["tokens"][:4] == ["Once", " upon", " a", " time"] and lp["token_logprobs"][0] is None
    assert lp["text_offset"][:5] == [0, 4, 9, 11, 16]


def test_best_of(api):
    body = post(api, n=1, best_of=3, max_tokens=4).json()
    assert len(body["choices"]) == 1 and body["usage"]["completion_tokens"] == 12  # every candidate billed
    r = post(api, n=3, best_of=2)
    assert r.status_code == 400 and r.json()["error"]["param"] == "best_of"
    r = post(api, n=1, best_of=2, stream=True)
    assert r.status_code == 400 and r.json()["error"]["param"] == "best_of"


def test_stop_and_seed(api):
    a = post(api, seed=3, max_tokens=40).json()["choices"][0]["text"]
    assert a == post(api, seed=3, max_tokens=40).json()["choices"][0]["text"]
    word = a.split()[2]
    cut = post(api, seed=3, max_tokens=40, stop=word).json()["choices"][0]
    assert cut["finish_reason"] == "stop" and cut["text"] == a[: a.index(word)]


def test_stream(api):
    r = post(api, stream=True, max_tokens=8, stream_options={"include_usage": True}, seed=2, logprobs=1)
    chunks = events(r)
    assert all(c["object"] == "text_completion" for c in chunks)
    pieces = chunks[:-2]
    text = "".join(c["choices"][0]["text"] for c in pieces)
    assert len(pieces) == 8 and all(c["choices"][0]["logprobs"]["tokens"] for c in pieces)
    assert chunks[-2]["choices"][0]["finish_reason"] == "length" and chunks[-2]["choices"][0]["text"] == ""
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 8
    assert text == post(api, max_tokens=8, seed=2).json()["choices"][0]["text"]


def test_stream_echo(api):
    chunks = events(post(api, stream=True, echo=True, max_tokens=2))
    assert chunks[0]["choices"][0]["text"] == "Once upon a time"


def test_validation(api):
    r = api.post(URL, json={"prompt": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"
    r = post(api, logprobs=9)
    assert r.status_code == 400 and r.json()["error"]["param"] == "logprobs"


# --- Azure text generation -------------------------------------------------------------------------------
def test_text_generation(api):
    r = api.post("/v1/text/generation", json={"input": "Explain quantum computing", "model": "openai/gpt-oss-120b",
                                              "max_output_tokens": 25})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "created", "output", "model", "usage"}
    assert body["id"].startswith("txtgen-") and body["model"] == "openai/gpt-oss-120b"
    assert body["usage"]["completion_tokens"] == count_tokens(body["output"]) <= 25
    assert body["usage"]["prompt_tokens"] == count_tokens("Explain quantum computing")


def test_text_generation_seed_and_errors(api):
    req = {"input": "Tell me about AI", "model": "m", "seed": 4}
    assert api.post("/v1/text/generation", json=req).json()["output"] == \
        api.post("/v1/text/generation", json=req).json()["output"]
    r = api.post("/v1/text/generation", json={"model": "m"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
