"""What every ``fakeai`` command shares: the one-line error type and settings from flags."""

from __future__ import annotations

import click

from fakeai.settings import DEFAULT_DB, Option, Settings, SettingsError

__all__ = ["CLIError", "DB_HELP", "default_text", "load_settings", "option_help"]

DB_HELP = f"SQLite path or SQLAlchemy URL [env FAKEAI_DB; default: {DEFAULT_DB}]."


def default_text(value: object) -> str | None:
    """A default as a person writes it on the command line (true, 8000, a path); None when there is none."""
    if value is None or value == ():
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def option_help(option: Option) -> str:
    """An option's help with its variable and default, never a Python value (``()``, ``None``)."""
    default = default_text(option.default)
    tail = f"env {option.env}" + (f"; default: {default}" if default is not None else "")
    return f"{option.help} [{tail}]"


class CLIError(click.ClickException):
    """A mistake in the words of a command: one line on stderr, exit code 2."""

    exit_code = 2


def load_settings(explicit: dict) -> Settings:
    values = {k: v for k, v in explicit.items() if v is not None and v != ()}
    try:
        return Settings.load(values)
    except SettingsError as exc:
        raise CLIError(str(exc)) from None
