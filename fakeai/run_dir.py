"""The run directory: state that the worker processes of one server share through files.

``fakeai serve`` makes one before uvicorn starts its workers (a fresh temporary directory, or
``--run-dir`` emptied of a previous run's files), hands it to every worker through
``FAKEAI_RUN_DIR`` and removes it when the server exits. What lives there (metrics every worker
writes and any worker reads whole, rate-limit budgets) is named by the module that writes it.

An app built in-process without the CLI (tests, ``create_app()``) gets its own, removed on shutdown.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["RunDir"]

SHM = "/dev/shm"
_DATABASE_READY = "database-ready"  # holds the URL whose schema ``fakeai serve`` brought to head
SHM_MIN_FREE = 1 << 30  # a container's default /dev/shm (64 MiB) is too small: use the temp dir then


def _memory_dir() -> str | None:
    """``/dev/shm`` when it is a roomy tmpfs, else None (the system's temp directory).

    What lives in the run directory is only ever shared between processes, never kept: in memory,
    creating a file costs microseconds, where on the development VM's disk it cost ~0.8 ms (record
    mode takes a lock file per recording; metrics and budgets are mmaps).
    """
    try:
        stat = os.statvfs(SHM)
    except OSError:
        return None
    return SHM if stat.f_bavail * stat.f_frsize >= SHM_MIN_FREE and os.access(SHM, os.W_OK) else None


class RunDir:
    """A directory and whether this process made it (and so removes it)."""

    __slots__ = ("path", "owned")

    def __init__(self, path: Path, owned: bool) -> None:
        self.path = path
        self.owned = owned

    @classmethod
    def open(cls, configured: str | None) -> RunDir:
        """The server's directory when one is configured, else a new one owned by the caller."""
        if configured:
            path = Path(configured)
            path.mkdir(parents=True, exist_ok=True)
            return cls(path, owned=False)
        return cls(Path(tempfile.mkdtemp(prefix="fakeai-run-", dir=_memory_dir())), owned=True)

    @classmethod
    def fresh(cls, configured: str | None) -> RunDir:
        """For the process that starts the workers: the directory, emptied of an earlier run's state."""
        run_dir = cls.open(configured)
        if not run_dir.owned:
            for child in run_dir.path.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        return run_dir

    def mark_database_ready(self, url: str) -> None:
        """Said by ``fakeai serve`` once it has brought ``url``'s schema to head, before any worker starts."""
        (self.path / _DATABASE_READY).write_text(url)

    def database_ready(self, url: str) -> bool:
        """Whether the process that started this server's workers already prepared ``url``: a worker then
        needs nothing from the database to start (see ``Runtime.start``)."""
        try:
            return (self.path / _DATABASE_READY).read_text() == url
        except OSError:
            return False

    def sub(self, name: str) -> Path:
        """A subdirectory for one kind of shared state, created on first use."""
        path = self.path / name
        path.mkdir(exist_ok=True)
        return path

    def close(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)

    def __fspath__(self) -> str:
        return os.fspath(self.path)
