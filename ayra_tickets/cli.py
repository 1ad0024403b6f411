"""The ``ayra-tickets`` command: the Ticket API from a shell.

Every command parses its options, calls the Python API (``engine.tickets``,
``engine.agents``, ``engine.keys``) with only the options that were given, and prints
the answer as the API's JSON: indented on a terminal, compact in a pipe. A call the
API refuses prints the API's error body on stderr and exits with status 1; a
malformed command line is click's usage error (status 2).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click

from .domain.errors import TicketError
from .domain.lifecycle import Status
from .domain.ticket import Ticket
from .engine import Engine
from .storage.locking import DatabaseBusy
from .storage.schema import NewerSchema

DB_ENVVAR = "AYRA_TICKETS_DB"
SUBJECT_WIDTH = 48


# -- printing -------------------------------------------------------------------------


def _is_terminal(stream: TextIO) -> bool:
    return stream.isatty()


def _dumps(value: Any, *, pretty: bool) -> str:
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def emit(value: Any) -> None:
    """Print a JSON value on stdout: indented for a person, compact for a program."""
    click.echo(_dumps(value, pretty=_is_terminal(sys.stdout)))


def _fail(error: TicketError) -> None:
    pretty = _is_terminal(sys.stderr)
    click.echo(_dumps(error.to_dict(), pretty=pretty), err=True)


def sla_state(ticket: Ticket) -> str:
    """One word for a ticket's SLA: breached, met (resolved or closed in time), paused
    (waiting on someone), or ok (running, on time)."""
    sla = ticket.sla
    if sla is None:
        return "-"
    if sla.breached:
        return "breached"
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        return "met"
    return "paused" if sla.paused else "ok"


def _truncate(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def format_table(
    tickets: Sequence[Ticket], *, ids: bool = False, subject_width: int = SUBJECT_WIDTH
) -> str:
    """An aligned table: number, status, priority, assignee, SLA state and subject, and
    with ``ids`` the ticket ids that ``get``, ``update`` and ``close`` take."""
    header = ("NUMBER", "ID", "STATUS", "PRIORITY", "ASSIGNEE", "SLA", "SUBJECT")
    rows = [
        (
            ticket.number_label,
            ticket.id,
            str(ticket.status),
            ticket.priority_label,
            ticket.assigned_name or ticket.assigned_to or "-",
            sla_state(ticket),
            _truncate(ticket.subject, subject_width),
        )
        for ticket in tickets
    ]
    lines = [row if ids else row[:1] + row[2:] for row in [header, *rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)), line[-1]])
        for line in lines
    )


# -- parsing --------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_or_text(raw: str) -> Any:
    """``42`` -> 42, ``true`` -> True, ``{"a": 1}`` -> a dict; anything else stays text."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        return raw


def _pairs(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, Any] | None:
    """``KEY=VALUE`` options as one object; ``None`` when none were given."""
    if not values:
        return None
    pairs: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", ctx, param)
        pairs[key] = _json_or_text(raw)
    return pairs


def _start_time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"expected an ISO 8601 date-time such as 2025-01-15T08:00:00Z, got {value!r}",
            ctx,
            param,
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _joined(values: tuple[str, ...]) -> str | None:
    """A repeatable list filter as the API's comma-separated form."""
    return ",".join(values) if values else None


def _given(**options: Any) -> dict[str, Any]:
    """Only the options the user gave: the API must not see the others at all."""
    return {name: value for name, value in options.items() if value is not None and value != ()}


# -- the engine -----------------------------------------------------------------------


@contextlib.contextmanager
def _answering(path: str) -> Iterator[None]:
    """A refused call prints the API's error body and exits 1; an unusable file is a
    plain command-line error."""
    try:
        yield
    except TicketError as err:
        _fail(err)
        raise click.exceptions.Exit(1) from err
    except (sqlite3.Error, OSError, NewerSchema, DatabaseBusy) as err:
        raise click.ClickException(f"cannot use the database {path!r}: {err}") from err


