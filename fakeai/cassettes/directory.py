"""Directories of cassette files: export from the database, import into it, load for ``serve``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from fakeai.cassettes.document import (
    SHORT,
    CassetteFileError,
    document_to_rows,
    dumps,
    file_name,
    read_file,
    rows_to_document,
)
from fakeai.store.cassette_admin import AdminError, CassetteAdmin, Filters, UpsertCounts
from fakeai.store.cassettes import unpack_events

__all__ = ["ExportResult", "cassette_files", "export_directory", "import_paths", "load_directory"]


def cassette_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The ``*.json`` files named, and those under the directories named, in a stable order."""
    for item in paths:
        path = Path(item)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise CassetteFileError(f"no such file or directory: {path}")


# -- export / import -------------------------------------------------------------------------------


@dataclass(slots=True)
class ExportResult:
    cassettes: int = 0
    written: int = 0  # files created or changed
    unchanged: int = 0
    stale: list[Path] | None = None  # cassette files in the directory no longer in the database
    removed: int = 0


def export_directory(
    admin: CassetteAdmin, out: str | os.PathLike[str], *, filters: Filters = Filters(), clean: bool = False
) -> ExportResult:
    """Write one file per cassette under ``out`` (only files whose content changed are touched).
    Files there for cassettes no longer in the database are reported as stale, removed with ``clean``."""
    root = Path(out)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CassetteFileError(f"cannot create {root}: {exc}") from None
    result = ExportResult(stale=[])
    kept: set[str] = set()  # names relative to root
    for rows in _grouped(admin.iter_rows(filters)):
        document = rows_to_document(rows)
        text = dumps(document)
        _verify(rows, text)
        name = file_name(rows[0]["path"], rows[0]["key"])
        target = root / name
        kept.add(name)
        result.cassettes += 1
        try:
            if target.is_file() and target.read_text(encoding="utf-8") == text:
                result.unchanged += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".json.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            raise CassetteFileError(f"cannot write {target}: {exc}") from None
        result.written += 1
    for existing in sorted(root.rglob("*.json")):
        if existing.relative_to(root).as_posix() in kept or not _looks_like_cassette(existing):
            continue
        result.stale.append(existing)
        if clean:
            existing.unlink()
            result.removed += 1
    return result


def _looks_like_cassette(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as fh:
            return '"fakeai_cassette"' in fh.read(200)
    except (OSError, UnicodeDecodeError):
        return False


def _grouped(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    group: list[dict[str, Any]] = []
    for row in rows:
        if group and row["key"] != group[0]["key"]:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


_EXACT = ("request", "headers", "body", "status", "stream", "episode", "recorded_at")


def _verify(rows: list[dict[str, Any]], text: str) -> None:
    """Read the text back as an import would and insist on the same bytes (a bug here would
    otherwise surface much later, as a replay that differs from the recording)."""
    again = document_to_rows(json.loads(text))
    for old, new in zip(rows, again, strict=True):
        same = all(_bytes(old[name]) == _bytes(new[name]) for name in _EXACT)
        if old["events"] is not None or new["events"] is not None:
            same = same and unpack_events(bytes(old["events"])) == unpack_events(new["events"])
        if not same:
            raise CassetteFileError(f"cassette {old['key'][:SHORT]}: export would not reproduce the recorded bytes")


def _bytes(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def import_paths(admin: CassetteAdmin, paths: Iterable[str | os.PathLike[str]]) -> tuple[int, UpsertCounts]:
    """Load cassette files (or directories of them) into the database in one transaction;
    every file is read and checked before anything is written. Returns (files, counts)."""
    rows: list[dict[str, Any]] = []
    files = 0
    seen: dict[tuple[str, int], Path] = {}
    for path in cassette_files(paths):
        for row in read_file(path):
            where = (row["key"], row["episode"])
            if where in seen and seen[where] != path:
                raise CassetteFileError(f"{path}: cassette {row['key'][:SHORT]} episode {row['episode']} also in {seen[where]}")
            seen[where] = path
            rows.append(row)
        files += 1
    return files, admin.upsert(rows)


def load_directory(settings: Any, path: str | os.PathLike[str]) -> UpsertCounts:
    """``fakeai serve --cassettes DIR``: load an exported directory into ``settings.db`` before
    serving (a temporary database unless --keep-cassettes). A missing directory or a corrupt file
    stops the start with a one-line error (exit 2)."""
    root = Path(path)
    if not root.is_dir():
        raise CassetteFileError(f"--cassettes {path}: not a directory")
    try:
        with CassetteAdmin(settings.db_url, create=True) as admin:
            files, counts = import_paths(admin, [root])
    except AdminError as exc:
        raise CassetteFileError(str(exc)) from None
    into = settings.db if getattr(settings, "keep_cassettes", False) else "a temporary database"
    click.echo(
        f"cassettes: {files} files from {root} into {into} ({counts.inserted} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged episodes)",
        err=True,
    )
    return counts
