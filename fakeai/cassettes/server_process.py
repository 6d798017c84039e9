"""Start a real FakeAI server process on a free 127.0.0.1 port, for tests and the pytest plugin."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import httpx

from fakeai.settings import DEFAULT_API_KEYS

__all__ = ["ServerProcess", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``fakeai serve`` in a subprocess; ``with ServerProcess(...) as server:`` waits until it is ready."""

    def __init__(
        self,
        *args: str,
        db: str,
        port: int | None = None,
        env: dict[str, str] | None = None,
        api_key: str = DEFAULT_API_KEYS[0],
        startup_timeout: float = 30.0,
        cwd: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.db = db
        self.args: Sequence[str] = args
        self.api_key = api_key
        self.startup_timeout = startup_timeout
        self.cwd = cwd  # where relative paths in ``args`` are read from (default: this process's)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEAI_")}
        self.env.update(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        # Beside an SQLite file; for a database URL, in the temporary directory.
        log_dir = tempfile.gettempdir() if "://" in db else os.path.dirname(os.path.abspath(db))
        name = "fakeai-server" if "://" in db else os.path.basename(db)
        self.log_path = os.path.join(log_dir, f"{name}.{self.port}.log")

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def client(self, **kwargs: Any):  # noqa: ANN201 - openai.OpenAI, imported lazily
        import openai

        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 60)
        return openai.OpenAI(api_key=self.api_key, base_url=self.base_url, **kwargs)

    def async_client(self, **kwargs: Any):  # noqa: ANN201
        import openai

        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 60)
        return openai.AsyncOpenAI(api_key=self.api_key, base_url=self.base_url, **kwargs)

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "fakeai", "serve", "--port", str(self.port), "--db", self.db, *self.args]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fakeai exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.root_url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"fakeai did not become ready in {self.startup_timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                return fh.read()[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
