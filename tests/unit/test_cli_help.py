"""``--help`` reads well at 80 columns (issue 12, part 7): defaults as a person writes them, no
description cut short, and the options that confuse newcomers explained."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from fakeai.cli import cli
from fakeai.settings import DEFAULT_DB

SUBCOMMANDS = ("list", "show", "delete", "prune", "stats", "scan", "export", "import")


def help_text(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=80, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def flat(text: str) -> str:
    """Help text with click's line wrapping undone, for phrases that may be wrapped."""
    return re.sub(r"\s+", " ", text)


def test_serve_help_shows_defaults_as_values_not_python():
    text = help_text("serve")
    assert "default ()" not in text and "default None" not in text and "default '" not in text
    assert "None" not in text and "()" not in text
    body = flat(text)
    assert f"default: {DEFAULT_DB}" in body and "default: 127.0.0.1" in body and "default: 8000" in body
    assert "default: true" in body and "default: false" in body  # booleans as flags take them
    assert all(len(line) <= 80 for line in text.splitlines())


def test_serve_help_explains_the_confusing_options():
    body = flat(help_text("serve"))
    upstream = body[body.index("--upstream URL"):body.index("--upstream-api-key")]
    assert "/v1" in upstream and "replaces the request's own /v1" in upstream and "http://host:port" in upstream
    on_miss = body[body.index("--on-miss"):body.index("--cassettes")]
    assert "record" in on_miss and "--upstream" in on_miss
    ignore = body[body.index("--match-ignore"):body.index("--redact-header")]
    assert "dotted paths" in ignore and "a number indexes an array" in ignore and "*" in ignore
    cassettes = body[body.index("--cassettes DIR"):body.index("--keep-cassettes")]
    assert "Serve exactly this directory" in cassettes and "temporary database" in cassettes


def test_cassettes_help_lists_every_command_uncut():
    text = help_text("cassettes")
    lines = text[text.index("Commands:"):].splitlines()[1:]
    assert sorted(line.split()[0] for line in lines if line.strip()) == sorted(SUBCOMMANDS)
    for line in lines:
        assert not line.rstrip().endswith("..."), line  # click's mark of a description cut short
        assert len(line) <= 80


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_shows_the_db_default(command):
    assert f"default: {DEFAULT_DB}" in flat(help_text("cassettes", command))


def test_db_commands_show_the_db_default():
    for command in ("upgrade", "current"):
        assert f"default: {DEFAULT_DB}" in flat(help_text("db", command))


@pytest.mark.parametrize("command", ["show", "delete"])
def test_hash_arguments_say_four_digits_at_least(command):
    assert "at least 4 hex digits" in flat(help_text("cassettes", command))


def test_list_help_offers_wide():
    assert "--wide" in help_text("cassettes", "list")
