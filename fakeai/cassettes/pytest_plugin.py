"""The pytest plugin (registered through the ``pytest11`` entry point): record once, replay in CI.

A session fixture ``fakeai_server`` starts FakeAI on a free 127.0.0.1 port and yields an object
with ``.base_url`` (ending in ``/v1``), ``.client`` (a ready ``openai.OpenAI``, ``max_retries=0``),
``.anthropic`` (a ready ``anthropic.Anthropic``, its base URL ``.root_url``), ``.api_key``, ``.mode`` and
``.cassettes``. What it does depends on::

    --fakeai-mode synthetic|record|replay   default: replay, or synthetic when the cassette
                                            directory is missing or holds no cassette files
    --fakeai-cassettes DIR                  default: the ``fakeai_cassettes`` ini value, else
                                            ``cassettes`` (relative to the rootdir)
    --fakeai-upstream URL                   where record mode records from (or FAKEAI_UPSTREAM)
    --fakeai-serve-args "..."               extra ``fakeai serve`` flags, e.g. "--match-ignore user"
    --fakeai-db URL                         the server's database (default: a temporary SQLite file),
                                            e.g. a PostgreSQL URL shared with other replicas

- **record**: FakeAI records from the upstream into a fresh temporary database; when the session
  ends the cassettes are exported into DIR (one reviewable JSON file per request, see
  ``fakeai.cassettes.document``). The upstream key comes from ``FAKEAI_UPSTREAM_API_KEY``; Anthropic
  requests go to ``FAKEAI_ANTHROPIC_UPSTREAM`` (default: the upstream) with
  ``FAKEAI_ANTHROPIC_UPSTREAM_API_KEY``.
- **replay**: FakeAI loads DIR (``fakeai serve --mode replay --cassettes DIR``) and never touches
  the network. A request that was not recorded fails the test: the openai SDK raises
  ``openai.NotFoundError`` whose ``code`` is ``cassette_not_found`` (the anthropic SDK
  ``anthropic.NotFoundError`` with the request hash in its body), and this plugin adds a
  "fakeai cassette miss" section to the failure with the server's message (the request hash and
  the nearest recorded request with the fields that differ).

Nothing heavy is imported until the fixture is used, so test runs that don't use it pay nothing.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

__all__ = ["FakeAIServer", "fakeai_server"]

MODES = ("synthetic", "record", "replay")
MISS_CODE = "cassette_not_found"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fakeai", "FakeAI server for tests (the fakeai_server fixture)")
    group.addoption(
        "--fakeai-mode",
        choices=MODES,
        default=None,
        help="synthetic, record or replay (default: replay, or synthetic when the cassette directory is empty).",
    )
    group.addoption("--fakeai-cassettes", default=None, metavar="DIR", help="Exported cassette directory.")
    group.addoption("--fakeai-upstream", default=None, metavar="URL", help="Upstream base URL for record mode.")
    group.addoption(
        "--fakeai-serve-args", default=None, metavar="ARGS", help="Extra 'fakeai serve' flags (one shell string)."
    )
    group.addoption(
        "--fakeai-db",
        default=None,
        metavar="URL",
        help="Database the server uses (SQLite path or postgresql+asyncpg:// URL; default: a temporary SQLite file).",
    )
    parser.addini("fakeai_db", "Database URL for the fakeai_server fixture (default: a temporary SQLite file).", default="")
    parser.addini("fakeai_cassettes", "Cassette directory for the fakeai_server fixture.", default="cassettes")
    parser.addini("fakeai_upstream", "Upstream base URL for --fakeai-mode record.", default="")


class FakeAIServer:
    """What ``fakeai_server`` yields."""

    def __init__(self, process: Any, mode: str, cassettes: Path) -> None:
        self.process = process  # fakeai.cassettes.server_process.ServerProcess
        self.mode = mode
        self.cassettes = cassettes
        self.base_url: str = process.base_url
        self.root_url: str = process.root_url  # the anthropic SDK's base URL (it adds /v1 itself)
        self.api_key: str = process.api_key
        self._client: Any = None
        self._anthropic: Any = None

    @property
    def client(self) -> Any:
        """A ready ``openai.OpenAI`` for this server (``max_retries=0``: a miss fails at once)."""
        if self._client is None:
            self._client = self.process.client()
        return self._client

    @property
    def anthropic(self) -> Any:
        """A ready ``anthropic.Anthropic`` for this server (``max_retries=0``)."""
        if self._anthropic is None:
            import anthropic

            self._anthropic = anthropic.Anthropic(api_key=self.api_key, base_url=self.root_url, max_retries=0)
        return self._anthropic

    def __repr__(self) -> str:
        return f"<FakeAIServer {self.mode} {self.base_url} cassettes={self.cassettes}>"


def _has_cassettes(directory: Path) -> bool:
    return directory.is_dir() and any(directory.rglob("*.json"))


def _settings(config: pytest.Config) -> tuple[str, Path, str | None, list[str]]:
    option = config.getoption("--fakeai-cassettes")
    if option:
        cassettes = Path(option).resolve()
    else:
        cassettes = (config.rootpath / (config.getini("fakeai_cassettes") or "cassettes")).resolve()
    upstream = config.getoption("--fakeai-upstream") or config.getini("fakeai_upstream") or os.environ.get(
        "FAKEAI_UPSTREAM"
    )
    mode = config.getoption("--fakeai-mode") or ("replay" if _has_cassettes(cassettes) else "synthetic")
    extra = shlex.split(config.getoption("--fakeai-serve-args") or "")
    return mode, cassettes, upstream or None, extra


@pytest.fixture(scope="session")
def fakeai_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A FakeAI server for the whole session; see the module docstring for the options."""
    from fakeai.cassettes.server_process import ServerProcess

    mode, cassettes, upstream, extra = _settings(request.config)
    args = ["--mode", mode, *extra]
    env: dict[str, str] = {}
    keys: dict[str, str] = {}
    if mode == "record":
        anthropic_upstream = os.environ.get("FAKEAI_ANTHROPIC_UPSTREAM")
        if not upstream and not anthropic_upstream:
            pytest.fail("--fakeai-mode record needs --fakeai-upstream URL (or FAKEAI_UPSTREAM)", pytrace=False)
        if upstream:
            args += ["--upstream", upstream]
        for name in ("FAKEAI_UPSTREAM_API_KEY", "FAKEAI_ANTHROPIC_UPSTREAM", "FAKEAI_ANTHROPIC_UPSTREAM_API_KEY"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        if os.environ.get("FAKEAI_UPSTREAM_API_KEY") or os.environ.get("FAKEAI_ANTHROPIC_UPSTREAM_API_KEY"):
            # A real key is spent, so the server takes no public key: the session gets one of its own.
            keys["api_key"] = "sk-fakeai-session-" + secrets.token_hex(16)
            args += ["--api-keys", keys["api_key"]]
    elif mode == "replay":
        if not cassettes.is_dir():
            pytest.fail(f"--fakeai-mode replay: no cassette directory at {cassettes}", pytrace=False)
        args += ["--cassettes", str(cassettes)]
    configured = request.config.getoption("--fakeai-db") or request.config.getini("fakeai_db")
    if configured and mode == "replay":
        args.append("--keep-cassettes")  # into the configured database, not a private one
    db = configured or tmp_path_factory.mktemp("fakeai") / "fakeai.db"
    process = ServerProcess(*args, db=str(db), env=env, **keys)
    try:
        process.start()
    except RuntimeError as exc:
        pytest.fail(f"FakeAI ({mode} mode) did not start: {exc}", pytrace=False)
    server = FakeAIServer(process, mode, cassettes)
    try:
        yield server
    finally:
        for client in (server._client, server._anthropic):
            if client is not None:
                client.close()
        process.stop()
        if mode == "record":
            request.config.stash[_RECORDED] = _export(str(db), cassettes)


# What the record run exported, said in the terminal summary: pytest captures what a fixture writes
# during the session, so without -s a line written at teardown would never be seen.
_RECORDED = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    message = config.stash.get(_RECORDED, None)
    if message:
        terminalreporter.write_line(message)


def _export(db: str, cassettes: Path) -> str:
    from fakeai.cassettes.directory import export_directory
    from fakeai.settings import Settings
    from fakeai.store.cassette_admin import CassetteAdmin

    with CassetteAdmin(Settings(db=db).db_url) as admin:
        result = export_directory(admin, cassettes)
    return (
        f"fakeai: recorded {result.cassettes} cassette{'s' if result.cassettes != 1 else ''} into {cassettes} "
        f"({result.written} written, {result.unchanged} unchanged)"
    )


# -- a replay miss, told clearly -------------------------------------------------------------------


def _miss(exc: BaseException | None) -> str | None:
    """The server's message if ``exc`` (or what caused it) is a replay miss from the openai or the
    anthropic SDK (whose error body is ``{"type": "error", "error": {..., "request_hash"}}``)."""
    seen = 0
    while exc is not None and seen < 10:
        body = getattr(exc, "body", None)
        if getattr(exc, "code", None) == MISS_CODE:
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                return body["message"]
            return str(exc)
        error = body.get("error") if isinstance(body, dict) and body.get("type") == "error" else None
        if isinstance(error, dict) and "request_hash" in error and isinstance(error.get("message"), str):
            return error["message"]
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    report = yield
    if call.excinfo is not None and ("openai" in sys.modules or "anthropic" in sys.modules):
        message = _miss(call.excinfo.value)
        if message is not None:
            report.sections.append(
                (
                    "fakeai cassette miss",
                    f"{message}\nRecord it with: pytest --fakeai-mode record --fakeai-upstream URL",
                )
            )
    return report
