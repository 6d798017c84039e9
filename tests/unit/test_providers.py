"""Which provider a request speaks, Anthropic's error shape, and how the Anthropic upstream and its key
are chosen from the settings."""

from __future__ import annotations

import json

import pytest

from fakeai.modes.dispatch import Dispatcher
from fakeai.providers import anthropic_error_event, is_anthropic, render_anthropic_error
from fakeai.settings import Settings, SettingsError


def test_is_anthropic() -> None:
    assert is_anthropic("/v1/messages", {}) and is_anthropic("/v1/messages/count_tokens", {})
    assert is_anthropic("/v1/models", {"anthropic-version": "2023-06-01"})
    assert not is_anthropic("/v1/models", {"authorization": "Bearer x"})
    assert not is_anthropic("/v1/chat/completions", {})


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
     (404, "not_found_error"), (413, "request_too_large"), (429, "rate_limit_error"), (500, "api_error"),
     (529, "overloaded_error"), (418, "invalid_request_error"), (503, "api_error")],
)
def test_render_anthropic_error_maps_statuses(status: int, kind: str) -> None:
    body = json.loads(render_anthropic_error(status, "boom", request_id="req_1"))
    assert body == {"type": "error", "error": {"type": kind, "message": "boom"}, "request_id": "req_1"}


def test_explicit_type_and_stream_event() -> None:
    assert json.loads(render_anthropic_error(429, "slow down", "rate_limit_error"))["error"]["type"] == "rate_limit_error"
    event = anthropic_error_event("broke off")
    name, data = event.decode().strip().split("\n")
    assert name == "event: error" and json.loads(data[6:])["error"] == {"type": "api_error", "message": "broke off"}


def test_anthropic_upstream_and_key_fallbacks() -> None:
    shared = Settings(mode="record", upstream="http://up", upstream_api_key="sk-openai")
    assert shared.anthropic_target == "http://up" and shared.anthropic_key_upstream == "sk-openai"
    split = Settings(mode="record", upstream="http://up", upstream_api_key="sk-openai", anthropic_upstream="http://ant")
    assert split.anthropic_target == "http://ant" and split.anthropic_key_upstream is None
    own = Settings(mode="record", anthropic_upstream="http://ant", anthropic_upstream_api_key="sk-ant")
    assert own.anthropic_key_upstream == "sk-ant"
    assert Settings.load({"mode": "record", "anthropic_upstream": "https://api.anthropic.com"}, env={}).upstream is None
    with pytest.raises(SettingsError, match="--anthropic-upstream"):
        Settings.load({"anthropic_upstream": "ftp://nope"}, env={})
    with pytest.raises(SettingsError, match="needs --upstream"):
        Settings.load({"mode": "record"}, env={})


def test_key_check_stands_aside_per_provider_when_the_client_key_goes_upstream() -> None:
    # Indexed by "is this an Anthropic request": a configured key means FakeAI checks the client's.
    both = Dispatcher(Settings(mode="record", upstream="http://up", anthropic_upstream="http://ant",
                               anthropic_upstream_api_key="sk-ant"))
    assert both.upstream_checks_keys == (True, False)
    assert Dispatcher(Settings(mode="record", upstream="http://up", upstream_api_key="k")).upstream_checks_keys == (False, False)
    assert Dispatcher(Settings()).upstream_checks_keys == (False, False)
