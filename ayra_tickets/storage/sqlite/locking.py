"""Transactions that take SQLite's write lock up front, waiting for it politely.

A write that starts as a plain (deferred) transaction reads first and asks for the
write lock later; if another connection wrote in between, SQLite must refuse it at
once ("database is locked") and no waiting helps. A write here begins with
``BEGIN IMMEDIATE`` instead, which takes the lock or is refused after a short wait
(``ATTEMPT_MS``); it is tried again after jittered, growing pauses
(:mod:`~ayra_tickets.storage.backoff`), so that several processes do not retry in
lockstep, up to a bound (``WRITE_WAIT``); past it the caller gets :class:`DatabaseBusy`,
which says what happened. (sqlite-utils' ``atomic()`` begins deferred transactions, so
it is used only inside these.)

An engine's threads share one connection behind one lock (``guard``). A write waiting
for another process's lock waits *between* its attempts without that lock, so that the
engine's reads (which WAL lets run beside any writer) go on meanwhile: a read waits for
this engine's own writes, never for another process's.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator

from sqlite_utils import Database

from ..backoff import Backoff
from ..errors import DatabaseBusy

WRITE_WAIT = 30.0
"""Seconds a write waits for the lock before giving up."""
BUSY_TIMEOUT_MS = 1_000
"""How long SQLite itself waits for a lock, on connections other than an engine's own
(a backup's, a check's)."""
ATTEMPT_MS = 10
"""How long SQLite itself waits for a lock on an engine's connection: one attempt at the
write lock holds the engine's guard no longer than this, so the engine's reads never wait
longer behind another process's write (a read needs a lock only in rare moments of WAL,
such as a recovery, and gets as long)."""


def _locked(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _try_begin_immediate(conn: sqlite3.Connection) -> bool:
    """Take the write lock if it comes within the connection's short busy wait
    (``ATTEMPT_MS``); False if another connection holds it."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        return True
    except sqlite3.OperationalError as error:
        if not _locked(error):
            raise
        return False


class Guard:
    """The lock that lets an engine's threads share its one connection: re-entrant, and
    it knows whether the calling thread holds it (a call made inside another)."""

    __slots__ = ("_depth", "_lock", "_owner")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0

    @property
    def held(self) -> bool:
        return self._owner == threading.get_ident()

    def acquire(self) -> None:
        self._lock.acquire()
        self._owner = threading.get_ident()  # changed only by the thread holding the lock
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if not self._depth:
            self._owner = None
        self._lock.release()

    def __enter__(self) -> Guard:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _begin_write(conn: sqlite3.Connection, guard: Guard | None, wait: float) -> None:
    """Begin a write transaction, waiting at most ``wait`` seconds for the write lock;
    return holding ``guard`` too, which is let go between attempts."""
    waiting = Backoff(wait).start()
    while True:
        if guard is not None:
            guard.acquire()
        try:
            if _try_begin_immediate(conn):
                return
        except BaseException:
            if guard is not None:
                guard.release()
            raise
        if guard is not None:
            guard.release()  # others of this engine read (or try to write) meanwhile
        if not waiting.pause():
            raise DatabaseBusy(
                f"the database is busy: another process held its write lock for over {wait:g} s"
            )


@contextlib.contextmanager
def transaction(db: Database, *, write: bool, guard: Guard | None = None) -> Iterator[None]:
    """One transaction: committed if the block ends normally, rolled back otherwise.
    Inside another one it is a savepoint of it (sqlite-utils' ``atomic()``). ``guard``
    is held for the transaction; a write waiting for another process's write lock does
    not hold it while it waits."""
    conn = db.conn
    if write and guard is not None and not guard.held:
        _begin_write(conn, guard, WRITE_WAIT)  # returns holding the guard
    else:
        if guard is not None:
            guard.acquire()
        if conn.in_transaction:  # a call inside another: a savepoint of it
            try:
                with db.atomic():
                    yield
            finally:
                if guard is not None:
                    guard.release()
            return
        try:
            if write:
                _begin_write(conn, None, WRITE_WAIT)
            else:
                conn.execute("BEGIN")
        except BaseException:
            if guard is not None:
                guard.release()
            raise
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        _roll_back(conn)
        raise
    finally:
        if guard is not None:
            guard.release()


def _roll_back(conn: sqlite3.Connection) -> None:
    """Roll back what is open. An error may have ended the transaction already; a COMMIT
    that failed (a full disk) leaves it open, and it must not stay so: the next call would
    run in it."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")
