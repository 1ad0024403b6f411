"""Transactions that take SQLite's write lock up front, waiting for it politely.

A write that starts as a plain (deferred) transaction reads first and asks for the
write lock later; if another connection wrote in between, SQLite must refuse it at
once ("database is locked") and no waiting helps. A write here begins with
``BEGIN IMMEDIATE`` instead, which either takes the lock or waits for it. The wait is
SQLite's busy handler for a short while, then retries with jittered, growing pauses, so
that several processes do not retry in lockstep, up to a bound (``WRITE_WAIT``); past it
the caller gets :class:`DatabaseBusy`, which says what happened. (sqlite-utils'
``atomic()`` begins deferred transactions, so it is used only inside these.)
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Iterator

from sqlite_utils import Database

WRITE_WAIT = 30.0
"""Seconds a write waits for the lock before giving up."""

_PAUSE = 0.002  # the first pause between attempts; each is up to twice the last, jittered
_PAUSE_MAX = 0.25


class DatabaseBusy(Exception):
    """Another process held the database's write lock for longer than ``WRITE_WAIT``."""


def _locked(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def begin(conn: sqlite3.Connection, *, write: bool, wait: float | None = None) -> None:
    """Begin a transaction; a write one holds the write lock from its first statement,
    waiting for it at most ``wait`` seconds (default ``WRITE_WAIT``)."""
    if not write:
        conn.execute("BEGIN")
        return
    wait = WRITE_WAIT if wait is None else wait
    deadline = time.monotonic() + wait
    pause = _PAUSE
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if not _locked(error):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseBusy(
                    f"the database is busy: another process held its write lock for over {wait:g} s"
                ) from None
            time.sleep(min(left, random.uniform(pause / 2, pause)))
            pause = min(pause * 2, _PAUSE_MAX)


@contextlib.contextmanager
def transaction(db: Database, *, write: bool) -> Iterator[None]:
    """One transaction: committed if the block ends normally, rolled back otherwise.
    Inside another one it is a savepoint of it (sqlite-utils' ``atomic()``)."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield
        return
    begin(conn, write=write)
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:  # an error may have ended it already
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
