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
import shutil
import sqlite3
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import attrs
import click

from .domain.calendar import BusinessCalendar
from .domain.clock import ManualClock
from .domain.errors import ParameterInvalid, TicketError
from .domain.escalation import policy_from_dict, policy_to_dict
from .domain.lifecycle import Status
from .domain.routing import RoutingRule
from .domain.sync import STATUSES as SYNC_STATUSES
from .domain.sync import SyncUnavailable
from .domain.ticket import Ticket
from .domain.times import format_time, in_range
from .domain.validation import OBJECT_MAX_DEPTH
from .domain.webhooks import STATUSES as DELIVERY_STATUSES
from .engine import Engine, is_server_address, redacted
from .extras import MissingExtra
from .lines import JsonLines
from .service import ImportStopped
from .storage.errors import NewerSchema, NotATicketDatabase, StorageUnavailable
from .wire import strict_json

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
    """``text`` on one line, its spaces collapsed, cut to ``width`` with an ellipsis."""
    return _cut(" ".join(text.split()), width)


def _cut(line: str, width: int) -> str:
    if len(line) <= width:
        return line
    return line[: width - 1] + "…" if width > 0 else ""


SHORT_STATUS = {"waiting_on_customer": "wait:customer", "waiting_on_third_party": "wait:3rd_party"}
"""The two long statuses, as a table short of room shows them."""
GAP = "  "


@attrs.frozen
class _Layout:
    """One way to lay a table out, tried from the roomiest to the tightest."""

    ids: bool
    short_status: bool
    assignee: int
    """The most characters an assignee's name keeps."""
    subject: int
    """The fewest characters a subject may be cut to in this layout."""


_LAYOUTS = (
    _Layout(ids=True, short_status=False, assignee=20, subject=32),
    _Layout(ids=False, short_status=False, assignee=20, subject=24),
    _Layout(ids=False, short_status=True, assignee=14, subject=20),
    _Layout(ids=False, short_status=True, assignee=8, subject=12),
)


def format_table(tickets: Sequence[Ticket], *, ids: bool = False, width: int | None = None) -> str:
    """An aligned table of number, status, priority, assignee, SLA state and subject, in
    ``width`` columns (default: the terminal's, 80 in a pipe), and with ``ids`` the
    ticket ids too when they fit (the number is an id as well: ``get TICK-36``).

    Short of room, the table drops the ids, then shows the two waiting statuses short
    (``wait:customer``, ``wait:3rd_party``) and cuts assignees' names; the subject takes
    what is left, cut with an ellipsis, up to :data:`SUBJECT_WIDTH` characters. No line
    is wider than ``width``."""
    width = width if width is not None else shutil.get_terminal_size().columns
    subjects = [" ".join(ticket.subject.split()) for ticket in tickets]
    wanted = min(SUBJECT_WIDTH, max([len("SUBJECT"), *(len(s) for s in subjects)]))
    layouts = [layout for layout in _LAYOUTS if ids or not layout.ids]
    for layout in layouts:
        cells = _cells(tickets, layout)
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        room = width - sum(widths) - len(GAP) * len(widths)
        if room >= min(wanted, layout.subject) or layout is layouts[-1]:
            break
    subject = max(1, min(wanted, room))
    lines = [
        GAP.join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=True)), text])
        for row, text in zip(
            cells, ["SUBJECT", *(_truncate(s, subject) for s in subjects)], strict=True
        )
    ]
    return "\n".join(_cut(line.rstrip(), width) for line in lines)


def _status(status: str, *, short: bool) -> str:
    return SHORT_STATUS.get(status, status) if short else status


def _cells(tickets: Sequence[Ticket], layout: _Layout) -> list[tuple[str, ...]]:
    """The table's cells but the subject, the header first."""
    header = ("NUMBER", "ID", "STATUS", "PRIORITY", "ASSIGNEE", "SLA")
    rows = [header] + [
        (
            ticket.number_label,
            ticket.id,
            _status(str(ticket.status), short=layout.short_status),
            ticket.priority_label,
            _truncate(ticket.assigned_name or ticket.assigned_to or "-", layout.assignee),
            sla_state(ticket),
        )
        for ticket in tickets
    ]
    return [row if layout.ids else row[:1] + row[2:] for row in rows]


# -- parsing --------------------------------------------------------------------------


def _json_or_text(raw: str, param: str) -> Any:
    """``42`` -> 42, ``true`` -> True, ``{"a": 1}`` -> a dict; anything else stays text.
    JSON nested too deep to read is refused as the API refuses it (exit 1)."""
    try:
        return strict_json(raw)
    except ValueError:
        return raw
    except RecursionError:  # far past the API's depth limit: say so, as the API would
        _fail(
            ParameterInvalid(f"{param} nests more than {OBJECT_MAX_DEPTH} levels deep", param=param)
        )
        raise click.exceptions.Exit(1) from None


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
        pairs[key] = _json_or_text(raw, param.name or "value")
    return pairs


