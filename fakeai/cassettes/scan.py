"""Look for secrets in stored cassettes before they are committed: ``fakeai cassettes scan``.

The recorder already drops credential headers, but a secret can still travel inside a body (a
prompt that pastes a config file, a tool call echoing an environment, a user's e-mail address).
The patterns are kept tight on purpose: FakeAI's own synthetic text, ids and base64 payloads must
not look like keys, or people learn to ignore the scan.

- ``openai_key``: ``sk-`` keys (also ``sk-proj-``, ``sk-svcacct-``, ``sk-ant-``…) of 20+ characters
  mixing upper case, lower case and digits, as random keys do (FakeAI's documented dummy keys are
  lower case only and are ignored anyway);
- ``bearer_token``: ``Bearer <token>`` with a 20+ character token containing a digit;
- ``aws_access_key`` (``AKIA…``/``ASIA…``, 20 characters) and ``aws_secret_key`` (40 characters after
  an ``aws_secret_access_key`` label);
- ``private_key``: a PEM ``-----BEGIN … PRIVATE KEY-----`` block;
- ``email``: an address, except at reserved example domains (``example.com``, ``*.test``, …), which
  is what synthetic data and documentation use, and except file names such as ``icon@2x.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fakeai.settings import DEFAULT_API_KEYS
from fakeai.store.cassettes import unpack_events

__all__ = ["Finding", "PATTERNS", "scan_bytes", "scan_rows"]

PATTERNS: dict[str, re.Pattern[bytes]] = {
    "openai_key": re.compile(rb"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}"),
    "bearer_token": re.compile(rb"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{20,}=*)"),
    "aws_access_key": re.compile(rb"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    "aws_secret_key": re.compile(
        rb"(?i)aws_?secret_?(?:access_?)?key[\"'\\]*\s*[:=]\s*[\"'\\]*([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
    ),
    "private_key": re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "email": re.compile(rb"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24})\b"),
}

_DUMMY_KEYS = frozenset(k.encode() for k in DEFAULT_API_KEYS)
_RESERVED_DOMAINS = (b"example.com", b"example.net", b"example.org")
_RESERVED_TLDS = (b".test", b".example", b".invalid", b".localhost")
# "icon@2x.png", "pkg@1.2.3.tgz": file names, not addresses.
_FILE_SUFFIXES = frozenset(
    b"png jpg jpeg gif svg webp ico bmp js mjs ts tsx jsx css scss json yaml yml py md txt html tgz zip lock".split()
)


@dataclass(frozen=True, slots=True)
class Finding:
    where: str  # a cassette's short hash, or a file path
    key: str
    episode: int
    field: str  # request, response.headers, response.body, response.events[3], upstream
    kind: str
    preview: str  # the match, masked

    def as_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "key": self.key,
            "episode": self.episode,
            "field": self.field,
            "kind": self.kind,
            "preview": self.preview,
        }


def _mixed(secret: bytes) -> bool:
    tail = secret[3:]
    return (
        any(48 <= b <= 57 for b in tail) and any(65 <= b <= 90 for b in tail) and any(97 <= b <= 122 for b in tail)
    )


def _reserved(domain: bytes) -> bool:
    domain = domain.lower()
    if domain.rsplit(b".", 1)[-1] in _FILE_SUFFIXES:
        return True
    return domain.endswith(_RESERVED_TLDS) or any(
        domain == d or domain.endswith(b"." + d) for d in _RESERVED_DOMAINS
    )


def scan_bytes(data: bytes) -> Iterator[tuple[str, str]]:
    """``(kind, masked match)`` for each secret-looking thing in ``data`` (each distinct once)."""
    seen: set[tuple[str, bytes]] = set()
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(data):
            whole = match.group(0)
            secret = match.group(1) if kind in ("bearer_token", "aws_secret_key") else whole
            if secret in _DUMMY_KEYS:
                continue
            if kind == "openai_key" and not _mixed(secret):
                continue
            if kind == "bearer_token" and not any(48 <= b <= 57 for b in secret):
                continue
            if kind == "email" and _reserved(match.group(1)):
                continue
            if (kind, secret) in seen:
                continue
            seen.add((kind, secret))
            yield kind, _mask(kind, secret)


def _mask(kind: str, secret: bytes) -> str:
    text = secret.decode("utf-8", "replace")
    if kind == "private_key":
        return text
    if kind == "email":
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{text[:6]}...{text[-2:]} ({len(text)} chars)"


def scan_rows(rows: Iterable[dict[str, Any]], where: Any = None) -> Iterator[Finding]:
    """Scan table rows (or rows read from files) field by field. ``where(row)`` names the place;
    by default the cassette's short hash."""
    for row in rows:
        place = where(row) if where is not None else row["key"][:12]
        for field, data in _fields(row):
            for kind, preview in scan_bytes(data):
                yield Finding(place, row["key"], row["episode"], field, kind, preview)


def _fields(row: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    yield "request", bytes(row["request"])
    if row.get("upstream"):
        yield "upstream", row["upstream"].encode("utf-8", "replace")
    yield "response.headers", bytes(row["headers"])
    if row.get("body") is not None:
        yield "response.body", bytes(row["body"])
    if row.get("events") is not None:
        for index, (_, frame) in enumerate(unpack_events(bytes(row["events"]))):
            yield f"response.events[{index}]", frame
