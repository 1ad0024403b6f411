"""The Engine: one SQLite file, its clock, and the services over it."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any

from .domain.clock import Clock, SystemClock
from .service import Agents, Core, Keys, Reports, SlaSettings, Tickets, check_file
from .storage import open_database
from .storage.check import Progress, Report
from .storage.database import FileIdentity, let_go_of_wal
from .storage.errors import DatabaseGone
from .storage.locking import BUSY_TIMEOUT_MS
from .wire import Response, dispatch


class Engine:
    """An embedded Ticket API over a SQLite file.

    ``Engine.open("tickets.db")`` (or ``":memory:"``) opens or creates the database and
    brings its schema up to date. ``clock`` defaults to the system clock; pass a
    :class:`~ayra_tickets.ManualClock` to control time.
    """

    def __init__(self, core: Core, path: str) -> None:
        self._core = core
        self.path = path
        self.tickets = Tickets(core)
        self.keys = Keys(core)
        self.agents = Agents(core)
        self.sla = SlaSettings(core)
        self.metrics = Reports(core)

    @classmethod
    def open(
        cls,
        path: str | Path = "tickets.db",
        clock: Clock | None = None,
        *,
        durability: str = "normal",
    ) -> Engine:
        """Open (creating and upgrading as needed) the database at ``path``.

        ``durability``: ``"normal"`` (the default) survives any crash of the program,
        and a power cut may lose the last moments' commits, never the file's
        consistency; ``"full"`` makes every commit survive a power cut too, at the cost
        of a disk flush per write (SQLite's ``synchronous`` NORMAL and FULL, in WAL).
        """
        db = open_database(path, durability=durability)
        return cls(Core(db, clock or SystemClock(), FileIdentity.of(str(path))), str(path))

    def backup(self, path: str | Path) -> Path:
        """Copy the database to ``path`` as it is at one instant, while others go on
        writing (SQLite's online backup). The copy is a complete database file."""
        target = Path(path)
        if target.exists():
            raise FileExistsError(f"{target} exists; a backup does not overwrite a file")
        source = self._core.db.conn
        if self.path != ":memory:":  # a connection of its own: this engine stays free
            source = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        copy = sqlite3.connect(target)
        try:
            with contextlib.ExitStack() as held:
                if source is self._core.db.conn:
                    held.enter_context(self._core.lock)
                source.backup(copy)
        finally:
            copy.close()
            if source is not self._core.db.conn:
                source.close()
        return target

    def check(self, progress: Progress | None = None) -> Report:
        """Check this database: SQLite's integrity and foreign-key checks, then the
        engine's own (numbers gapless, every ticket's events replay to its row, tags,
        states and search index as the tickets and their logs say). Reads only; the
        report's ``findings`` say what is wrong, ``clean`` whether anything is.
        ``progress`` is told every 10,000 tickets how many are done, of how many."""
        return self._core.check(self.path, progress)

    @staticmethod
    def check_file(path: str | Path, progress: Progress | None = None) -> Report:
        """Check the file at ``path`` as :meth:`check` does, without opening it for
        writing: its schema is not upgraded (a file of an older schema gets SQLite's
        checks and a finding that says so) and nothing in it changes."""
        return check_file(path, progress)

    @property
    def clock(self) -> Clock:
        return self._core.clock

    @property
    def db(self) -> Any:
        """The underlying ``sqlite_utils.Database``, for reading."""
        return self._core.db

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
        self._core.reset()

    def close(self) -> None:
        """Close the database, first letting SQLite refresh any planner statistics that
        this connection's queries showed to be stale (``PRAGMA optimize``)."""
        core = self._core
        with core.lock:
            try:
                if core.file is not None:
                    core.file.verify()
            except DatabaseGone:
                let_go_of_wal(core.db.conn)  # the log must not outlive the file it was for
            else:
                # Best effort: a read-only or busy file still closes.
                with contextlib.suppress(sqlite3.Error):
                    core.db.execute("PRAGMA optimize")
            core.db.close()

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
