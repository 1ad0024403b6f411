"""What the file under the engine can refuse, apart from the request itself.

These are not the API's validation errors (``domain/errors.py``): the request was fine,
the database could not take it. Each carries the HTTP status and the code the wire layer
answers with; a call that raises one has changed nothing.
"""

from __future__ import annotations

import sqlite3


class StorageUnavailable(Exception):
    """The database cannot take the call now; nothing of it was written."""

    status = 503
    code = "database_unavailable"
    retry_after: str | None = None


class DatabaseBusy(StorageUnavailable):
    """Another process held the database's write lock for longer than the engine waits."""

    code = "database_busy"
    retry_after = "1"


class DatabaseGone(StorageUnavailable):
    """The file the engine opened was deleted, moved or replaced under it, or can no
    longer be written: a write now would land where nobody could read it back."""


class StorageFull(StorageUnavailable):
    """The disk (or the file's size limit) is full: the call was rolled back."""

    status = 507
    code = "storage_full"


class NotATicketDatabase(Exception):
    """The file is not an ayra-tickets database (not SQLite at all, or another
    application's); the engine refuses it and leaves it as it was, byte for byte."""


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
