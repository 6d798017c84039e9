"""``fakeai cassettes``: inspect, prune, scan, export and import recorded cassettes.

Every subcommand takes ``--db`` (default as ``serve``: ``FAKEAI_DB``, else ``.fakeai/fakeai.db``);
a bad input (unknown hash, missing database, corrupt file) is one line on stderr and exit 2;
``scan`` exits 1 when it finds something. ``--json`` prints machine-readable output instead of tables.
A hash is any unique prefix (at least 4 hex digits) of a cassette's key.
"""

from __future__ import annotations

from datetime import datetime

import click

from fakeai.cassettes import view
from fakeai.cassettes.cli_files import export_command, import_command, scan_command
from fakeai.cassettes.options import (
    SORTS,
    admin_for,
    db_option,
    echo_json,
    filter_options,
    filters_of,
    json_option,
    parse_when,
    resolve,
)
from fakeai.cli_support import CLIError

__all__ = ["cassettes"]

# -- the group -------------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cassettes() -> None:
    """Inspect, prune, scan, export and import recorded cassettes."""


@cassettes.command("list", short_help="One line per recorded request, fitted to the terminal.")
@db_option
@filter_options
@click.option("--sort", type=click.Choice(SORTS), default="recorded", show_default=True, help="Sort key.")
@click.option("--desc", is_flag=True, help="Sort in descending order.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most this many.")
@click.option(
    "--wide", is_flag=True,
    help="Every column (method, stream, hits, last use, full hashes of 12 digits), whatever the terminal's width.",
)
@json_option
def list_command(db_path, endpoint, model, since, status, sort, desc, limit, wide, as_json) -> None:  # noqa: ANN001, PLR0913
    """List cassettes: one line per recorded request (its episodes folded together).

    The table fits the terminal: hash, endpoint (the path after /v1, with its method unless POST),
    model (shortened to fit), statuses, episodes, size and when it was recorded. --wide adds the
    method, stream, hits and last use columns; --json gives everything to a script.
    """
    with admin_for(db_path) as admin:
        rows = admin.summaries(filters_of(endpoint, model, since, status))
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
        echo_json([row.as_dict() for row in rows])
        return
    if rows and wide:  # whole values in every column: longer than the terminal (less -S) or for a pipe
        columns = [
            "hash", "method", "path", "model", "status", "stream", "episodes", "size", "hits", "recorded_at",
            "last_used_at",
        ]
        cells = [
            [
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
            ]
            for row in rows
        ]
        click.echo(view.fitted(columns, cells, None, flexible=()))
    elif rows:
        columns = ["hash", "endpoint", "model", "status", "eps", "size", "recorded"]
        cells = [
            [
                row.key[:8],
                _endpoint(row.method, row.path),
                row.model or "-",
                ",".join(str(s) for s in row.statuses),
                str(row.episodes),
                view.human_size(row.size),
                row.recorded_at.strftime("%Y-%m-%d %H:%M"),
            ]
            for row in rows
        ]
        click.echo(view.fitted(columns, cells, view.terminal_width(), flexible=("endpoint", "model")))
    shown = f"{len(rows)} of {total}" if len(rows) != total else str(total)
    episodes = sum(r.episodes for r in rows)
    size = sum(r.size for r in rows)
    click.echo(f"{shown} cassette{'s' if total != 1 else ''}, {episodes} episodes, {view.human_size(size)}")


def _endpoint(method: str, path: str) -> str:
    """``/v1/chat/completions`` as ``/chat/completions``; a method other than POST in front (``GET /models``)."""
    short = path[3:] if path.startswith("/v1/") else path
    return short if method == "POST" else f"{method} {short}"


@cassettes.command("show", short_help="One cassette: its request and answers (streams as events).")
@db_option
@click.argument("hash_prefix", metavar="HASH")
@click.option("--episode", type=int, default=None, help="Only this episode.")
@json_option
def show_command(db_path, hash_prefix, episode, as_json) -> None:  # noqa: ANN001
    """Show one cassette: the canonical request, and each episode's response (a stream as its
    events with offsets, the text they add up to, time to first token and total time).

    HASH is the start of the cassette's key, as `list` shows it: at least 4 hex digits, and enough
    of them to match one cassette only.
    """
    from fakeai.cassettes.document import rows_to_document

    with admin_for(db_path) as admin:
        key = resolve(admin, hash_prefix)
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
        echo_json(document)
        return
    view.print_cassette(document)


@cassettes.command("delete", short_help="Delete cassettes by hash (every episode).")
@db_option
@click.argument("hashes", metavar="HASH...", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Say what would be deleted, delete nothing.")
@json_option
def delete_command(db_path, hashes, dry_run, as_json) -> None:  # noqa: ANN001
    """Delete cassettes (every episode) by hash prefix. Nothing is deleted if any hash is unknown.

    Each HASH is the start of a key, as `list` shows it: at least 4 hex digits, matching one cassette.
    """
    with admin_for(db_path) as admin:
        keys = list(dict.fromkeys(resolve(admin, h) for h in hashes))
        episodes = sum(len(admin.episodes(k)) for k in keys) if dry_run else admin.delete(keys)
    verb = "would delete" if dry_run else "deleted"
    if as_json:
        echo_json({"dry_run": dry_run, "keys": keys, "cassettes": len(keys), "episodes": episodes})
        return
    for key in keys:
        click.echo(f"{verb} {key[:12]}")
    click.echo(f"{verb} {len(keys)} cassette{'s' if len(keys) != 1 else ''} ({episodes} episodes)")


@cassettes.command("prune", short_help="Delete cassettes recorded before, or unused since, a date.")
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
    with admin_for(db_path) as admin:
        doomed = admin.prune_candidates(older_than=cutoff_old, unused_since=cutoff_unused)
        episodes = sum(s.episodes for s in doomed)
        if doomed and not dry_run:
            admin.delete([s.key for s in doomed])
    verb = "would prune" if dry_run else "pruned"
    if as_json:
        echo_json(
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


@cassettes.command("stats", short_help="Cassettes, episodes, bytes and hits per endpoint and model.")
@db_option
@json_option
def stats_command(db_path, as_json) -> None:  # noqa: ANN001
    """Counts per endpoint and model: cassettes, episodes, bytes, hits, oldest and newest."""
    with admin_for(db_path) as admin:
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
        echo_json(
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


for _command in (scan_command, export_command, import_command):
    cassettes.add_command(_command)