def _start_time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO 8601 date-time option (UTC without an offset), in the years the API takes."""
    if value is None:
        return None
    try:
        parsed = in_range(datetime.fromisoformat(value), param.name or "time")
    except ValueError:
        raise click.BadParameter(
            f"expected an ISO 8601 date-time such as 2025-01-15T08:00:00Z, got {value!r}",
            ctx,
            param,
        ) from None
    except TicketError as error:
        raise click.BadParameter(error.message, ctx, param) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _clock_start(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Where a manual clock starts: a date-time no later than the control plane lets the
    clock go (later instants leave no room for SLA deadlines)."""
    from .local import LATEST

    start = _start_time(ctx, param, value)
    if start is not None and start > LATEST:
        raise click.BadParameter(f"the clock must start before {LATEST.date()}", ctx, param)
    return start


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
    except (sqlite3.Error, OSError, NewerSchema, NotATicketDatabase, StorageUnavailable) as err:
        raise click.ClickException(_unusable(path, err)) from err


def _unusable(path: str, error: Exception) -> str:
    """One line saying why the database cannot be used, naming it once (without its
    password): a server database's storage already names it in its own messages."""
    shown = redacted(path)
    message = " ".join(str(error).split())
    if is_server_address(path) and repr(shown) in message:
        return message
    return f"cannot use the database {shown!r}: {message}"


@contextlib.contextmanager
def _engine(path: str, as_of: datetime | None = None) -> Iterator[Engine]:
    """The engine on ``path``, with the API's errors answered as :func:`_answering` says;
    with ``as_of``, on a clock standing at that instant (to read, as of then)."""
    clock = None if as_of is None else ManualClock(as_of)
    with _answering(path), Engine.open(path, clock=clock) as engine:
        if as_of is not None:
            _not_before_latest_change(engine, as_of)
        yield engine


def _not_before_latest_change(engine: Engine, as_of: datetime) -> None:
    """The SLA of a moment before a ticket's latest change is not kept: refuse it."""
    latest = engine.tickets.list(sort_by="updated_at", sort_order="desc", per_page=1).data
    if latest and latest[0].updated_at > as_of:
        raise click.BadParameter(
            f"{format_time(as_of)} is before the latest change in the file"
            f" ({format_time(latest[0].updated_at)}); SLA states are read as of then or later",
            param_hint="'--as-of'",
        )


# -- commands -------------------------------------------------------------------------


IN_MEMORY = ":memory:"
LIVES_IN_MEMORY = frozenset({"serve"})
"""The commands for which ``--db :memory:`` keeps what it is given for as long as it
runs: a server. Any other command would lose its writes when it ends."""


