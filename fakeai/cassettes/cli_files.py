"""``fakeai cassettes scan | export | import``: the commands that work with cassette files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from fakeai.cassettes import view
from fakeai.cassettes.options import (
    admin_for,
    db_option,
    echo_json,
    filter_options,
    filters_of,
    json_option,
)
from fakeai.cli_support import CLIError

__all__ = ["export_command", "import_command", "scan_command"]


@click.command("scan", short_help="Look for secrets (API keys, tokens) before committing.")
@db_option
@click.argument("paths", metavar="[PATH...]", nargs=-1)
@json_option
@click.pass_context
def scan_command(ctx: click.Context, db_path, paths, as_json) -> None:  # noqa: ANN001
    """Search every stored request and response for secrets (sk- keys, Bearer tokens, AWS keys,
    private keys, e-mail addresses); exit 1 listing what was found. With PATHs, scan exported
    cassette files (or directories of them) instead of the database. Run it before committing."""
    from fakeai.cassettes.scan import scan_rows

    scanned = 0

    def counted(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        nonlocal scanned
        for row in rows:
            scanned += 1
            yield row

    if paths:
        from fakeai.cassettes.directory import cassette_files
        from fakeai.cassettes.document import read_file

        findings = []
        for path in cassette_files(paths):
            findings.extend(scan_rows(counted(iter(read_file(path))), where=lambda _row, p=path: str(p)))
    else:
        with admin_for(db_path) as admin:
            findings = list(scan_rows(counted(admin.iter_rows())))
    if as_json:
        echo_json({"scanned": scanned, "findings": [f.as_dict() for f in findings]})
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


@click.command("export", short_help="Write one reviewable JSON file per cassette, for git.")
@db_option
@click.option("--out", default="cassettes", show_default=True, metavar="DIR", help="Directory to write into.")
@filter_options
@click.option("--clean", is_flag=True, help="Remove cassette files in DIR that are no longer in the database.")
@json_option
def export_command(db_path, out, endpoint, model, since, status, clean, as_json) -> None:  # noqa: ANN001, PLR0913
    """Write one pretty-printed JSON file per cassette (<endpoint>/<hash>.json) for review in git."""
    from fakeai.cassettes.directory import export_directory

    if clean and any(v is not None for v in (endpoint, model, since, status)):
        raise CLIError("--clean removes every file not exported, so it cannot be combined with filters")
    with admin_for(db_path) as admin:
        result = export_directory(admin, out, filters=filters_of(endpoint, model, since, status), clean=clean)
    stale = [str(p) for p in result.stale or []]
    if as_json:
        echo_json(
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


@click.command("import", short_help="Load exported cassette files or directories into --db.")
@db_option
@click.argument("paths", metavar="PATH...", nargs=-1, required=True)
@json_option
def import_command(db_path, paths, as_json) -> None:  # noqa: ANN001
    """Load exported cassette files (or directories of them); importing twice changes nothing."""
    from fakeai.cassettes.directory import import_paths

    with admin_for(db_path, create=True) as admin:
        files, counts = import_paths(admin, paths)
    if as_json:
        echo_json(
            {"files": files, "inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged}
        )
        return
    click.echo(
        f"imported {files} files: {counts.inserted} new, {counts.updated} updated, {counts.unchanged} unchanged episodes"
    )
