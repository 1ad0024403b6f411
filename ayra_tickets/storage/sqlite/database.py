"""Opening the SQLite file: connection settings, refusing files that are not ours, schema
upgrades, and noticing when the file is taken away from under an open engine."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import attrs
from sqlite_utils import Database

from ..errors import DatabaseGone, NotATicketDatabase
from .locking import ATTEMPT_MS, transaction
from .schema import refuse_newer, upgrade
from .tickets import restore_deferred_indexes

CACHE_KIB = 65_536
"""The page cache's bound per connection: big enough to hold the hot parts of the
indexes of a million tickets (SQLite's default, 2 MiB, is not); used only as filled."""


DURABILITY = {"normal": "NORMAL", "full": "FULL"}


@attrs.frozen
class FileIdentity:
    """Which file an engine opened: its path, and the device and inode it had then."""

    path: str
    device: int
    inode: int

    @classmethod
    def of(cls, path: str) -> FileIdentity | None:
        """The identity of the file at ``path`` now (None for an in-memory database)."""
        if path == ":memory:" or path == "":
            return None
        where = os.path.abspath(path)  # the same file if the program changes directory
        found = os.stat(where)
        return cls(where, found.st_dev, found.st_ino)

    def verify(self) -> None:
        """Raise :class:`DatabaseGone` unless ``path`` still names the file opened: a
        write into a file deleted, moved or replaced since would be acknowledged and then
        lost (nobody can open it again)."""
        try:
            found = os.stat(self.path)
        except OSError:
            raise DatabaseGone(
                f"the database file {self.path!r} was deleted or moved while open;"
                " nothing was written (open it again where it now is)"
            ) from None
        if (found.st_dev, found.st_ino) != (self.device, self.inode):
            raise DatabaseGone(
                f"the database file {self.path!r} was replaced by another file while open;"
                " nothing was written (open it again to use the new file)"
            )


def let_go_of_wal(conn: sqlite3.Connection) -> None:
    """Empty this connection's write-ahead log into the file it opened (best effort).

    The log is found by the file's *name*: once the file is deleted, moved or replaced,
    whatever next opens a database under that name would replay this log into it, and
    read the old file's pages as its own. An empty log is replayed as nothing."""
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def refuse_foreign(conn: sqlite3.Connection, path: str, *, existing: bool = False) -> None:
    """Refuse a file that is not an ayra-tickets database before anything is written to
    it: a file that is not SQLite at all, or a SQLite database of another application (it
    has tables, but not this project's migrations), or one from a newer release. An empty
    file, or a SQLite database with no tables, is ours to set up (with ``existing``, it
    is refused too: it holds no ticket database)."""
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as error:  # "file is not a database", encrypted, ...
        raise NotATicketDatabase(f"{path!r} is not a SQLite database ({error})") from None
    if not names and existing:
        raise NotATicketDatabase(f"{path!r} holds no ticket database (it is empty)")
    if not names:
        return
    ours = (
        "_sqlite_migrations" in names
        and conn.execute(
            "SELECT 1 FROM _sqlite_migrations WHERE migration_set = 'ayra_tickets' LIMIT 1"
        ).fetchone()
    )
    if not ours:
        shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        raise NotATicketDatabase(
            f"{path!r} is a SQLite database of another application (it holds {shown});"
            " ayra-tickets leaves it untouched: give the path of a ticket database, or a new one"
        )
    refuse_newer(Database(conn))


def open_database(
    path: str | Path, *, durability: str = "normal", existing: bool = False
) -> Database:
    """Open (creating if needed) and upgrade the database at ``path``; ``":memory:"`` too.
    With ``existing``, only a ticket database already there is opened: a missing file,
    or one that holds none, is :class:`NotATicketDatabase`, and nothing is created.

    Files use WAL with ``synchronous=NORMAL`` (``durability="normal"``): a committed
    call survives a crash of the process; a power cut may lose the last few commits,
    never consistency. ``durability="full"`` (``synchronous=FULL``) flushes every
    commit to disk, so that it survives a power cut too.
    """
    if durability not in DURABILITY:
        raise ValueError(f"durability must be 'normal' or 'full', not {durability!r}")
    target = str(path)
    if existing and (target in ("", ":memory:") or not os.path.isfile(target)):
        raise NotATicketDatabase(f"{target!r} does not exist")
    conn = sqlite3.connect(target, check_same_thread=False, timeout=ATTEMPT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {ATTEMPT_MS}")
        if target != ":memory:":
            with transaction(Database(conn), write=False):  # a look, writing nothing
                refuse_foreign(conn, target, existing=existing)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        # Statistics for the query planner from a sample: ANALYZE stays fast on big tables.
        conn.execute("PRAGMA analysis_limit = 1000")
    except BaseException:
        conn.close()
        raise
    db = Database(conn)
    if target != ":memory:":
        db.enable_wal()
        conn.execute(f"PRAGMA synchronous = {DURABILITY[durability]}")
    try:
        # One process upgrades at a time: the others wait, then find nothing to do.
        with transaction(db, write=True):
            upgrade(db)
            restore_deferred_indexes(conn)  # an import stopped before it rebuilt them
    except BaseException:
        conn.close()
        raise
    return db
