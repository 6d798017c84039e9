"""What the ``fakeai cassettes`` commands share: options, the database handle, hashes and dates."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from fakeai.cli_support import DB_HELP, CLIError, load_settings

__all__ = [
    "ENDPOINTS",
    "SORTS",
    "admin_for",
    "db_option",
    "echo_json",
    "endpoint_path",
    "filter_options",
    "filters_of",
    "json_option",
    "parse_when",
    "resolve",
]

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

db_option = click.option("--db", "db_path", default=None, metavar="PATH", help=DB_HELP)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


# -- helpers ---------------------------------------------------------------------------------------


def admin_for(db_path: str | None, *, create: bool = False):  # noqa: ANN202 - CassetteAdmin, imported lazily
    from fakeai.store.cassette_admin import AdminError, CassetteAdmin

    settings = load_settings({"db": db_path})
    try:
        return CassetteAdmin(settings.db_url, create=create)
    except AdminError as exc:
        raise CLIError(str(exc)) from None


def resolve(admin: Any, prefix: str) -> str:
    from fakeai.store.cassette_admin import AdminError

    try:
        return admin.resolve(prefix)
    except AdminError as exc:
        raise CLIError(str(exc)) from None


def echo_json(value: Any) -> None:
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


def endpoint_path(value: str | None) -> str | None:
    if not value:
        return None
    if value in ENDPOINTS:
        return ENDPOINTS[value]
    path = "/" + value.strip("/")
    return path if path.startswith("/v1/") or path == "/v1" else "/v1" + path


def filters_of(endpoint: str | None, model: str | None, since: str | None, status: int | None):  # noqa: ANN202
    from fakeai.store.cassette_admin import Filters

    return Filters(
        endpoint=endpoint_path(endpoint),
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
