"""The Engine: one database, its clock, and the services over it.

This is the composition root: :func:`open_storage` is the one place where the address
of a database picks the storage adapter that serves it; everything above the engine
sees only the storage port (:mod:`ayra_tickets.storage.port`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .domain.clock import Clock, SystemClock
from .escalation import Escalations
from .routing import Agents, Routing
from .service import Keys, Reports, SlaSettings, Tickets, UnitOfWork
from .storage.errors import NotATicketDatabase
from .storage.findings import Progress, Report
from .storage.port import Storage
from .storage.sqlite import SqliteStorage
from .storage.sqlite.check import check_file
from .sync import Sync
from .webhooks import Listener, Webhooks
from .wire import Response, dispatch

SERVER_SCHEMES = ("postgresql://", "postgres://")

DUE_ORDER = ("assignments", "escalations", "webhooks")
"""The parts of ``engine.run_due()``, in the order they run."""
"""The addresses of server databases: PostgreSQL's URLs."""

_KEYWORD_STRING = re.compile(
    r"^\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|options)\s*=",
    re.IGNORECASE,
)
"""The start of a libpq ``keyword=value`` connection string, which is refused rather
than taken for a file's name (it would make a file named after it, password and all)."""

_PASSWORD_PAIR = re.compile(r"\s*\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S*)", re.IGNORECASE)
"""A password's pair in a libpq keyword string, as messages leave it out."""


def is_server_address(target: str | Path) -> bool:
    """Whether ``target`` names a server database (a ``postgresql://`` URL), not a file."""
    return isinstance(target, str) and target.startswith(SERVER_SCHEMES)


def redacted(address: str) -> str:
    """A database's address as messages may show it: a URL without its password (in its
    user part or its query), anything else as it is."""
    if _KEYWORD_STRING.match(address):  # a libpq keyword string: without its password pair
        return _PASSWORD_PAIR.sub("", address).strip()
    if not is_server_address(address):
        return address
    parts = urlsplit(address)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="=/%")))


def _without_psycopg(address: str) -> NotATicketDatabase:
    return NotATicketDatabase(
        f"{redacted(address)!r} is a PostgreSQL address, which needs psycopg:"
        " pip install 'ayra-tickets[postgres]'"
    )


def open_storage(
    target: str | Path, *, durability: str = "normal", existing: bool = False
) -> Storage:
    """The storage adapter for a database's address, opened: a ``postgresql://`` URL is
    a PostgreSQL database (its schema from the URL's ``options=-csearch_path%3D...``,
    else the server's default), a path (or ``":memory:"``) a SQLite file. Every kind of
    database is picked here, and only here. ``existing``: open only a ticket database
    that is there already (else :class:`NotATicketDatabase`), creating nothing."""
    address = str(target)
    if isinstance(target, str) and _KEYWORD_STRING.match(target):
        raise NotATicketDatabase(
            "that is a PostgreSQL connection string (keyword=value), not a file: give the"
            " database as a postgresql:// URL"
        )
    if is_server_address(address):
        try:
            from .storage.postgres.adapter import PostgresStorage
        except ImportError as missing:  # the postgres extra is not installed
            raise _without_psycopg(address) from missing
        return PostgresStorage.open(address, location=redacted(address), existing=existing)
    return SqliteStorage.open(target, durability=durability, existing=existing)


class Staged:
    """Where a whole database is written before it is ``target``'s: for a server's
    database, the database itself (the write's one transaction makes it all or
    nothing); for a file, a new file beside it (``.NAME.XXXX.copying``), put in its
    place by :meth:`publish`, so that a write stopped at any moment, the process
    killed included, leaves no file at ``target``."""

    def __init__(self, target: str, opened: Storage | None = None) -> None:
        """Stage a database for ``target``: a server's database is ``opened`` (if
        given, else opened here)."""
        self.target = target
        self.staging: str | None = None
        if is_server_address(target):
            self.storage = opened or open_storage(target)
            return
        where = Path(target).absolute()
        staging = where.with_name(f".{where.name}.{secrets.token_hex(4)}.copying")
        staging.open("x").close()  # an empty file (the umask's mode): a database to set up
        self.staging = str(staging)
        try:
            self.storage = open_storage(self.staging)
        except BaseException:
            self.close()
            raise

    def publish(self) -> Storage:
        """Put what was written in place, and the target's storage, opened afresh."""
        if self.staging is None:
            return self.storage
        self.storage.close()  # SQLite empties its log into the file as the last one closes
        os.replace(self.staging, self.target)
        self.staging = None
        self.storage = open_storage(self.target)
        return self.storage

    def close(self) -> None:
        """Let go of the database; a staged file not published is removed."""
        if self.staging is None:
            self.storage.close()
            return
        with contextlib.suppress(AttributeError):  # opening it failed
            self.storage.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.staging + suffix)
        self.staging = None


