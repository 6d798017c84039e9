import pytest

from fakeai.settings import Mode, OnMiss, Settings, SettingsError


def test_defaults_need_no_configuration():
    s = Settings.load(env={})
    assert s.mode is Mode.SYNTHETIC and s.port == 8000 and s.host == "127.0.0.1"
    assert s.db == ".fakeai/fakeai.db" and s.require_api_key is True
    assert "sk-fakeai-1234567890abcdef" in s.accepted_keys


def test_env_then_explicit_precedence():
    env = {"FAKEAI_PORT": "9001", "FAKEAI_MODE": "replay", "FAKEAI_API_KEYS": "a, b", "FAKEAI_REQUIRE_API_KEY": "false"}
    s = Settings.load(env=env)
    assert (s.port, s.mode, s.api_keys, s.require_api_key) == (9001, Mode.REPLAY, ("a", "b"), False)
    assert s.on_miss is OnMiss.ERROR
    s = Settings.load({"port": "9002"}, env=env)
    assert s.port == 9002


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"FAKEAI_PORT": "abc"}, "FAKEAI_PORT"),
        ({"FAKEAI_MODE": "nope"}, "one of synthetic, record, replay"),
        ({"FAKEAI_TTFT_MS": "-1"}, "--ttft-ms"),
        ({"FAKEAI_MODE": "record"}, "--upstream"),
        ({"FAKEAI_REQUIRE_API_KEY": "maybe"}, "true or false"),
    ],
)
def test_bad_values_are_one_line_errors(env, fragment):
    with pytest.raises(SettingsError) as info:
        Settings.load(env=env)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_db_url_from_path_and_url():
    assert Settings(db="/tmp/x.db").db_url == "sqlite+aiosqlite:////tmp/x.db"
    assert Settings(db="sqlite+aiosqlite:///:memory:").db_url == "sqlite+aiosqlite:///:memory:"