@contextlib.contextmanager
def _engine(path: str) -> Iterator[Engine]:
    """The engine on ``path``, with the API's errors answered as :func:`_answering` says."""
    with _answering(path), Engine.open(path) as engine:
        yield engine


# -- commands -------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar=DB_ENVVAR,
    default="tickets.db",
    show_default=True,
    show_envvar=True,
    type=click.Path(dir_okay=False),
    help="The SQLite file (created if missing).",
)
@click.version_option(package_name="ayra-tickets")
@click.pass_context
def main(ctx: click.Context, db: str) -> None:
    """The Ayra Ticket API on a local SQLite file.

    Answers are the API's JSON; errors are the API's error bodies on stderr (exit 1).
    """
    ctx.obj = db


_CUSTOM_FIELD_HELP = (
    "KEY=VALUE, repeatable; VALUE is read as JSON when it parses (42, true, null, "
    '"42"), else as text.'
)


@main.command()
@click.option("--subject", help="At most 200 characters.")
@click.option("--description", help="Markdown, at most 10,000 characters.")
@click.option("--priority", type=int, help="1 Critical, 2 High, 3 Normal (default), 4 Low.")
@click.option("--status", help="new (default), open or in_progress.")
@click.option("--category", help="e.g. technical, billing, account, product, bug.")
@click.option("--contact-id")
@click.option("--conversation-id")
@click.option("--assigned-to", help="An agent id.")
@click.option("--due-date", help="An ISO 8601 date-time; without an offset it is UTC.")
@click.option("--tag", "tags", multiple=True, help="Repeatable.")
@click.option(
    "--custom-field",
    "custom_fields",
    multiple=True,
    callback=_pairs,
    metavar="KEY=VALUE",
    help=_CUSTOM_FIELD_HELP,
)
@click.option(
    "--metadata", multiple=True, callback=_pairs, metavar="KEY=VALUE", help="Like --custom-field."
)
@click.pass_obj
def create(db: str, /, **options: Any) -> None:
    """Create a ticket and print it."""
    options["tags"] = list(options["tags"]) or None
    with _engine(db) as engine:
        emit(engine.tickets.create(**_given(**options)).to_dict())


@main.command()
@click.argument("ticket_id")
@click.pass_obj
def get(db: str, ticket_id: str) -> None:
    """Print one ticket."""
    with _engine(db) as engine:
        emit(engine.tickets.get(ticket_id).to_dict())


_CLEARABLE: dict[str, Any] = {"category": None, "assigned-to": None, "due-date": None, "tags": []}


@main.command()
@click.argument("ticket_id")
@click.option("--subject")
@click.option("--description")
@click.option("--priority", type=int, help="1 Critical, 2 High, 3 Normal, 4 Low.")
@click.option("--status", help="Move to this status (reopened reopens a closed ticket).")
@click.option("--category")
@click.option("--assigned-to")
@click.option("--due-date")
@click.option("--tag", "tags", multiple=True, help="Repeatable; replaces the whole list.")
@click.option(
    "--custom-field",
    "custom_fields",
    multiple=True,
    callback=_pairs,
    metavar="KEY=VALUE",
    help=_CUSTOM_FIELD_HELP + " Merged; KEY=null removes KEY.",
)
@click.option("--internal-note", help="A private note the customer never sees.")
@click.option(
    "--clear",
    "cleared",
    multiple=True,
    type=click.Choice(sorted(_CLEARABLE)),
    help="Empty this field (repeatable).",
)
@click.pass_obj
def update(db: str, /, ticket_id: str, cleared: tuple[str, ...], **options: Any) -> None:
    """Change only the given fields of a ticket and print it."""
    options["tags"] = list(options["tags"]) or None
    fields = _given(**options)
    for name in cleared:
        field = name.replace("-", "_")
        if field in fields:
            raise click.UsageError(f"--{name} and --clear {name} contradict each other")
        fields[field] = _CLEARABLE[name]
    with _engine(db) as engine:
        emit(engine.tickets.update(ticket_id, **fields).to_dict())


