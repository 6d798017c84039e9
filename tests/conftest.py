"""Shared fixtures: a Litestar test client on a temp SQLite file, and real uvicorn servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import asyncpg  # noqa: F401 - loaded once, before any pytester test: pytester drops modules first
import psycopg  # noqa: F401
import pytest  # imported during a test, and a C extension imported twice crashes the process
from litestar.testing import TestClient

from fakeai.app import create_app
from fakeai.settings import DEFAULT_API_KEYS, Settings
from fakeai.cassettes.server_process import ServerProcess
from tests.databases import BACKENDS, database_url

API_KEY = DEFAULT_API_KEYS[0]
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def make_client(tmp_path) -> Iterator[Callable[..., TestClient]]:
    """Build a Litestar TestClient for settings overrides: ``make_client(strict_models=True)``."""
    clients: list[TestClient] = []

    def factory(**overrides) -> TestClient:
        overrides.setdefault("db", str(tmp_path / f"api{len(clients)}.db"))
        client = TestClient(create_app(Settings(**overrides)), raise_server_exceptions=False)
        client.__enter__()
        client.headers.update(AUTH)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_client) -> TestClient:
    """A test client on a fresh database, synthetic mode, authorised by default."""
    return make_client()


@pytest.fixture
def start_server(tmp_path) -> Iterator[Callable[..., ServerProcess]]:
    """Start real ``fakeai serve`` processes: ``start_server("--ttft-ms", "50", db=...)``."""
    servers: list[ServerProcess] = []

    def factory(*args: str, db: str | None = None, env: dict[str, str] | None = None) -> ServerProcess:
        server = ServerProcess(*args, db=db or str(tmp_path / f"server{len(servers)}.db"), env=env)
        servers.append(server)
        return server.start()

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[ServerProcess]:
    """One synthetic-mode server shared by the end-to-end tests that need no special flags."""
    db = tmp_path_factory.mktemp("live") / "fakeai.db"
    with ServerProcess(db=str(db)) as server:
        yield server


@pytest.fixture(scope="session")
def client(live_server):  # noqa: ANN201 - openai.OpenAI
    return live_server.client()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database URL: once an SQLite file, once a PostgreSQL database of its own."""
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(request, tmp_path_factory) -> Iterator[str]:
    """A database for a whole test module, once SQLite and once PostgreSQL (the module runs twice)."""
    with database_url(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url