def _database(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """Where a command's ``--db`` lands: given after the command it wins over the one
    before it (or the environment's). A database that would not outlive the command, an
    empty name or ``:memory:``, is refused with a sentence: its writes would be lost."""
    if value is None:
        value = ctx.obj  # the one before the command, or its default
    command = ctx.command.name or ""
    if not value.strip():
        raise click.BadParameter(
            "names no file, and what the command writes would be lost: name a file",
            ctx,
            param,
        )
    if value == IN_MEMORY and command not in LIVES_IN_MEMORY:
        raise click.BadParameter(
            f"{IN_MEMORY} would be gone when {command} ends, with what it writes: name a"
            f" file ({IN_MEMORY} is for serve, where it lives as long as the server)",
            ctx,
            param,
        )
    ctx.obj = value
    return value


def _db_option(*, group: bool) -> click.Option:
    return click.Option(
        ["--db"],
        envvar=DB_ENVVAR if group else None,
        default="tickets.db" if group else None,
        show_default=group,
        show_envvar=group,
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=_database if not group else _group_database,
        help="The SQLite file (created if missing), or a postgresql:// URL."
        if group
        else "The SQLite file or postgresql:// URL; the same as --db before the command,"
        " which it overrides.",
    )


def _group_database(ctx: click.Context, param: click.Parameter, value: str) -> str:
    ctx.obj = value  # checked by the command, which may name another
    return value


def _named_db(ctx: click.Context) -> bool:
    """Whether ``--db`` was given, before or after the command, or by the environment."""
    defaults = (None, click.core.ParameterSource.DEFAULT)
    return any(
        context.get_parameter_source("db") not in defaults for context in (ctx, ctx.find_root())
    )


class _Commands(click.Group):
    """The command group: a missing optional extra is one sentence, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MissingExtra as missing:
            raise click.ClickException(str(missing)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ayra-tickets")
def main() -> None:
    """The Ayra Ticket API on a local SQLite file.

    Answers are the API's JSON; errors are the API's error bodies on stderr (exit 1).
    """


main.params.append(_db_option(group=True))


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
@click.argument("ticket_id", metavar="TICKET")
@click.pass_obj
def get(db: str, ticket_id: str) -> None:
    """Print one ticket. TICKET is its id (ticket_...) or its number (TICK-36)."""
    with _engine(db) as engine:
        emit(engine.tickets.get(ticket_id).to_dict())


_CLEARABLE: dict[str, Any] = {"category": None, "assigned-to": None, "due-date": None, "tags": []}


@main.command()
@click.argument("ticket_id", metavar="TICKET")
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
    """Change only the given fields of a ticket and print it. TICKET is its id
    (ticket_...) or its number (TICK-36)."""
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
@click.option(
    "--as-of",
    callback=_start_time,
    help="Read SLA states (and --sla-breach) as of this instant (ISO 8601), not before the"
    " file's latest change. Default: now.",
)
@click.pass_obj
def list_(db: str, /, table: bool, as_of: datetime | None, **options: Any) -> None:
    """List tickets: filtered, sorted, one page at a time."""
    with _engine(db, as_of) as engine:
        page = engine.tickets.list(**_filters(options))
    if not table:
        emit(page.to_dict())
        return
    meta = page.meta
    if page.data:
        click.echo(format_table(page.data, ids=True))
    shown = f"page {meta['page']} of {meta['total_pages']}" if meta["total_pages"] else "no pages"
    total = meta["total"]
    click.echo(f"{total} ticket{'s' if total != 1 else ''}, {shown}")


@main.command(name="import")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--chunk-size", type=click.IntRange(1, 100_000), default=10_000, show_default=True)
@click.option(
    "--resume",
    is_flag=True,
    help="Safe to run again on the same file: lines already imported are skipped, not"
    " made twice. A line with an id is found by it; a line without one is given an id"
    " worked out from its content (and how many identical lines came before it), the same"
    " on every run. Use it on every run of a file you may have to run again.",
)
@click.pass_obj
def import_(db: str, /, source: BinaryIO, chunk_size: int, resume: bool) -> None:
    """Create tickets from JSON Lines (SOURCE, or - for stdin): one create body a line,
    or a ticket as `export` writes it (it keeps its id, fields, status and resolution).

    Blank lines (a final newline) are skipped. Bad lines are reported, with the API's
    error and their line number, and skipped; the others are created, a chunk of lines a
    transaction. Prints the report as JSON; exits 1 if any line was refused. If the
    import stops part-way (a full disk, a lock held too
    long, a broken source), the report says which lines were committed (`lines_committed`)
    and why it stopped, and the command exits 1: run it again with --resume to go on.
    """
    size = _file_size(source)
    bar = (
        click.progressbar(length=size, label="Importing", file=sys.stderr)
        if size and _is_terminal(sys.stderr)
        else None
    )

    def read() -> Iterator[bytes]:
        for line in source:
            if bar is not None:
                bar.update(len(line))
            yield line

    lines = JsonLines(read())
    stopped: ImportStopped | None = None
    with _engine(db) as engine, bar or contextlib.nullcontext():
        try:
            done = engine.tickets.import_many(lines, chunk_size=chunk_size, resume=resume)
        except ImportStopped as error:
            stopped, done = error, error.report
    report = lines.report(done)
    if stopped is not None:
        report["lines_committed"] = lines.lines_through(stopped.rows_done)
        report["stopped"] = str(stopped.__cause__)
    emit(report)
    if stopped is not None:
        committed = report["lines_committed"]
        kept = f"lines 1-{committed} are" if committed else "no line is"
        click.echo(
            f"The import stopped after line {committed}: {stopped.__cause__}; {kept}"
            " committed. Run the same command with --resume to go on.",
            err=True,
        )
    if stopped is not None or report["rejected"]:
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
@click.argument("ticket_id", metavar="TICKET")
@click.option("--resolution-note", help="What was done; the customer sees it.")
@click.option("--customer-satisfaction", type=int, help="1-10.")
@click.option("--resolution-time", type=int, help="Minutes actually spent.")
@click.option("--root-cause", help="e.g. system_error, user_error, billing_error.")
@click.pass_obj
def close(db: str, /, ticket_id: str, **options: Any) -> None:
    """Close a ticket, marking it resolved, and print it. TICKET is its id (ticket_...)
    or its number (TICK-36)."""
    with _engine(db) as engine:
        emit(engine.tickets.close(ticket_id, **_given(**options)).to_dict())


@main.command()
@click.argument("ticket_id", metavar="TICKET")
@click.pass_obj
def events(db: str, ticket_id: str) -> None:
    """Print a ticket's history, oldest first. TICKET is its id (ticket_...) or its
    number (TICK-36)."""
    with _engine(db) as engine:
        emit({"data": [event.to_dict() for event in engine.tickets.events(ticket_id)]})


SHOWN_FINDINGS = 50
"""``check`` prints this many findings, then how many more there are (``--all``: all)."""
PROGRESS_FROM = 50_000
"""``check`` and ``copy`` show a progress bar on a terminal for databases of at least this
many tickets."""


class _CannotCheck(click.ClickException):
    exit_code = 2


@main.command()
@click.option("--all", "show_all", is_flag=True, help="Print every finding.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def check(db: str, /, show_all: bool, as_json: bool) -> None:
    """Check the database without changing it (not even upgrading its schema).

    A file gets SQLite's integrity_check and foreign_key_check; then, on a file or a
    PostgreSQL database, the engine's own checks: ticket numbers gapless, every
    ticket's events replay to its row, its tags, states and search entry are what its
    row and log say. Prints what it checked and found. Exits 0 when nothing is wrong, 1
    on any problem, 2 when the database cannot be read as an ayra-tickets database.
    """
    from .storage.findings import Unreadable

    if is_server_address(db):
        from .storage.postgres.check import CHECKS
    else:
        from .storage.sqlite.check import CHECKS
    try:
        with _progress("Checking") as progress:
            report = Engine.check_file(db, progress)
    except (Unreadable, NotATicketDatabase, sqlite3.Error, OSError) as error:
        raise _CannotCheck(f"cannot check {redacted(db)!r}: {error}") from error
    if as_json:
        emit(report.to_dict())
    else:
        _print_checks(report, CHECKS)
        _print_findings(report.findings, None if show_all else SHOWN_FINDINGS)
        click.echo(_check_summary(report))
    if not report.clean:
        raise click.exceptions.Exit(1)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal's stderr for a big database, as ``check`` reads it
    or ``copy`` copies it (told how many tickets are done, of how many)."""
    if not _is_terminal(sys.stderr):
        yield None
        return
    with contextlib.ExitStack() as stack:
        shown: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not shown and total >= PROGRESS_FROM:
                bar = click.progressbar(length=total, label=label, file=sys.stderr)
                shown.append(stack.enter_context(bar))
            if shown:
                shown[0].update(done - shown[0].pos)

        yield progress


def _print_checks(report: Any, descriptions: dict[str, str]) -> None:
    """One line a check: its name, what it found, what it holds the file to."""
    for name, description in descriptions.items():
        problems = sum(1 for f in report.findings if f.check == name and f.problem)
        notes = sum(1 for f in report.findings if f.check == name and not f.problem)
        if name not in report.checks:
            outcome = "skipped"
        elif problems:
            outcome = f"{problems} problem{'s' if problems != 1 else ''}"
        elif notes:
            outcome = f"{notes} note{'s' if notes != 1 else ''}"
        else:
            outcome = "ok"
        click.echo(f"{name:<10} {outcome:<12} {description}")


def _print_findings(findings: Sequence[Any], limit: int | None) -> None:
    if not findings:
        return
    click.echo()
    for finding in findings[:limit]:
        kind = "problem" if finding.problem else "note"
        click.echo(f"{kind:<8} {finding.check:<10} {finding}")
    if limit is not None and len(findings) > limit:
        click.echo(f"... and {len(findings) - limit} more (--all prints every one)")
    click.echo()


def _check_summary(report: Any) -> str:
    tickets = {finding.ticket for finding in report.problems} - {None}
    checked = f"{report.path}: {report.tickets:,} tickets, {report.events:,} events checked"
    if "replay" not in report.checks:
        checked = f"{report.path}: only SQLite's own checks ran"
    if report.clean:
        found = "no problems"
    else:
        count = len(report.problems)
        found = f"{count} problem{'s' if count != 1 else ''}"
        if tickets:
            found += f" in {len(tickets)} ticket{'s' if len(tickets) != 1 else ''}"
    notes = len(report.notes)
    if notes:
        found += f", {notes} note{'s' if notes != 1 else ''}"
    return f"{checked}: {found}"


@main.command(name="copy")
@click.argument("source")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def copy_(source: str, target: str, as_json: bool) -> None:
    """Copy the whole database SOURCE to TARGET (each a SQLite file or a postgresql://
    URL), then check the copy.

    Copies tickets, events, states, tags, keys (their digests), agents, SLA policies,
    idempotency keys and routing (rules, turns, queues), as they are, from one snapshot
    of SOURCE. TARGET must be empty (a new file, an empty schema, or an empty ticket
    database); a copy that stops part-way
    leaves no target file, and commits nothing to a server. Then both sides are counted
    and every ticket's and event's API JSON is hashed (SHA-256) on each side. Exits 0
    when both are identical, 1 when they differ or the copy is refused.
    """
    from .transfer import CopyRefused, copy_database

    try:
        with _progress("Copying") as progress:
            summary = copy_database(source, target, progress=progress)
    except CopyRefused as refused:
        raise click.ClickException(str(refused)) from refused
    except (sqlite3.Error, OSError, StorageUnavailable) as error:
        raise click.ClickException(
            f"the copy from {redacted(source)!r} to {redacted(target)!r} failed, and left no"
            f" target behind: {error}"
        ) from error
    if as_json:
        emit(summary.to_dict())
    else:
        _print_copy(summary)
    if not summary.identical:
        raise click.exceptions.Exit(1)


def _print_copy(summary: Any) -> None:
    """The counts side by side, both digests, and the verdict."""
    source, target = summary.source, summary.target
    click.echo(f"copied {source.location} to {target.location}")
    click.echo(f"{'':<18} {'source':>12} {'target':>12}")
    for kind, count in source.counts.items():
        click.echo(f"{kind.replace('_', ' '):<18} {count:>12,} {target.counts[kind]:>12,}")
    click.echo("SHA-256 of every ticket's and event's API JSON:")
    click.echo(f"  source  {source.digest}")
    click.echo(f"  target  {target.digest}")
    if summary.identical:
        click.echo("identical")
    else:
        click.echo(f"different: {summary.difference}")


@main.group()
def agents() -> None:
    """The agent directory that gives tickets their assigned_name."""


def _names_option(value: str | None) -> tuple[str, ...] | None:
    """``a,b`` -> ("a", "b"); ``""`` -> none at all."""
    if value is None:
        return None
    return tuple(name.strip() for name in value.split(",")) if value.strip() else ()


def _json_file(path: str, param: str) -> Any:
    """The JSON value in the file at ``path``; unreadable or not JSON: the API's error."""
    try:
        with open(path, "rb") as file:
            return strict_json(file.read())
    except (OSError, ValueError, RecursionError) as error:
        raise ParameterInvalid(
            f"{param}: cannot read {path} as JSON ({error})", param=param
        ) from None


def _clearable(value: str | None, read: Callable[[str], Any]) -> Any:
    """An option that ``none`` clears: not given, ``None``, or what ``read`` makes of it."""
    if value is None:
        return _UNGIVEN
    return None if value == "none" else read(value)


def _calendar_file(path: str) -> BusinessCalendar:
    """``--calendar FILE.json``: a BusinessCalendar's JSON object."""
    data = _json_file(path, "calendar")
    try:
        return BusinessCalendar.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ParameterInvalid(
            f"calendar: {path} is not a calendar (timezone, hours, holidays): {error}",
            param="calendar",
        ) from None


def _capacity(value: str) -> int:
    """``--capacity N``."""
    try:
        return int(value)
    except ValueError:
        raise ParameterInvalid(
            "capacity must be an integer of 0 or more, or none", param="capacity"
        ) from None


_UNGIVEN: Any = object()

_AGENT_OPTIONS = (
    click.option("--groups", help='The agent\'s groups, comma-separated ("" for none).'),
    click.option("--skills", help='The agent\'s skills, comma-separated ("" for none).'),
    click.option("--capacity", help="The most open tickets routing gives them; none: no limit."),
    click.option(
        "--calendar",
        metavar="FILE.json",
        help="Their working hours: a JSON calendar (timezone, hours, holidays); none: always.",
    ),
    click.option("--available/--away", default=None, help="Available (default) or away."),
)


def _agent_options(command: Any) -> Any:
    for option in reversed(_AGENT_OPTIONS):
        command = option(command)
    return command


def _agent_fields(
    groups: str | None,
    skills: str | None,
    capacity: str | None,
    calendar: str | None,
    available: bool | None,
) -> dict[str, Any]:
    """The routing fields given on the command line, as ``engine.agents`` takes them."""
    fields = {
        "groups": _names_option(groups),
        "skills": _names_option(skills),
        "capacity": _clearable(capacity, _capacity),
        "calendar": _clearable(calendar, _calendar_file),
        "available": available,
    }
    return {
        name: value
        for name, value in fields.items()
        if value is not _UNGIVEN
        and not (value is None and name in ("groups", "skills", "available"))
    }


@agents.command(name="add")
@click.argument("agent_id")
@click.argument("name")
@_agent_options
@click.pass_obj
def agents_add(db: str, /, agent_id: str, name: str, **options: Any) -> None:
    """Add an agent (or replace one: fields not given take their defaults)."""
    with _engine(db) as engine:
        emit(engine.agents.add(agent_id, name, **_agent_fields(**options)).to_dict())


@agents.command(name="update")
@click.argument("agent_id")
@click.option("--name", help="A new display name.")
@_agent_options
@click.pass_obj
def agents_update(db: str, /, agent_id: str, name: str | None, **options: Any) -> None:
    """Change the fields given of an agent; the others stay."""
    with _engine(db) as engine:
        fields = _agent_fields(**options)
        if name is not None:
            fields["name"] = name
        emit(engine.agents.update(agent_id, **fields).to_dict())


@agents.command(name="list")
@click.pass_obj
def agents_list(db: str) -> None:
    """Print the agent directory, with each agent's routing fields."""
    with _engine(db) as engine:
        directory = engine.agents.all()
    emit({"data": [agent.to_dict() for agent in directory]})


@main.group()
def routing() -> None:
    """The routing rules, which give new tickets an agent of a group."""


@routing.command(name="show")
@click.pass_obj
def routing_show(db: str) -> None:
    """Print the routing rules, in order, and the tickets waiting in the queues."""
    with _engine(db) as engine:
        emit(
            {
                "data": [rule.to_dict() for rule in engine.routing.rules],
                "queued": engine.routing.queued(),
            }
        )


@routing.command(name="set")
@click.argument("rules_file", metavar="FILE.json")
@click.pass_obj
def routing_set(db: str, rules_file: str) -> None:
    """Replace the routing rules with those in FILE.json: a list of rules (or an object
    with one, under "rules"), each {"name", "match", "group", "strategy", "skills"}."""
    with _engine(db) as engine:
        data = _json_file(rules_file, "rules")
        if isinstance(data, dict) and set(data) == {"rules"}:
            data = data["rules"]
        if not isinstance(data, list):
            raise ParameterInvalid("rules: FILE.json must hold a list of rules", param="rules")
        rules = [RoutingRule.from_dict(rule, f"rules[{n}]") for n, rule in enumerate(data)]
        emit({"data": [rule.to_dict() for rule in engine.routing.configure(rules)]})


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


@main.group()
def escalations() -> None:
    """The escalation policy: levels per priority, fired by the due work (JSON form in
    the README's Escalation section)."""


@escalations.command(name="show")
@click.pass_obj
def escalations_show(db: str) -> None:
    """Print the escalation policy as JSON ({} when there is none)."""
    with _engine(db) as engine:
        emit(policy_to_dict(engine.escalations.policy))


@escalations.command(name="set")
@click.argument("source", type=click.File("rb"))
@click.pass_obj
def escalations_set(db: str, source: BinaryIO) -> None:
    """Replace the escalation policy by the one in SOURCE (a JSON file, - for stdin);
    {} removes it. A bad policy changes nothing."""
    try:
        data = strict_json(source.read())
    except (ValueError, RecursionError) as error:
        name = getattr(source, "name", "-")
        raise click.ClickException(f"{name} is not JSON: {error}") from error
    with _engine(db) as engine:
        emit(policy_to_dict(engine.escalations.configure(policy_from_dict(data))))


@main.group()
def webhooks() -> None:
    """Webhook subscriptions and their deliveries (events out)."""


def _emit_all(records: Sequence[Any]) -> None:
    """Print records (each with a ``to_dict()``) as ``{"data": [...]}``."""
    emit({"data": [each.to_dict() for each in records]})


@webhooks.command(name="list")
@click.pass_obj
def webhooks_list(db: str) -> None:
    """Print the subscriptions: id, url, events, created_at; never a secret."""
    with _engine(db) as engine:
        found = engine.webhooks.list()
    _emit_all(found)


@webhooks.command(name="subscribe")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    help="An event to send (ticket.created, ..., a Notify name, or * for all);"
    " repeatable. Default: all.",
)
@click.option("--secret", help="The signing secret (default: a new whsec_... one).")
@click.pass_obj
def webhooks_subscribe(db: str, /, url: str, events: tuple[str, ...], secret: str | None) -> None:
    """Send events to URL. The secret is printed only this once."""
    with _engine(db) as engine:
        made = engine.webhooks.subscribe(url, **_given(events=events or None, secret=secret))
    emit(made.to_dict())