_FILTERS = (
    click.option("--status", multiple=True, help="Repeatable, or comma-separated."),
    click.option("--priority", multiple=True, help="1-4; repeatable, or comma-separated."),
    click.option("--category"),
    click.option("--assigned-to"),
    click.option("--contact-id"),
    click.option("--created-after", help="Inclusive."),
    click.option("--created-before", help="Exclusive."),
    click.option("--due-after", help="Inclusive."),
    click.option("--due-before", help="Exclusive."),
    click.option(
        "--sla-breach/--no-sla-breach",
        default=None,
        help="Only tickets that missed (or did not miss) their SLA.",
    ),
    click.option(
        "--tags",
        "--tag",
        "tags",
        multiple=True,
        help="The ticket must carry every one; repeatable, or comma-separated.",
    ),
    click.option("--search", help="Words in the subject or description."),
)


def _filter_options(command: Callable[..., None]) -> Callable[..., None]:
    """The list filters, as options of ``command``."""
    for option in reversed(_FILTERS):
        command = option(command)
    return command


def _filters(options: dict[str, Any]) -> dict[str, Any]:
    """The given filters, in the API's form."""
    for name in ("status", "priority", "tags"):
        options[name] = _joined(options[name])
    return _given(**options)


@main.command(name="list")
@_filter_options
@click.option("--sort-by", help="created_at (default), updated_at, due_date or priority.")
@click.option("--sort-order", help="desc (default) or asc.")
@click.option("--page", type=int)
@click.option("--per-page", type=int, help="1-100, default 25.")
@click.option("--table", is_flag=True, help="Print a table instead of JSON.")
@click.pass_obj
def list_(db: str, /, table: bool, **options: Any) -> None:
    """List tickets: filtered, sorted, one page at a time."""
    with _engine(db) as engine:
        page = engine.tickets.list(**_filters(options))
    if not table:
        emit(page.to_dict())
        return
    meta = page.meta
    if page.data:
        click.echo(format_table(page.data, ids=True, subject_width=40))
    shown = f"page {meta['page']} of {meta['total_pages']}" if meta["total_pages"] else "no pages"
    total = meta["total"]
    click.echo(f"{total} ticket{'s' if total != 1 else ''}, {shown}")


@main.command(name="import")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--chunk-size", type=click.IntRange(1, 100_000), default=10_000, show_default=True)
@click.pass_obj
def import_(db: str, /, source: BinaryIO, chunk_size: int) -> None:
    """Create tickets from JSON Lines (SOURCE, or - for stdin): one create body a line.

    Bad lines are reported, with the API's error and their line number, and skipped; the
    others are created. Prints the report as JSON; exits 1 if any line was refused.
    """
    size = _file_size(source)
    bar = (
        click.progressbar(length=size, label="Importing", file=sys.stderr)
        if size and _is_terminal(sys.stderr)
        else None
    )

    def rows() -> Iterator[Any]:
        for line in source:
            if bar is not None:
                bar.update(len(line))
            try:
                yield json.loads(line, parse_constant=_reject_constant)
            except (ValueError, UnicodeDecodeError):
                yield line  # not an object: reported as invalid_json

    with _engine(db) as engine, bar or contextlib.nullcontext():
        report = engine.tickets.import_many(rows(), chunk_size=chunk_size).to_dict()
    for rejection in report["rejected"]:
        rejection["line"] = rejection["index"] + 1
    emit(report)
    if report["rejected"]:
        raise click.exceptions.Exit(1)


def _file_size(stream: BinaryIO) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size if stream.seekable() else None
    except (OSError, ValueError):
        return None


@main.command()
@_filter_options
@click.option("--output", "-o", type=click.File("w"), default="-", help="A file (default: stdout).")
@click.pass_obj
def export(db: str, /, output: TextIO, **options: Any) -> None:
    """Write every matching ticket as JSON Lines, in number order, in flat memory."""
    filters = _filters(options)
    with _engine(db) as engine:
        tickets = engine.tickets.export(**filters)
        if _is_terminal(sys.stderr) and not _is_terminal(output):
            total = engine.tickets.list(**filters, per_page=1).meta["total"]
            with click.progressbar(
                tickets, length=total, label="Exporting", file=sys.stderr
            ) as bar:
                _write_lines(bar, output)
        else:
            _write_lines(tickets, output)


