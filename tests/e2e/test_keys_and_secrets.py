"""Keys a stranger cannot use and secrets that never reach a terminal: real `fakeai serve`
processes, a real upstream (another FakeAI), the openai SDK as the client."""

from __future__ import annotations

import subprocess
import sys
import openai
import pytest

from fakeai.cassettes.server_process import free_port

PUBLIC_KEY = "sk-fakeai-1234567890abcdef"  # printed in the README: anyone has it
MINE = "sk-only-the-owner-knows-0042"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fakeai", *args], capture_output=True, text=True, timeout=60)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fakeai: error:"), result.stderr
    return lines[0]


def test_a_recorder_spending_a_real_key_is_closed_to_the_public_keys(start_server, live_server, tmp_path) -> None:  # noqa: ANN001
    # The upstream (a synthetic FakeAI) takes its own default key: that is the real key here.
    args = ("--mode", "record", "--upstream", live_server.base_url, "--upstream-api-key", PUBLIC_KEY)
    server = start_server(*args, "--api-keys", MINE, db=str(tmp_path / "closed.db"))
    stranger = openai.OpenAI(api_key=PUBLIC_KEY, base_url=server.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        stranger.models.list()
    assert info.value.code == "invalid_api_key"
    owner = openai.OpenAI(api_key=MINE, base_url=server.base_url, max_retries=0)
    assert owner.models.with_raw_response.list().headers["x-fakeai-source"] == "upstream"

    opened = start_server(*args, "--allow-default-keys", db=str(tmp_path / "opened.db"))
    public = openai.OpenAI(api_key=PUBLIC_KEY, base_url=opened.base_url, max_retries=0)
    assert public.models.with_raw_response.list().headers["x-fakeai-source"] == "upstream"


def test_no_default_keys_closes_them_in_synthetic_mode_too(start_server, tmp_path) -> None:  # noqa: ANN001
    server = start_server("--no-default-keys", "--api-keys", MINE, db=str(tmp_path / "nodefault.db"))
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key=PUBLIC_KEY, base_url=server.base_url, max_retries=0).models.list()
    assert openai.OpenAI(api_key=MINE, base_url=server.base_url, max_retries=0).models.list().data


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--mode", "record", "--upstream", "http://127.0.0.1:9/v1", "--upstream-api-key", "sk-real"), "--api-keys"),
        (
            ("--mode", "replay", "--on-miss", "record", "--upstream", "http://127.0.0.1:9/v1", "--upstream-api-key", "k"),
            "--allow-default-keys",
        ),
        (("--no-default-keys",), "--api-keys"),
    ],
)
def test_a_server_that_would_accept_no_key_refuses_to_start(args, fragment, tmp_path) -> None:  # noqa: ANN001
    line = one_error_line(run("serve", "--port", str(free_port()), "--db", str(tmp_path / "x.db"), *args))
    assert fragment in line
    assert "sk-real" not in line


@pytest.mark.parametrize("value", ["nan", "inf", "-nan"])
@pytest.mark.parametrize("flag", ["--ttft-ms", "--itl-ms", "--latency-jitter", "--upstream-timeout", "--replay-speed"])
def test_non_finite_float_flags_exit_2(flag, value) -> None:  # noqa: ANN001
    line = one_error_line(run("serve", flag, value))
    assert flag in line and "finite" in line


# -- database passwords ---------------------------------------------------------------------------

SECRET = "hunter2-db-password"


@pytest.mark.parametrize("command", [("serve",), ("db", "upgrade"), ("db", "current"), ("cassettes", "list")])
def test_a_bad_db_url_error_masks_the_password(command) -> None:  # noqa: ANN001
    # nothing listens on port 9: the driver fails, and the error names the URL
    line = one_error_line(run(*command, "--db", f"postgresql+asyncpg://app:{SECRET}@127.0.0.1:9/fakeai"))
    assert SECRET not in line
    assert "app:***@127.0.0.1:9" in line or "app:***@127.0.0.1" in line
