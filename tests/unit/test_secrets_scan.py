"""The secret patterns: they find real-looking secrets and stay quiet on FakeAI's own synthetic output."""

from __future__ import annotations

import base64
import json
import random

import numpy as np
import pytest

from fakeai.modes.synthetic.jsonschema_fake import fake_instance
from fakeai.modes.synthetic.text import generate, make_rng
from fakeai.cassettes.scan import scan_bytes, scan_rows
from fakeai.settings import DEFAULT_API_KEYS
from fakeai.store.cassettes import pack_events

PROJECT_KEY = "sk-proj-" + "Zx9Qw3Er5Ty7Ui1Op2As4Df6Gh8Jk0Lm" * 3
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f'{{"content": "my key is {PROJECT_KEY}"}}', "openai_key"),
        ("key=sk-" + "aB3" * 16, "openai_key"),
        ('{"authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc"}', "bearer_token"),
        ("creds: AKIAIOSFODNN7EXAMPLE in the config", "aws_access_key"),
        ('aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', "aws_secret_key"),
        (json.dumps({"file": PEM}), "private_key"),
        ("write to jane.doe@corp-mail.io today", "email"),
    ],
)
def test_finds_each_kind(text, kind):
    found = list(scan_bytes(text.encode()))
    assert [k for k, _ in found] == [kind]
    preview = found[0][1]
    if kind in ("openai_key", "bearer_token", "aws_access_key"):
        assert "chars)" in preview and len(preview) < 30  # masked, not repeated


@pytest.mark.parametrize(
    "text",
    [
        *DEFAULT_API_KEYS,
        f"Bearer {DEFAULT_API_KEYS[0]}",
        "contact ada.lovelace@example.com or bob@mail.example.org or root@host.test",
        "sk-learn is a library; see sk-this-is-all-lowercase-text-ok",
        "the bearer of bad news arrived",
        "AKIA is not a key by itself, nor AKIAshort",
        "-----BEGIN PUBLIC KEY-----",
        '<img src="logo@2x.png"> and left-pad@1.3.0.tgz',
    ],
)
def test_quiet_on_lookalikes(text):
    assert list(scan_bytes(text.encode())) == []


def test_quiet_on_fakeai_synthetic_output():
    texts = []
    for seed in range(150):
        texts.append("".join(generate(make_rng(seed, "scan"), max_tokens=200, topics=["password", "email"]).tokens))
    schema = {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "when": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "format": "uri"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    rnd = random.Random(7)
    texts += [json.dumps(fake_instance(schema, rnd)) for _ in range(200)]
    rng = np.random.default_rng(3)
    texts += [base64.b64encode(rng.standard_normal(1536).astype("<f4").tobytes()).decode() for _ in range(50)]
    texts += [f"chatcmpl-{rng.bytes(12).hex()} file-{rng.bytes(12).hex()} resp_{rng.bytes(24).hex()}" for _ in range(50)]
    found = [(t[:80], list(scan_bytes(t.encode()))) for t in texts]
    assert [f for f in found if f[1]] == []


def test_scan_rows_names_the_field():
    row = {
        "key": "ab" * 32,
        "episode": 2,
        "request": b'{"body":{"messages":[{"content":"hi"}]}}',
        "upstream": "http://127.0.0.1:9/v1",
        "headers": b'{"content-type":"text/event-stream"}',
        "body": None,
        "events": pack_events([(1.0, b'data: {"a":1}\n\n'), (2.0, b'data: {"c":"mail me: x.y@corp-mail.io"}\n\n')]),
    }
    (finding,) = scan_rows([row])
    assert (finding.where, finding.episode, finding.field, finding.kind) == (
        "abababababab",
        2,
        "response.events[1]",
        "email",
    )
