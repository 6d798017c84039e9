"""Identifiers for answers and requests: unique, not secret.

``os.urandom`` is a system call; under load it cost as much as a few percent of a small chat request's
CPU (two calls per request, measured with py-spy on this machine). These ids only need to be unique,
so they come from a per-process generator seeded from the OS once, and again in a forked child (which
would otherwise repeat its parent's sequence). Anything that grants access (image URLs, keys) keeps
using ``os.urandom``/``secrets``.
"""

from __future__ import annotations

import os
import random

__all__ = ["random_bytes", "random_hex"]

_rng = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _rng.seed(os.urandom(32)))


def random_hex(nbytes: int) -> str:
    """``2 * nbytes`` lower-case hex digits."""
    return _rng.randbytes(nbytes).hex()


def random_bytes(nbytes: int) -> bytes:
    return _rng.randbytes(nbytes)
