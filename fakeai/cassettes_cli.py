"""``fakeai cassettes``: inspect, prune, scan, export and import recorded cassettes.

Every subcommand takes ``--db`` (default as ``serve``: ``FAKEAI_DB``, else ``cassettes/fakeai.db``);
a bad input (unknown hash, missing database, corrupt file) is one line on stderr and exit 2;
``scan`` exits 1 when it finds something. ``--json`` prints machine-readable output instead of tables.
A hash is any unique prefix (at least 4 hex digits) of a cassette's key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from fakeai import cassettes_view as view
from fakeai.cassettes_view import stream_summary
from fakeai.cli import CLIError, load_settings

__all__ = ["cassettes", "parse_when", "stream_summary"]

# Short names for --endpoint; anything else is taken as a path (with or without /v1).
ENDPOINTS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
    "images": "/v1/images",
    "files": "/v1/files",
    "responses": "/v1/responses",
    "models": "/v1/models",
    "ranking": "/v1/ranking",
    "moderations": "/v1/moderations",
    "audio": "/v1/audio",
}
SORTS = ("recorded", "used", "path", "model", "size", "hits", "status")

db_option = click.option(
    "--db", "db_path", default=None, metavar="PATH", help="SQLite path or SQLAlchemy URL [env FAKEAI_DB]."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


# -- helpers ---------------------------------------------------------------------------------------


def _admin(db_path: str | None, *, create: bool = False):  # noqa: ANN202 - CassetteAdmin, imported lazily
    from fakeai.store.cassette_admin import AdminError, CassetteAdmin

    settings = load_settings({"db": db_path})
    try:
        return CassetteAdmin(settings.db_url, create=create)
    except AdminError as exc:
        raise CLIError(str(exc)) from None


def _resolve(admin: Any, prefix: str) -> str:
    from fakeai.store.cassette_admin import AdminError

    try:
        return admin.resolve(prefix)
    except AdminError as exc:
        raise CLIError(str(exc)) from None


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str, option: str, *, now: datetime | None = None) -> datetime:
    """A point in time as naive UTC: an ISO-8601 date or datetime (``2026-11-25``,
    ``2026-11-25T10:00:00+02:00``) or a duration back from now (``30d``, ``12h``, ``90m``, ``2w``)."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CLIError(f"{option}: {text!r} is neither an ISO-8601 date (2026-11-25) nor a duration (30d, 12h)") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _endpoint(value: str | None) -> str | None:
    if not value:
        return None
    if value in ENDPOINTS:
        return ENDPOINTS[value]
    path = "/" + value.strip("/")
    return path if path.startswith("/v1/") or path == "/v1" else "/v1" + path


def _filters(endpoint: str | None, model: str | None, since: str | None, status: int | None):  # noqa: ANN202
    from fakeai.store.cassette_admin import Filters

    return Filters(
        endpoint=_endpoint(endpoint),
        model=model,
        since=parse_when(since, "--since") if since else None,
        status=status,
    )


def filter_options(func):  # noqa: ANN001, ANN201 - a click decorator
    func = click.option("--status", type=int, default=None, help="Only cassettes answered with this status.")(func)
    func = click.option("--since", default=None, metavar="DATE", help="Recorded at or after (2026-11-25, 7d).")(func)
    func = click.option("--model", default=None, help="Only this model.")(func)
    func = click.option(
        "--endpoint", default=None, help="A path (/v1/chat/completions) or short name (chat, embeddings, files...)."
    )(func)
    return func


# -- the group -------------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cassettes() -> None:
    """Inspect, prune, scan, export and import recorded cassettes."""


@cassettes.command("list")
@db_option
@filter_options
@click.option("--sort", type=click.Choice(SORTS), default="recorded", show_default=True, help="Sort key.")
@click.option("--desc", is_flag=True, help="Sort in descending order.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most this many.")
@json_option
def list_command(db_path, endpoint, model, since, status, sort, desc, limit, as_json) -> None:  # noqa: ANN001, PLR0913
    """List cassettes: one line per recorded request (its episodes folded together)."""
    with _admin(db_path) as admin:
        rows = admin.summaries(_filters(endpoint, model, since, status))
    order = {
        "recorded": lambda s: (s.recorded_at, s.key),
        "used": lambda s: (s.last_used_at or datetime.min, s.key),
        "path": lambda s: (s.path, s.recorded_at, s.key),
        "model": lambda s: (s.model or "", s.recorded_at, s.key),
        "size": lambda s: (s.size, s.key),
        "hits": lambda s: (s.hits, s.key),
        "status": lambda s: (s.statuses[-1], s.key),
    }[sort]
    rows.sort(key=order, reverse=desc)
    total = len(rows)
    if limit is not None:
        rows = rows[:limit]
    if as_json:
        _echo_json([row.as_dict() for row in rows])
        return
    table = view.table(
        "hash", "method", "path", "model", "status", "stream", "episodes", "size", "hits", "recorded_at", "last_used_at"
    )
    for row in rows:
        table.add_row(
            row.key[:12],
            row.method,
            view.cell(row.path),
            view.cell(row.model or "-"),
            ",".join(str(s) for s in row.statuses),
            "stream" if row.stream else "-",
            str(row.episodes),
            view.human_size(row.size),
            str(row.hits),
            view.when(row.recorded_at),
            view.when(row.last_used_at),
        )
    console = view.console()
    if rows:
        table.print(console)
    shown = f"{len(rows)} of {total}" if len(rows) != total else str(total)
    episodes = sum(r.episodes for r in rows)
    size = sum(r.size for r in rows)
    console.print(f"{shown} cassette{'s' if total != 1 else ''}, {episodes} episodes, {view.human_size(size)}", markup=False)