def _write_lines(tickets: Iterable[dict[str, Any]], output: TextIO) -> None:
    for ticket in tickets:
        output.write(json.dumps(ticket, ensure_ascii=False, separators=(",", ":")) + "\n")


@main.command()
@click.argument("ticket_id")
@click.option("--resolution-note", help="What was done; the customer sees it.")
@click.option("--customer-satisfaction", type=int, help="1-10.")
@click.option("--resolution-time", type=int, help="Minutes actually spent.")
@click.option("--root-cause", help="e.g. system_error, user_error, billing_error.")
@click.pass_obj
def close(db: str, /, ticket_id: str, **options: Any) -> None:
    """Close a ticket, marking it resolved, and print it."""
    with _engine(db) as engine:
        emit(engine.tickets.close(ticket_id, **_given(**options)).to_dict())


@main.command()
@click.argument("ticket_id")
@click.pass_obj
def events(db: str, ticket_id: str) -> None:
    """Print a ticket's history, oldest first."""
    with _engine(db) as engine:
        emit({"data": [event.to_dict() for event in engine.tickets.events(ticket_id)]})


@main.group()
def agents() -> None:
    """The agent directory that gives tickets their assigned_name."""


@agents.command(name="add")
@click.argument("agent_id")
@click.argument("name")
@click.pass_obj
def agents_add(db: str, agent_id: str, name: str) -> None:
    """Add an agent (or rename one)."""
    with _engine(db) as engine:
        engine.agents.add(agent_id, name)
        emit({"id": agent_id, "name": engine.agents.list()[agent_id]})


@agents.command(name="list")
@click.pass_obj
def agents_list(db: str) -> None:
    """Print the agent directory."""
    with _engine(db) as engine:
        directory = engine.agents.list()
    emit({"data": [{"id": agent_id, "name": name} for agent_id, name in directory.items()]})


@main.group()
def keys() -> None:
    """API keys for the HTTP-shaped API (engine.request)."""


@keys.command(name="create")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="tickets:read or tickets:write; repeatable. Default: both.",
)
@click.option("--name", help="A label to recognise the key by.")
@click.pass_obj
def keys_create(db: str, /, scopes: tuple[str, ...], name: str | None) -> None:
    """Create a key and print it. The secret is shown only this once."""
    with _engine(db) as engine:
        secret = engine.keys.create(**_given(scopes=scopes, name=name))
        key = engine.keys.authenticate(secret)
    assert key is not None
    emit(
        {
            "id": key.id,
            "key": secret,
            "name": key.name,
            "prefix": key.prefix,
            "scopes": list(key.scopes),
            "created_at": key.created_at,
        }
    )


def _key_record(key: Any) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


@keys.command(name="list")
@click.pass_obj
def keys_list(db: str) -> None:
    """Print the keys: id, name, prefix, scopes, dates; never a secret. The prefix of a
    made key is sk_test_ and 4 of its characters; of a chosen secret, the key's id."""
    with _engine(db) as engine:
        found = engine.keys.list()
    emit({"data": [_key_record(key) for key in found]})


@keys.command(name="revoke")
@click.argument("key_id")
@click.pass_obj
def keys_revoke(db: str, key_id: str) -> None:
    """Revoke a key by its id (key_...) or its prefix; it stops working at once."""
    with _engine(db) as engine:
        if not engine.keys.revoke(key_id):
            raise click.ClickException(f"no live key has the id or prefix {key_id!r}")
        revoked = [key for key in engine.keys.list() if key_id in (key.id, key.prefix)]
    emit(_key_record(revoked[-1]))


