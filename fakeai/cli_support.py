"""What every ``fakeai`` command shares: the one-line error type and settings from flags."""

from __future__ import annotations

import click

from fakeai.settings import Settings, SettingsError

__all__ = ["CLIError", "load_settings"]


class CLIError(click.ClickException):
    """A mistake in the words of a command: one line on stderr, exit code 2."""

    exit_code = 2


def load_settings(explicit: dict) -> Settings:
    values = {k: v for k, v in explicit.items() if v is not None and v != ()}
    try:
        return Settings.load(values)
    except SettingsError as exc:
        raise CLIError(str(exc)) from None
