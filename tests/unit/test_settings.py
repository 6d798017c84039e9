import pytest

from fakeai.settings import Mode, OnMiss, Settings, SettingsError, masked_text, masked_url


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


# -- the public default keys never open a real upstream key ----------------------------------------

PUBLIC = {"sk-fakeai-1234567890abcdef", "sk-test-abcdefghijklmnop"}  # what the README prints, written out


def _load(**values):
    return Settings.load({k: v for k, v in values.items()}, env={})


@pytest.mark.parametrize(
    "spending",
    [
        {"mode": "record", "upstream": "http://127.0.0.1:9/v1", "upstream_api_key": "sk-real"},
        {"mode": "replay", "on_miss": "record", "upstream": "http://127.0.0.1:9/v1", "upstream_api_key": "sk-real"},
    ],
)
def test_default_keys_are_off_where_a_real_key_is_spent(spending):
    s = _load(**spending, api_keys="sk-mine")
    assert s.accepted_keys == {"sk-mine"}
    assert _load(**spending, api_keys="sk-mine", default_keys=True).accepted_keys == PUBLIC | {"sk-mine"}
    assert _load(**spending, default_keys=True).accepted_keys == PUBLIC


def test_default_keys_stay_where_nothing_real_is_at_stake():
    assert _load().accepted_keys == PUBLIC
    assert _load(api_keys="sk-mine").accepted_keys == PUBLIC | {"sk-mine"}
    # recording with the client's own key (the upstream judges it) or replaying without recording
    assert _load(mode="record", upstream="http://127.0.0.1:9/v1").accepted_keys == PUBLIC
    assert _load(mode="replay", upstream_api_key="sk-real").accepted_keys == PUBLIC
    assert _load(api_keys="sk-mine", default_keys=False).accepted_keys == {"sk-mine"}
    assert Settings.load(env={"FAKEAI_DEFAULT_KEYS": "false", "FAKEAI_API_KEYS": "k"}).accepted_keys == {"k"}


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"mode": "record", "upstream": "http://127.0.0.1:9/v1", "upstream_api_key": "sk-real"}, "--api-keys"),
        (
            {"mode": "replay", "on_miss": "record", "upstream": "http://127.0.0.1:9/v1", "upstream_api_key": "x"},
            "--allow-default-keys",
        ),
        ({"default_keys": False}, "--no-default-keys"),
    ],
)
def test_a_server_accepting_no_key_refuses_to_start(values, fragment):
    with pytest.raises(SettingsError) as info:
        _load(**values)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    _load(**values, require_api_key=False)  # no key check at all is an explicit choice


# -- floats that are not numbers --------------------------------------------------------------------

FLOATS = ["ttft_ms", "itl_ms", "latency_jitter", "upstream_timeout", "replay_speed"]


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_non_finite_floats_are_refused(name, raw):
    flag = "--" + name.replace("_", "-")
    with pytest.raises(SettingsError) as info:
        Settings.load({name: raw}, env={})
    assert flag in str(info.value) and "finite" in str(info.value)
    with pytest.raises(SettingsError) as info:
        Settings.load(env={"FAKEAI_" + name.upper(): raw})
    assert "FAKEAI_" + name.upper() in str(info.value)
    with pytest.raises(SettingsError):
        Settings(**{name: float(raw)}).check()  # built in code, checked the same way


# -- credentials in URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+asyncpg://app:s3cr3t@db:5432/fakeai", "postgresql+asyncpg://app:***@db:5432/fakeai"),
        ("postgresql://app:p/a:s@s@db/x?sslmode=require", "postgresql://app:***@db/x?sslmode=require"),
        ("postgresql://:only-pw@db/x", "postgresql://:***@db/x"),
        ("postgresql://app@db/x", "postgresql://app@db/x"),
        ("sqlite+aiosqlite:////tmp/a@b:c.db", "sqlite+aiosqlite:////tmp/a@b:c.db"),
        ("cassettes/fakeai.db", "cassettes/fakeai.db"),
    ],
)
def test_masked_url_hides_passwords_only(url, shown):
    assert masked_url(url) == shown


def test_masked_text_hides_the_password_wherever_a_driver_echoes_it():
    url = "postgresql+asyncpg://app:s3cr3t@db/x"
    text = masked_text(f"could not connect to {url} (password 's3cr3t' rejected)", url)
    assert "s3cr3t" not in text and "app:***@db" in text


def test_the_start_banner_names_the_database_without_its_password():
    from fakeai.cli import start_line

    line = start_line(Settings(db="postgresql+asyncpg://app:hunter2@db.internal:5432/fakeai"))
    assert "app:***@db.internal:5432/fakeai" in line and "hunter2" not in line
