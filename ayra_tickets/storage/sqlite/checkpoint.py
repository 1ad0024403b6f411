"""Checkpoints off the request path.

In WAL mode a commit appends its pages to the log, and a checkpoint copies them back
into the file (and, with ``synchronous=NORMAL`` or ``FULL``, flushes it). SQLite runs
one itself, in the commit that takes the log past 1,000 pages: with a create writing
some thirty pages, one create in thirty or so pays for everyone's, and its latency is
many times the median.

Here the engine's own connection checkpoints only as a backstop (``BACKSTOP`` pages).
A thread of the storage, with a connection of its own, runs a passive checkpoint after
every ``EVERY`` write commits, beside the engine's writes: it never waits for the writer
nor makes it wait. Beside a steady writer, though, the log is never wholly copied at
the moment a write could start it over, and it would grow until the backstop made one
commit pay for all of it. So once the log holds ``RESTART_AT`` pages, the thread copies
the few pages committed during its passive checkpoint while holding the engine's lock
(a pause of one small checkpoint, once in a few hundred commits), and the engine's
next write starts the log over.
A process killed in the middle of a checkpoint loses nothing: SQLite's checkpoint is
itself crash-safe, and the log is replayed by the next opener.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from .database import FileIdentity
from .locking import ATTEMPT_MS, Guard

log = logging.getLogger(__name__)

EVERY = 128
"""Write commits between the checkpoints asked of the thread (fewer, larger
checkpoints disturb the writer less: each ends with a flush of the file)."""

RESTART_AT = 8_000
"""Pages of log (32 MiB) past which the thread copies the last pages holding the
engine's lock, so that the log starts over."""

BACKSTOP = 24_000
"""Pages of log past which a commit checkpoints on its own (``wal_autocheckpoint``):
reached only if the thread cannot keep up or fails (or other processes keep the log
from starting over)."""


class Checkpointer:
    """The background checkpoints of one file. Its thread starts with the first commit
    that asks for a checkpoint; :meth:`close` stops it, after the checkpoint under way."""

    def __init__(self, conn: sqlite3.Connection, file: FileIdentity, guard: Guard) -> None:
        self._file = file
        self._guard = guard
        (self._synchronous,) = conn.execute("PRAGMA synchronous").fetchone()
        conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP}")
        self._commits = 0
        self._asked = 0  # checkpoints asked for, and done (or given up)
        self._done = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._changes = threading.Condition()
        self.rounds = 0
        """Checkpoints run."""

    def committed(self) -> None:
        """A write transaction of the engine committed (called holding its lock)."""
        self._commits += 1
        if self._commits % EVERY:
            return
        with self._changes:
            if self._stopping:
                return
            self._asked += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"checkpoint {self._file.path}", daemon=True
                )
                self._thread.start()
            self._changes.notify_all()

    def settle(self) -> None:
        """Wait until every checkpoint asked for so far has run."""
        with self._changes:
            self._changes.wait_for(lambda: self._done >= self._asked)

    def _connect(self) -> sqlite3.Connection | None:
        """A connection to the file the engine opened, or ``None`` if the path names
        another file now (whose log is not this one's to copy into it)."""
        conn = sqlite3.connect(self._file.path, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {ATTEMPT_MS}")
            conn.execute(f"PRAGMA synchronous = {int(self._synchronous)}")
            conn.execute("PRAGMA schema_version").fetchone()  # the file is open now
            self._file.verify()
        except Exception:
            conn.close()
            return None
        return conn

    def _run(self) -> None:
        conn = self._connect()
        try:
            while conn is not None:
                with self._changes:
                    self._changes.wait_for(lambda: self._stopping or self._done < self._asked)
                    if self._stopping:
                        return
                    asked = self._asked
                if not self._checkpoint(conn):
                    return  # the engine's own commits keep the log bounded (the backstop)
                with self._changes:
                    self._done = asked
                    self._changes.notify_all()
        finally:
            if conn is not None:
                conn.close()
            with self._changes:  # nothing more will run: nobody waits for it
                self._stopping = True
                self._done = self._asked
                self._changes.notify_all()

    def _checkpoint(self, conn: sqlite3.Connection) -> bool:
        """One round; false if the file is not the engine's any more, or it failed."""
        try:
            self._file.verify()
            _, logged, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if logged >= RESTART_AT:
                with self._guard:  # the tail, so that the engine's next write restarts it
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception:  # a checkpoint is only ever an optimisation
            log.debug("a background checkpoint of %s failed", self._file.path, exc_info=True)
            return False
        self.rounds += 1
        return True

    def close(self) -> None:
        """Stop the thread (after the checkpoint under way, if any)."""
        with self._changes:
            self._stopping = True
            thread = self._thread
            self._changes.notify_all()
        if thread is not None and not self._guard.held:  # else it may wait for this thread
            thread.join()
