"""SQLite's failures as the storage errors every adapter raises (``storage/errors.py``)."""

from __future__ import annotations

import sqlite3

from ..errors import DatabaseBusy, DatabaseGone, StorageFull, StorageUnavailable


def translated(error: sqlite3.Error, path: str) -> StorageUnavailable | None:
    """What a failure of SQLite's means for the caller, when it is the file's doing (a
    lock held, a full disk, an I/O error, a file made read-only); None for anything
    else."""
    primary = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if primary == sqlite3.SQLITE_BUSY:  # a read in a rare moment of WAL (a recovery)
        return DatabaseBusy(f"the database {path!r} is busy: {error}")
    if primary == sqlite3.SQLITE_FULL:
        return StorageFull(f"the disk holding the database {path!r} is full: {error}")
    if primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
        return DatabaseGone(f"the database {path!r} cannot be written: {error}")
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StorageUnavailable(
            f"the database {path!r} is damaged ({error}); 'ayra-tickets check' says where"
        )
    return None
