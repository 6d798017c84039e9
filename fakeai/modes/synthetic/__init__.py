"""Synthetic mode: plausible, deterministic answers generated locally with numpy."""

from fakeai.modes.synthetic.context import SyntheticContext

__all__ = ["SyntheticContext"]
