"""The storage port over one SQLite file (or ``":memory:"``): :class:`SqliteStorage`.

One connection, shared by the engine's threads behind one lock (``locking.Guard``); each
transaction takes the lock, a write takes SQLite's write lock up front too
(``locking.transaction``), checks that the file opened is still the one at its path,
and SQLite's failures leave it as the storage errors every adapter raises.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from ..errors import DatabaseGone
from ..findings import Progress, Report
from ..tables import COUNT_ALL, EMPTIED, counted
from . import check as checking
from . import locking
from .accounts import AgentStore, KeyStore
from .checkpoint import Checkpointer
from .database import FileIdentity, let_go_of_wal, open_database
from .errors import translated
from .escalation import EscalationStore
from .idempotency import IdempotencyStore
from .metrics import MetricsStore
from .policies import PolicyStore
from .routing import RoutingStore
from .sync import SyncStore
from .tickets import TicketStore
from .webhooks import WebhookStore

T = TypeVar("T")

"""The tables :meth:`SqliteStorage.reset` empties, in an order the foreign keys allow."""

_KEPT_SETTINGS = ("created_in_number_order", "deferred_indexes", "api_key_salt")
"""What describes the file, not its data, stays through a reset: an empty table keeps
the creation-order rule, an import's pending indexes are still pending, and the keys'
salt (which the key store holds) stays the file's."""


class SqliteStorage:
    """The storage port (:class:`~ayra_tickets.storage.port.Storage`) over one SQLite
    database. ``db`` is the ``sqlite_utils.Database`` (for tests and tools that read the
    file beneath the API); ``lock`` lets threads share its one connection."""

    def __init__(self, db: Database, path: str, file: FileIdentity | None = None) -> None:
        self.db = db
        self.path = path
        self.file = file
        self.lock = locking.Guard()
        self.tickets = TicketStore(db)
        self.idempotency = IdempotencyStore(db)
        self.keys = KeyStore(db)
        self.agents = AgentStore(db)
        self.policies = PolicyStore(db)
        self.metrics = MetricsStore(db)
        self.routing = RoutingStore(db)
        self.webhooks = WebhookStore(db)
        self.escalations = EscalationStore(db)
        self.sync = SyncStore(db)
        self._seen_version: int | None = None
        self._checkpoints = None if file is None else Checkpointer(db.conn, file, self.lock)

    sees_every_commit = True  # data_version moves for any other connection's commit

    @classmethod
    def open(
        cls, path: str | Path, *, durability: str = "normal", existing: bool = False
    ) -> SqliteStorage:
        """Open (creating and upgrading as needed) the database at ``path`` (see
        :func:`~.database.open_database`); ``existing``: only a ticket database that is
        there already (:class:`~ayra_tickets.storage.errors.NotATicketDatabase` for a
        missing file, or one that holds none), creating nothing."""
        db = open_database(path, durability=durability, existing=existing)
        return cls(db, str(path), FileIdentity.of(str(path)))

    @property
    def location(self) -> str:
        return self.path

    @property
    def identity(self) -> str:
        """The file's device and inode (an in-memory database is only itself)."""
        if self.file is None:
            return f"sqlite-memory:{id(self)}"
        return f"sqlite:{self.file.device}:{self.file.inode}"

    def counts(self) -> dict[str, int]:
        return counted(self.db.execute(COUNT_ALL).fetchone())

    def atomic(self, work: Callable[[], T], *, write: bool = False) -> T:
        """One transaction (see the port). A write begins with ``BEGIN IMMEDIATE``,
        retried with jittered pauses while another process holds the write lock (up to
        ``locking.WRITE_WAIT``): ``work`` runs once, holding it."""
        try:
            with locking.transaction(self.db, write=write, guard=self.lock):
                if write and self.file is not None:
                    self.file.verify()
                result = work()
            if write and self._checkpoints is not None:
                self._checkpoints.committed()
            return result
        except DatabaseGone:
            with self.lock:
                let_go_of_wal(self.db.conn)
            raise
        except sqlite3.Error as error:
            unavailable = translated(error, "" if self.file is None else self.file.path)
            if unavailable is None:
                raise
            raise unavailable from error

    def changed(self) -> bool:
        """SQLite's ``data_version``, which moves only for other connections' commits."""
        (version,) = self.db.conn.execute("PRAGMA data_version").fetchone()
        if version == self._seen_version:
            return False
        self._seen_version = version
        return True

    def commit_mark(self) -> object | None:
        with self.lock:
            (version,) = self.db.conn.execute("PRAGMA data_version").fetchone()
        return int(version)

    def reset(self) -> None:
        for table in EMPTIED:
            self.db.execute(f"DELETE FROM {table}")
        self.db.execute("INSERT INTO tickets_fts (tickets_fts) VALUES ('delete-all')")
        marks = ", ".join("?" for _ in _KEPT_SETTINGS)
        self.db.execute(f"DELETE FROM settings WHERE key NOT IN ({marks})", _KEPT_SETTINGS)
        self.db.execute("UPDATE settings SET value = '1' WHERE key = 'created_in_number_order'")
        self.tickets.forget()

    def check(self, progress: Progress | None = None) -> Report:
        """Every check of the file, in one read transaction (see
        :func:`~.check.check_file`)."""
        with self.lock, checking.snapshot(self.db.conn):
            return checking.run(self.db.conn, self.path, progress)

    def backup(self, target: Path) -> Path:
        """SQLite's online backup, from a connection of its own for a file (so that this
        storage stays free meanwhile)."""
        own = self.db.conn
        source = own
        if self.path != ":memory:":
            source = sqlite3.connect(self.path, timeout=locking.BUSY_TIMEOUT_MS / 1000)
        copy = sqlite3.connect(target)
        try:
            with contextlib.ExitStack() as held:
                if source is own:
                    held.enter_context(self.lock)
                source.backup(copy)
        finally:
            copy.close()
            if source is not own:
                source.close()
        return target

    def close(self) -> None:
        """Close the file, first letting SQLite refresh any planner statistics that this
        connection's queries showed to be stale (``PRAGMA optimize``)."""
        if self._checkpoints is not None:
            self._checkpoints.close()
        with self.lock:
            try:
                if self.file is not None:
                    self.file.verify()
            except DatabaseGone:
                let_go_of_wal(self.db.conn)  # the log must not outlive the file it was for
            else:
                # Best effort: a read-only or busy file still closes.
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("PRAGMA optimize")
            self.db.close()
