"""The ``fakeai`` command line: ``serve``, ``db`` and (see ``fakeai.cassettes.cli``) ``cassettes``.

Errors a person makes (a bad flag value, an unknown hash) are one line on stderr and exit 2;
nothing here prints a traceback for them.
"""

from __future__ import annotations

import functools
import gc
import os
import signal
import socket
import sys

import click
import msgspec

from fakeai import __version__
from fakeai.cassettes.cli import cassettes
from fakeai.cli_support import DB_HELP, CLIError, load_settings, option_help
from fakeai.run_dir import RunDir
from fakeai.settings import OPTIONS, Mode, Settings, masked_text, masked_url

__all__ = ["main", "cli"]


def _serve_options(func):  # noqa: ANN001, ANN202 - a click decorator
    # Every option comes from settings.OPTIONS; values stay raw strings here so Settings.load
    # is the only parser (and gives the same message for a flag and its FAKEAI_* variable).
    for option in reversed(OPTIONS):
        help_text = option_help(option)
        if option.kind == "bool":
            on, off = option.flags
            decls = [f"{on}/{off}"]
            func = click.option(*decls, option.name, default=None, help=help_text)(func)
        elif option.kind == "list":
            func = click.option(option.flag, option.name, multiple=True, help=help_text + " Repeatable.")(func)
        else:
            metavar = option.metavar or ("|".join(option.choices) if option.choices else option.kind.upper())
            func = click.option(option.flag, option.name, default=None, metavar=metavar, help=help_text)(func)
    return func


def export_settings(settings: Settings) -> None:
    """Put the resolved settings in FAKEAI_* variables, which is how uvicorn's workers get them."""
    for option in OPTIONS:
        value = getattr(settings, option.name)
        if value is None:
            os.environ.pop(option.env, None)
            continue
        if isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, Mode) or hasattr(value, "value"):
            value = value.value
        os.environ[option.env] = str(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="fakeai")
def cli() -> None:
    """FakeAI: an OpenAI-compatible server that answers synthetically, records and replays."""


@cli.command()
@_serve_options
def serve(**explicit: object) -> None:
    """Run the server (synthetic mode, embedded SQLite and no configuration by default)."""
    # No garbage collection while the server starts: the imports and the app allocate ~160k long-lived
    # objects and almost no garbage, and the collections they trigger only rescan them. The worker's
    # app_from_env freezes that heap and enables the collector again (this process, with --workers > 1).
    gc.disable()
    settings = load_settings(explicit)
    _check_can_listen(settings.host, settings.port)  # before anything is written anywhere
    run_dir = RunDir.fresh(settings.run_dir)  # shared by the workers, removed when the server exits
    try:
        settings = _prepare_database(msgspec.structs.replace(settings, run_dir=str(run_dir.path)), run_dir)
    except BaseException:
        run_dir.close()
        raise
    # The metrics files every worker writes and any worker merges (prometheus_client's multiprocess
    # mode); made before the workers start. Workers open it from the run directory themselves.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(run_dir.sub("metrics"))
    export_settings(settings)
    click.echo(start_line(settings), err=True)
    # uvicorn re-raises the SIGTERM/SIGINT that stopped it once it has shut down, which would end
    # this process before a `finally` could run: remove the directory on the way out either way.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, functools.partial(_exit_on_signal, run_dir))
    try:
        _run_uvicorn(settings)
    finally:
        run_dir.close()