@main.command()
@click.option("--seed", type=int, default=None, help="Vary the day's events.")
@click.option(
    "--start",
    callback=_start_time,
    help="When the day starts (ISO 8601). Default: 08:00 UTC yesterday, or an hour "
    "after the database's latest activity if that is later.",
)
@click.pass_obj
def demo(db: str, seed: int | None, start: datetime | None) -> None:
    """Simulate a day of support on the database and report on it.

    Running it again adds another day's batch after the first.
    """
    from . import demo as simulation  # the simulation is only loaded when asked for

    with _answering(db):
        report = simulation.run(db, **_given(seed=seed, start=start))
    click.echo(report.headline())
    click.echo()
    click.echo(format_table(report.tickets))
    click.echo()
    click.echo(report.summary())
    click.echo()
    click.echo(f"Next: ayra-tickets --db {shlex.quote(db)} list --table --sla-breach")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=int, default=8787, show_default=True, help="0 picks a free port.")
@click.option(
    "--control",
    is_flag=True,
    help="Serve the control plane under /_local/ (reset, keys, clock, seed); the clock "
    "then stands still until moved through it.",
)
@click.option(
    "--start",
    callback=_start_time,
    help="With --control: where the clock starts (ISO 8601). Default: now.",
)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True)
@click.pass_obj
def serve(
    db: str, host: str, port: int, control: bool, start: datetime | None, threads: int
) -> None:
    """Serve the API over HTTP (as at https://api.ayra.ai) until Ctrl-C.

    One log line per request on stderr. Keys come from `ayra-tickets keys create`, or
    from POST /_local/keys with --control, which needs an explicit --db and a loopback
    --host.
    """
    import logging

    from .domain.clock import Clock, ManualClock, SystemClock
    from .server import LocalServer

    if start is not None and not control:
        raise click.UsageError("--start sets the manual clock of --control")
    if control:
        from .local import is_loopback

        if not is_loopback(host):
            raise click.UsageError("--control serves this machine only: use a loopback --host")
        parent = click.get_current_context().parent
        source = parent.get_parameter_source("db") if parent else None
        if source is click.core.ParameterSource.DEFAULT:
            raise click.UsageError(
                "--control can empty the database: name it with --db"
                " (':memory:' for one that lives as long as the server)"
            )
    clock: Clock = ManualClock(start or datetime.now(UTC)) if control else SystemClock()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("waitress").setLevel(logging.WARNING)
    with _answering(db), Engine.open(db, clock=clock) as engine:
        try:
            server = LocalServer(engine, host=host, port=port, control=control, threads=threads)
        except OSError as error:
            raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
        plane = ", control plane at /_local/" if control else ""
        click.echo(f"ayra-tickets: serving {db} on {server.url}{plane} (Ctrl-C stops)", err=True)
        server.run()
        click.echo("ayra-tickets: stopped", err=True)


@main.command()
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Write the page here.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False), help="Write CSV tables here.")
@click.option("--start", callback=_start_time, help="The window's start (default: 30 days ago).")
@click.option("--end", callback=_start_time, help="The window's end (default: now).")
@click.option("--interval", type=click.Choice(["day", "week"]), default="day", show_default=True)
@click.option("--assigned-to", default=None)
@click.option("--category", default=None)
@click.option("--priority", default=None, help="One or several, comma-separated.")
@click.pass_obj
def report(
    db: str, /, html_path: str | None, csv_dir: str | None, start: datetime | None,
    end: datetime | None, interval: str, **filters: Any,
) -> None:  # fmt: skip
    """Write the support report: an HTML page of charts (--html) and/or CSV tables (--csv)."""
    from datetime import timedelta

    from . import report as reporting

    if not html_path and not csv_dir:
        raise click.UsageError("say where: --html FILE and/or --csv DIR")
    with _engine(db) as engine:
        last = end or engine.clock.now()
        first = start or last - timedelta(days=30)
        options = {"interval": interval, **_given(**filters)}
        if html_path:
            Path(html_path).write_text(
                reporting.render_html(engine, first, last, **options), "utf-8"
            )
            click.echo(f"wrote {html_path}", err=True)
        if csv_dir:
            for path in reporting.write_csv(engine, csv_dir, first, last, **options):
                click.echo(f"wrote {path}", err=True)
