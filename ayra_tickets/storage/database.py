"""Opening the SQLite file: connection settings and schema upgrades."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from .locking import BUSY_TIMEOUT_MS, transaction
from .schema import upgrade
from .tickets import restore_deferred_indexes

CACHE_KIB = 65_536
"""The page cache's bound per connection: big enough to hold the hot parts of the
indexes of a million tickets (SQLite's default, 2 MiB, is not); used only as filled."""


DURABILITY = {"normal": "NORMAL", "full": "FULL"}


def open_database(path: str | Path, *, durability: str = "normal") -> Database:
    """Open (creating if needed) and upgrade the database at ``path``; ``":memory:"`` too.

    Files use WAL with ``synchronous=NORMAL`` (``durability="normal"``): a committed
    call survives a crash of the process; a power cut may lose the last few commits,
    never consistency. ``durability="full"`` (``synchronous=FULL``) flushes every
    commit to disk, so that it survives a power cut too.
    """
    if durability not in DURABILITY:
        raise ValueError(f"durability must be 'normal' or 'full', not {durability!r}")
    target = str(path)
    conn = sqlite3.connect(target, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    # Statistics for the query planner from a sample: ANALYZE stays fast on big tables.
    conn.execute("PRAGMA analysis_limit = 1000")
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
