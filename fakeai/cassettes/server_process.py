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


class _PortTaken(Exception):
    """Another process listened on the chosen port before this server could."""


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
        self._chosen_port = port is None  # ours to change if another process takes it first
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
        self._log_name = os.path.join(log_dir, "fakeai-server" if "://" in db else os.path.basename(db))
        self.log_path = f"{self._log_name}.{self.port}.log"

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
        for attempt in range(3):
            try:
                return self._start()
            except _PortTaken:
                if not self._chosen_port or attempt == 2:
                    raise RuntimeError(f"fakeai could not listen on port {self.port}:\n{self.log()}") from None
                self.port = free_port()
                self.log_path = f"{self._log_name}.{self.port}.log"
        raise AssertionError("unreachable")

    def _start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "fakeai", "serve", "--port", str(self.port), "--db", self.db, *self.args]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()
                log = self.log()
                if "cannot listen on" in log or "address already in use" in log.lower():
                    raise _PortTaken
                raise RuntimeError(f"fakeai exited with {self.proc.returncode}:\n{log}")
            try:
                if httpx.get(self.root_url + "/health", timeout=1).status_code == 200 and self._listening():
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"fakeai did not become ready in {self.startup_timeout}s:\n{self.log()}")

    def _listening(self) -> bool:
        """Whether the socket listening on our port is this server's. ``free_port`` closes the port it
        found, so another process (a parallel test worker starting its own server) can take it first:
        its ``/health`` answers, ours never binds, and the caller would talk to the wrong server. Checked
        through /proc (the listening socket's inode among our process's descriptors); True where there
        is no /proc."""
        inodes = set()
        try:
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                with open(table) as fh:
                    for line in fh.readlines()[1:]:
                        fields = line.split()
                        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == self.port:  # LISTEN
                            inodes.add(f"socket:[{fields[9]}]")
        except OSError:
            return True
        assert self.proc is not None
        try:
            fds = os.listdir(f"/proc/{self.proc.pid}/fd")
        except OSError:
            return True
        for fd in fds:
            try:
                if os.readlink(f"/proc/{self.proc.pid}/fd/{fd}") in inodes:
                    return True
            except OSError:
                continue
        return False

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