class Engine:
    """An embedded Ticket API over a database.

    ``Engine.open("tickets.db")`` (or ``":memory:"``) opens or creates the database and
    brings its schema up to date. ``clock`` defaults to the system clock; pass a
    :class:`~ayra_tickets.ManualClock` to control time.
    """

    def __init__(self, storage: Storage, clock: Clock, path: str) -> None:
        self._storage = storage
        self._uow = UnitOfWork(storage, clock)
        self.path = path
        self.tickets = Tickets(self._uow)
        self.keys = Keys(self._uow)
        self.sla = SlaSettings(self._uow)
        self.metrics = Reports(self._uow)
        # Automation, in the order it reacts to a ticket write (see UnitOfWork.reactions)
        # and in which run_due does its parts.
        self.webhooks = Webhooks(self._uow)
        self.escalations = Escalations(self._uow)
        self.routing = Routing(self._uow)  # its due part goes first: queued assignments
        self.escalations.routing = self.routing  # where a Reassign(group=...) hands tickets
        self.agents = Agents(self._uow, self.routing)
        # run_due: queued assignments, then escalations, then the sends (those of the
        # escalations just fired included).
        self._uow.due.sort(key=lambda part: DUE_ORDER.index(part[0]))
        # Sync with the remote API: a command for every write once configured (push).
        self.sync = Sync(self._uow)

    @classmethod
    def open(
        cls,
        path: str | Path = "tickets.db",
        clock: Clock | None = None,
        *,
        durability: str = "normal",
    ) -> Engine:
        """Open (creating and upgrading as needed) the database at ``path``: a SQLite
        file (or ``":memory:"``), or a ``postgresql://`` URL (see :func:`open_storage`;
        ``path`` then keeps the URL without its password).

        ``durability``: ``"normal"`` (the default) survives any crash of the program,
        and a power cut may lose the last moments' commits, never the file's
        consistency; ``"full"`` makes every commit survive a power cut too, at the cost
        of a disk flush per write (SQLite's ``synchronous`` NORMAL and FULL, in WAL).
        """
        storage = open_storage(path, durability=durability)
        return cls(storage, clock or SystemClock(), redacted(str(path)))

    def backup(self, path: str | Path) -> Path:
        """Copy the database to ``path`` as it is at one instant, while others go on
        writing (SQLite's online backup). The copy is a complete database file."""
        target = Path(path)
        if target.exists():
            raise FileExistsError(f"{target} exists; a backup does not overwrite a file")
        return self._storage.backup(target)

    def check(self, progress: Progress | None = None) -> Report:
        """Check this database: SQLite's integrity and foreign-key checks (a file), then
        the engine's own (numbers gapless, every ticket's events replay to its row, tags,
        states and search index as the tickets and their logs say), on either backend.
        Reads only; the report's ``findings`` say what is wrong, ``clean`` whether
        anything is. ``progress`` is told every 10,000 tickets how many are done, of how
        many."""
        return self._storage.check(progress)

    @staticmethod
    def check_file(path: str | Path, progress: Progress | None = None) -> Report:
        """Check the database at ``path`` (a file, or a ``postgresql://`` URL) as
        :meth:`check` does, without opening it for writing: its schema is not upgraded (a
        database of an older schema gets a finding that says so, and a file SQLite's
        checks too) and nothing in it changes."""
        address = str(path)
        if is_server_address(address):
            try:
                from .storage.postgres.check import check_address
            except ImportError as missing:  # the postgres extra is not installed
                raise _without_psycopg(address) from missing
            return check_address(address, redacted(address), progress)
        return check_file(path, progress)

    def run_due(self) -> dict[str, int]:
        """Do everything that is due by the engine's clock: queued assignments,
        escalations, webhook sends and their retries, in that order. Each part claims
        its work in transactions of its own, so that running it again, or from several
        processes at once, does nothing twice. Returns how much each part did."""
        uow = self._uow
        now = uow.now()
        return {name: part(now) for name, part in uow.due}

    def on(self, event_name: str, callback: Listener) -> None:
        """Call ``callback(event_name, payload)`` in this process after each commit that
        makes the event (``*``: every one), with the payload a webhook gets (see
        :meth:`~ayra_tickets.webhooks.Webhooks.on`)."""
        self.webhooks.on(event_name, callback)

    @property
    def clock(self) -> Clock:
        return self._uow.clock

    @property
    def storage(self) -> Storage:
        """The storage behind the engine: the port object the services use
        (:class:`~ayra_tickets.storage.sqlite.SqliteStorage` for a file,
        ``PostgresStorage`` for a PostgreSQL URL). For tests,
        tools and benchmarks that look beneath the API: its repositories
        (``storage.tickets``, ``storage.keys``, ...) run in the caller's transaction,
        ``storage.atomic(work, write=...)``. Writing through it bypasses the API's rules."""
        return self._storage

    @property
    def db(self) -> Any:
        """The underlying ``sqlite_utils.Database``, for reading (a SQLite engine's)."""
        if not isinstance(self._storage, SqliteStorage):
            raise AttributeError("only an engine over a SQLite file has a sqlite_utils database")
        return self._storage.db

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
        body: bytes | str | None = None,
    ) -> Response:
        """Answer an HTTP-shaped request exactly as the API would.

        ``path`` may carry a query string; ``json`` is a JSON value to send, ``body``
        raw bytes or text (so that malformed JSON can be sent too).
        """
        return dispatch(self, method, path, headers, json, body)

    def reset(self) -> None:
        """Empty the database, keeping its schema: every ticket and its history, every
        key, agent and SLA policy goes, and the next ticket is ``TICK-1`` again. For
        tests and local servers (``/_local/reset``)."""
        self._uow.reset()

    def close(self) -> None:
        """Close the database, first letting SQLite refresh any planner statistics that
        this connection's queries showed to be stale (``PRAGMA optimize``)."""
        self._storage.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Engine({self.path!r}, clock={self.clock!r})"