@cassettes.command("show")
@db_option
@click.argument("hash_prefix", metavar="HASH")
@click.option("--episode", type=int, default=None, help="Only this episode.")
@json_option
def show_command(db_path, hash_prefix, episode, as_json) -> None:  # noqa: ANN001
    """Show one cassette: the canonical request, and each episode's response (a stream as its
    events with offsets, the text they add up to, time to first token and total time)."""
    from fakeai.cassette_files import rows_to_document

    with _admin(db_path) as admin:
        key = _resolve(admin, hash_prefix)
        rows = admin.episodes(key)
    if episode is not None:
        rows = [r for r in rows if r["episode"] == episode]
        if not rows:
            raise CLIError(f"cassette {key[:12]} has no episode {episode}")
    document = rows_to_document(rows)
    for row, doc in zip(rows, document["episodes"], strict=True):
        doc["hits"] = row["hits"]
        doc["last_used_at"] = row["last_used_at"].isoformat() if row["last_used_at"] else None
        if "events" in doc:
            doc["summary"] = view.stream_summary(doc["events"])
    if as_json:
        _echo_json(document)
        return
    view.print_cassette(document)


@cassettes.command("delete")
@db_option
@click.argument("hashes", metavar="HASH...", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Say what would be deleted, delete nothing.")
@json_option
def delete_command(db_path, hashes, dry_run, as_json) -> None:  # noqa: ANN001
    """Delete cassettes (every episode) by hash prefix. Nothing is deleted if any hash is unknown."""
    with _admin(db_path) as admin:
        keys = list(dict.fromkeys(_resolve(admin, h) for h in hashes))
        episodes = sum(len(admin.episodes(k)) for k in keys) if dry_run else admin.delete(keys)
    verb = "would delete" if dry_run else "deleted"
    if as_json:
        _echo_json({"dry_run": dry_run, "keys": keys, "cassettes": len(keys), "episodes": episodes})
        return
    for key in keys:
        click.echo(f"{verb} {key[:12]}")
    click.echo(f"{verb} {len(keys)} cassette{'s' if len(keys) != 1 else ''} ({episodes} episodes)")


@cassettes.command("prune")
@db_option
@click.option("--older-than", default=None, metavar="AGE|DATE", help="Recorded before (30d, 12h, 2026-11-01).")
@click.option("--unused-since", default=None, metavar="DATE|AGE", help="Not replayed since (uses last_used_at).")
@click.option("--dry-run", is_flag=True, help="List what would be pruned, delete nothing.")
@json_option
def prune_command(db_path, older_than, unused_since, dry_run, as_json) -> None:  # noqa: ANN001
    """Delete old or unused cassettes (whole cassettes: every episode must qualify)."""
    if not older_than and not unused_since:
        raise CLIError("prune needs --older-than AGE and/or --unused-since DATE")
    cutoff_old = parse_when(older_than, "--older-than") if older_than else None
    cutoff_unused = parse_when(unused_since, "--unused-since") if unused_since else None
    with _admin(db_path) as admin:
        doomed = admin.prune_candidates(older_than=cutoff_old, unused_since=cutoff_unused)
        episodes = sum(s.episodes for s in doomed)
        if doomed and not dry_run:
            admin.delete([s.key for s in doomed])
    verb = "would prune" if dry_run else "pruned"
    if as_json:
        _echo_json(
            {
                "dry_run": dry_run,
                "cassettes": len(doomed),
                "episodes": episodes,
                "keys": [s.key for s in doomed],
            }
        )
        return
    if doomed:
        table = view.table("hash", "method", "path", "model", "recorded_at", "last_used_at")
        for s in doomed:
            table.add_row(
                s.key[:12], s.method, view.cell(s.path), view.cell(s.model or "-"), view.when(s.recorded_at), view.when(s.last_used_at)
            )
        table.print(view.console())
    click.echo(f"{verb} {len(doomed)} cassette{'s' if len(doomed) != 1 else ''} ({episodes} episodes)")


@cassettes.command("stats")
@db_option
@json_option
def stats_command(db_path, as_json) -> None:  # noqa: ANN001
    """Counts per endpoint and model: cassettes, episodes, bytes, hits, oldest and newest."""
    with _admin(db_path) as admin:
        groups = admin.stats()
    totals = {
        "cassettes": len({k for g in groups for k in g._keys}),
        "episodes": sum(g.episodes for g in groups),
        "bytes": sum(g.bytes for g in groups),
        "hits": sum(g.hits for g in groups),
        "oldest": min((g.oldest for g in groups), default=None),
        "newest": max((g.newest for g in groups), default=None),
    }
    if as_json:
        _echo_json(
            {
                "groups": [g.as_dict() for g in groups],
                "total": {
                    **totals,
                    "oldest": view.iso(totals["oldest"]),
                    "newest": view.iso(totals["newest"]),
                },
            }
        )
        return
    table = view.table("path", "model", "cassettes", "episodes", "bytes", "hits", "oldest", "newest")
    for g in groups:
        table.add_row(
            view.cell(g.path),
            view.cell(g.model or "-"),
            str(g.cassettes),
            str(g.episodes),
            view.human_size(g.bytes),
            str(g.hits),
            view.when(g.oldest),
            view.when(g.newest),
        )
    table.add_section()
    table.add_row(
        "total",
        "",
        str(totals["cassettes"]),
        str(totals["episodes"]),
        view.human_size(totals["bytes"]),
        str(totals["hits"]),
        view.when(totals["oldest"]),
        view.when(totals["newest"]),
    )
    table.print(view.console())


@cassettes.command("scan")
@db_option
@click.argument("paths", metavar="[PATH...]", nargs=-1)
@json_option
@click.pass_context
def scan_command(ctx: click.Context, db_path, paths, as_json) -> None:  # noqa: ANN001
    """Search every stored request and response for secrets (sk- keys, Bearer tokens, AWS keys,
    private keys, e-mail addresses); exit 1 listing what was found. With PATHs, scan exported
    cassette files (or directories of them) instead of the database. Run it before committing."""
    from fakeai.secrets_scan import scan_rows

    scanned = 0

    def counted(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        nonlocal scanned
        for row in rows:
            scanned += 1
            yield row

    if paths:
        from fakeai.cassette_files import cassette_files, read_file

        findings = []
        for path in cassette_files(paths):
            findings.extend(scan_rows(counted(iter(read_file(path))), where=lambda _row, p=path: str(p)))
    else:
        with _admin(db_path) as admin:
            findings = list(scan_rows(counted(admin.iter_rows())))
    if as_json:
        _echo_json({"scanned": scanned, "findings": [f.as_dict() for f in findings]})
    elif findings:
        table = view.table("where", "episode", "field", "kind", "match")
        for f in findings:
            table.add_row(view.cell(f.where), str(f.episode), view.cell(f.field), f.kind, view.cell(f.preview))
        table.print(view.console())
        click.echo(f"found {len(findings)} possible secret{'s' if len(findings) != 1 else ''} in {scanned} episodes")
    else:
        click.echo(f"no secrets found in {scanned} episodes")
    if findings:
        ctx.exit(1)


@cassettes.command("export")
@db_option
@click.option("--out", default="cassettes", show_default=True, metavar="DIR", help="Directory to write into.")
@filter_options
@click.option("--clean", is_flag=True, help="Remove cassette files in DIR that are no longer in the database.")
@json_option
def export_command(db_path, out, endpoint, model, since, status, clean, as_json) -> None:  # noqa: ANN001, PLR0913
    """Write one pretty-printed JSON file per cassette (<endpoint>/<hash>.json) for review in git."""
    from fakeai.cassette_files import export_directory

    if clean and any(v is not None for v in (endpoint, model, since, status)):
        raise CLIError("--clean removes every file not exported, so it cannot be combined with filters")
    with _admin(db_path) as admin:
        result = export_directory(admin, out, filters=_filters(endpoint, model, since, status), clean=clean)
    stale = [str(p) for p in result.stale or []]
    if as_json:
        _echo_json(
            {
                "out": out,
                "cassettes": result.cassettes,
                "written": result.written,
                "unchanged": result.unchanged,
                "stale": stale,
                "removed": result.removed,
            }
        )
        return
    click.echo(
        f"exported {result.cassettes} cassettes to {out} ({result.written} written, {result.unchanged} unchanged)"
    )
    if stale and not clean:
        click.echo(f"{len(stale)} files in {out} are not in the database (remove them with --clean):")
        for path in stale:
            click.echo(f"  {path}")
    elif result.removed:
        click.echo(f"removed {result.removed} stale files")


@cassettes.command("import")
@db_option
@click.argument("paths", metavar="PATH...", nargs=-1, required=True)
@json_option
def import_command(db_path, paths, as_json) -> None:  # noqa: ANN001
    """Load exported cassette files (or directories of them); importing twice changes nothing."""
    from fakeai.cassette_files import import_paths

    with _admin(db_path, create=True) as admin:
        files, counts = import_paths(admin, paths)
    if as_json:
        _echo_json(
            {"files": files, "inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged}
        )
        return
    click.echo(
        f"imported {files} files: {counts.inserted} new, {counts.updated} updated, {counts.unchanged} unchanged episodes"
    )