def _check_can_listen(host: str, port: int) -> None:
    """Fail with one line when the address is taken, as uvicorn would only after the start's work.

    A probe (bound with SO_REUSEADDR as uvicorn binds, then closed): another process could still take
    the port in between, but the common mistake, a second server on the same port, stops here.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _prepare_database(settings: Settings, run_dir: RunDir) -> Settings:
    """Migrate the database the server will use; with --cassettes, load the directory into it.

    ``--cassettes DIR`` alone serves exactly DIR: the files go into a new database in the run
    directory, which replaces --db for this run and goes with it. ``--keep-cassettes`` imports them
    into --db instead (kept there, served together with whatever --db already holds).
    """
    from fakeai.store import upgrade_database

    if settings.cassettes and not settings.keep_cassettes:
        settings = msgspec.structs.replace(settings, db=str(run_dir.path / "cassettes.db"))
    try:
        upgrade_database(settings.db_url)
        if settings.mode is Mode.REPLAY:
            _rewind_episodes(settings.db_url)  # once for all the workers, before they start
        run_dir.mark_database_ready(settings.db_url)
    except Exception as exc:  # noqa: BLE001 - a person gets the reason, not a traceback
        raise CLIError(f"cannot prepare database {masked_url(settings.db)!r}: {_masked(exc, settings.db)}") from None
    if settings.cassettes:
        from fakeai.cassettes.directory import load_directory

        load_directory(settings, settings.cassettes)
    return settings


def _rewind_episodes(url: str) -> None:
    import asyncio

    from fakeai.store import Database
    from fakeai.store import cassettes as store

    async def rewind() -> None:
        db = Database(url, pool_size=1, max_overflow=0)
        try:
            await store.reset_cursors(db)
        finally:
            store.close(db)
            await db.dispose()

    asyncio.run(rewind())


def start_line(settings: Settings) -> str:
    """The banner ``serve`` prints: where it listens and which database (never its password)."""
    return (
        f"FakeAI {__version__} ({settings.mode.value} mode) on http://{settings.host}:{settings.port}/v1 "
        f"db={masked_url(settings.db)} workers={settings.workers}"
    )


def _masked(exc: Exception, url: str) -> str:
    """A driver's error as one line, with the URL's password masked if the driver echoed it."""
    return masked_text((str(exc) or type(exc).__name__).splitlines()[0], url)


def _exit_on_signal(run_dir: RunDir, signum: int, _frame: object) -> None:
    run_dir.close()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


def _run_uvicorn(settings: Settings) -> None:
    import inspect

    import uvicorn

    # uvicorn's supervisor kills a worker that does not answer its health ping within 5 s. FakeAI runs
    # beside load generators on small machines, where a starved but working worker can miss that; being
    # killed drops every connection it holds. A hung worker is still replaced, after 30 s.
    patience = ({"timeout_worker_healthcheck": 30}
                if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters else {})
    if settings.workers > 1:
        gc.enable()  # this process only supervises; each worker's app_from_env does its own
    uvicorn.run(
        "fakeai.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        loop="auto",
        http="fakeai.api.protocol:ArrivalProtocol",  # httptools, stamping each request's arrival
        ws="none",  # no WebSocket routes: skip importing a WebSocket library at start
        timeout_keep_alive=30,
        **patience,
    )


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--db", "db_path", default=None, metavar="PATH", help=DB_HELP)
@click.option("--revision", default="head", show_default=True)
def db_upgrade(db_path: str | None, revision: str) -> None:
    """Create or upgrade the database schema (Alembic)."""
    from fakeai.store import upgrade_database
    from fakeai.store.engine import current_revision

    settings = load_settings({"db": db_path})
    try:
        upgrade_database(settings.db_url, revision)
        click.echo(f"{masked_url(settings.db)}: at revision {current_revision(settings.db_url)}")
    except Exception as exc:  # noqa: BLE001
        raise CLIError(f"cannot upgrade {masked_url(settings.db)!r}: {_masked(exc, settings.db)}") from None


@db.command("current")
@click.option("--db", "db_path", default=None, metavar="PATH", help=DB_HELP)
def db_current(db_path: str | None) -> None:
    """Print the schema revision of the database."""
    from fakeai.store.engine import current_revision

    settings = load_settings({"db": db_path})
    try:
        click.echo(current_revision(settings.db_url) or "empty (never migrated)")
    except Exception as exc:  # noqa: BLE001
        raise CLIError(f"cannot read {masked_url(settings.db)!r}: {_masked(exc, settings.db)}") from None


cli.add_command(cassettes)


def main(argv: list[str] | None = None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="fakeai", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("fakeai: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        # One line, whatever went wrong with the words of the command.
        message = exc.format_message().replace("\n", " ")
        click.echo(f"fakeai: error: {message}", err=True)
        sys.exit(exc.exit_code if exc.exit_code else 2)
    sys.exit(rv if isinstance(rv, int) else 0)
