"""``ServerProcess`` (the tests' and the pytest plugin's way to start a server) when its port is taken."""

from __future__ import annotations

import httpx

from fakeai.cassettes import server_process
from fakeai.cassettes.server_process import ServerProcess


def test_a_port_taken_by_another_server_is_not_mistaken_for_ours(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    # free_port() closes the port it found: a parallel test worker can start its own server there first.
    # That server's /health answers, so the check used to pass, and the test talked to the wrong server.
    with ServerProcess(db=str(tmp_path / "other.db")) as other:
        ports = iter([other.port, server_process.free_port()])
        monkeypatch.setattr(server_process, "free_port", lambda: next(ports))
        with ServerProcess(db=str(tmp_path / "mine.db")) as mine:
            assert mine.port != other.port  # it noticed, and started again on another port
            assert mine.proc is not None and mine.proc.poll() is None
            assert mine._listening() and other._listening()  # each owns the socket on its own port
            assert httpx.get(mine.root_url + "/health", timeout=5).status_code == 200
        assert other.proc is not None and other.proc.poll() is None  # the other one was left alone