@webhooks.command(name="unsubscribe")
@click.argument("subscription_id")
@click.pass_obj
def webhooks_unsubscribe(db: str, subscription_id: str) -> None:
    """Stop sending to a subscription (its deliveries go with it)."""
    with _engine(db) as engine:
        gone = engine.webhooks.unsubscribe(subscription_id)
    if not gone:
        raise click.ClickException(f"no subscription has the id {subscription_id!r}")
    emit({"id": subscription_id, "deleted": True})


@webhooks.command(name="set")
@click.argument("source", type=click.File("rb"))
@click.pass_obj
def webhooks_set(db: str, source: BinaryIO) -> None:
    """Make the subscriptions those of a JSON file: a list of {"url", "events",
    "secret"}. Ones already there (same url, events and secret) stay; the others go.
    Prints them all, with the secrets made for new ones."""
    try:
        wanted = strict_json(source.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{source.name} is not a JSON file: {error}") from error
    with _engine(db) as engine:
        made = engine.webhooks.set(wanted)
    _emit_all(made)


@webhooks.command(name="deliveries")
@click.option("--subscription", help="Only this subscription's (we_...).")
@click.option("--status", type=click.Choice(DELIVERY_STATUSES))
@click.option("--ticket", help="Only those about this ticket (its id).")
@click.option("--limit", type=int, default=100, show_default=True)
@click.pass_obj
def webhooks_deliveries(
    db: str, /, subscription: str | None, status: str | None, ticket: str | None, limit: int
) -> None:
    """Print deliveries, newest first."""
    with _engine(db) as engine:
        found = engine.webhooks.deliveries(
            subscription=subscription, status=status, ticket=ticket, limit=limit
        )
    _emit_all(found)


@webhooks.command(name="redeliver")
@click.argument("delivery_id")
@click.pass_obj
def webhooks_redeliver(db: str, delivery_id: str) -> None:
    """Send a delivered or dead delivery again (same id), from now on the schedule."""
    with _engine(db) as engine:
        again = engine.webhooks.redeliver(delivery_id)
    emit(again.to_dict())


@webhooks.command(name="send")
@click.pass_obj
def webhooks_send(db: str) -> None:
    """Attempt every delivery that is due, once, and print how many were attempted."""
    with _engine(db) as engine:
        attempted = engine.webhooks.send_due()
    emit({"attempted": attempted})


@main.group()
def sync() -> None:
    """Sync with the remote Ticket API: its configuration, the outbox of commands, and
    push (pull and the merge of conflicts are not built yet)."""


@sync.command(name="configure")
@click.option("--remote", required=True, help="The remote API's base URL (https://api.ayra.ai).")
@click.option(
    "--key-env",
    required=True,
    help="The environment variable holding its key (only the name is stored).",
)
@click.pass_obj
def sync_configure(db: str, /, remote: str, key_env: str) -> None:
    """Queue every later create, update and close as a command for the remote."""
    with _engine(db) as engine:
        emit(engine.sync.configure(remote=remote, key_env=key_env).to_dict())


@sync.command(name="run")
@click.pass_obj
def sync_run(db: str) -> None:
    """Run one round (a push of every command due) and print its report; exit 1 if
    the remote refused the key."""
    with _engine(db) as engine:
        try:
            report = engine.sync.run()
        except SyncUnavailable as error:
            raise click.ClickException(str(error)) from error
    emit(report.to_dict())
    if report.refused is not None:
        raise click.exceptions.Exit(1)


@sync.command(name="status")
@click.pass_obj
def sync_status(db: str) -> None:
    """Print where sync stands: pending commands, the oldest's age in seconds, dead
    letters, conflicts, the last round and the last successful one."""
    with _engine(db) as engine:
        emit(engine.sync.status().to_dict())


@sync.command(name="commands")
@click.option("--status", type=click.Choice(SYNC_STATUSES))
@click.option("--ticket", help="Only this ticket's (its local id or TICK-N).")
@click.option("--limit", type=int, default=100, show_default=True)
@click.pass_obj
def sync_commands(db: str, /, status: str | None, ticket: str | None, limit: int) -> None:
    """Print the outbox's commands, in the order queued."""
    with _engine(db) as engine:
        found = engine.sync.commands(status=status, ticket=ticket, limit=limit)
    _emit_all(found)


@sync.command(name="conflicts")
@click.pass_obj
def sync_conflicts(db: str) -> None:
    """Print the open conflicts: each command the remote refused with 409 or 412."""
    with _engine(db) as engine:
        found = engine.sync.conflicts()
    _emit_all(found)


@main.command()
@click.option("--seed", type=int, default=None, help="Vary the day's events.")
@click.option(
    "--start",
    callback=_start_time,
    help="When the day starts (ISO 8601), if it has ended by now; moved to an hour after"
    " the database's latest activity if that is later. Default: the last working day"
    " that has ended.",
)
@click.pass_obj
def demo(db: str, seed: int | None, start: datetime | None) -> None:
    """Simulate a day of support on the database and report on it.

    The day is the last working day (08:00 to 18:00 UTC) that has ended: today's after
    18:00 UTC, else yesterday's. Nothing is written after the real clock's now, so the
    tickets you create next come after the demo's. Run again on the same file, it plays
    the next day once that day has ended; the same day it writes nothing, shows the day
    it played again and says when the next day can be played (another file, --db, plays
    one now). The summary reads the tickets as of the moment the run ends, and the
    command it suggests next shows them as of that same moment (--as-of).
    """
    from . import demo as simulation  # the simulation is only loaded when asked for

    with _answering(db):
        try:
            report = simulation.run(db, **_given(seed=seed, start=start))
        except simulation.NoDayToPlay as refused:
            raise click.ClickException(str(refused)) from None
    width = shutil.get_terminal_size().columns
    if report.again is not None:
        again = f"Nothing played: {report.again} Here is that day again, as the file holds it."
        click.echo(textwrap.fill(again, width, break_on_hyphens=False, break_long_words=False))
        click.echo()
    click.echo(report.headline())
    click.echo()
    click.echo(format_table(report.tickets, width=width))
    click.echo()
    click.echo(report.summary(width))
    click.echo()
    click.echo(
        f"Next: {_program()} --db {shlex.quote(redacted(db))} list --table --sla-breach"
        f" --as-of {format_time(report.as_of)}"
    )


def _program() -> str:
    """This command as the shell can run it from here: ``ayra-tickets`` when that name
    finds this same script, else the script beside this Python, as a path
    (``.venv/bin/ayra-tickets`` after the README's install)."""
    script = Path(sys.executable).parent / "ayra-tickets"
    found = shutil.which("ayra-tickets")
    if not script.is_file() or (found is not None and Path(found).samefile(script)):
        return "ayra-tickets"
    relative = os.path.relpath(script)
    return shlex.quote(relative if not relative.startswith("..") else str(script))


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
    callback=_clock_start,
    help="With --control: where the clock starts (ISO 8601). Default: now.",
)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option(
    "--due-every",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds between runs of the due work (queued assignments, escalations, webhook"
    " sends); 0 runs it only when the control plane moves the clock.",
)
@click.pass_obj
def serve(
    db: str,
    host: str,
    port: int,
    control: bool,
    start: datetime | None,
    threads: int,
    due_every: float,
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
        if not _named_db(click.get_current_context()):
            raise click.UsageError(
                "--control can empty the database: name it with --db"
                " (':memory:' for one that lives as long as the server)"
            )
    clock: Clock = ManualClock(start or datetime.now(UTC)) if control else SystemClock()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("waitress").setLevel(logging.WARNING)
    with _answering(db), Engine.open(db, clock=clock) as engine:
        try:
            server = LocalServer(
                engine,
                host=host,
                port=port,
                control=control,
                threads=threads,
                due_every=due_every or None,
            )
        except OSError as error:
            raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
        plane = ", control plane at /_local/" if control else ""
        click.echo(
            f"ayra-tickets: serving {redacted(db)} on {server.url}{plane} (Ctrl-C stops)",
            err=True,
        )
        server.run()
        click.echo("ayra-tickets: stopped", err=True)


@main.command()
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Write the page here.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False), help="Write CSV tables here.")
@click.option(
    "--start", callback=_start_time,
    help="The window's start (default: the first day with tickets in the 30 days before --end).",
)  # fmt: skip
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
    """Write the support report: an HTML page of KPI tiles, charts and an agent table
    (--html) and/or CSV tables (--csv). The tiles compare each figure with the window of
    the same length before."""
    from . import report as reporting

    if not html_path and not csv_dir:
        raise click.UsageError("say where: --html FILE and/or --csv DIR")
    if html_path:
        reporting.plotly("offline")  # a missing extra is said before the file is opened
    with _engine(db) as engine:
        options = {"interval": interval, **_given(**filters)}
        if html_path:
            Path(html_path).write_text(
                reporting.render_html(engine, start, end, **options), "utf-8"
            )
            click.echo(f"wrote {html_path}", err=True)
        if csv_dir:
            for path in reporting.write_csv(engine, csv_dir, start, end, **options):
                click.echo(f"wrote {path}", err=True)


NAMES_ITS_DATABASES = frozenset({"copy"})
"""Commands given their databases as arguments, which ``--db`` does not name."""


def _every_command_takes_db(group: click.Group) -> None:
    """``--db`` after any command as well as before it (``ayra-tickets list --db x.db``)."""
    for command in group.commands.values():
        if command.name in NAMES_ITS_DATABASES:
            continue
        if isinstance(command, click.Group):
            _every_command_takes_db(command)
        else:
            command.params.append(_db_option(group=False))


_every_command_takes_db(main)
