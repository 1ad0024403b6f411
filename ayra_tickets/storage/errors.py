"""What a database under the engine can refuse, apart from the request itself.

These are not the API's validation errors (``domain/errors.py``): the request was fine,
the database could not take it. Every storage adapter raises these, whatever its
database (the SQLite adapter translates SQLite's own errors into them in
``storage/sqlite/errors.py``). Each :class:`StorageUnavailable` carries the HTTP status
and the code the wire layer answers with; a call that raises one has changed nothing.
"""

from __future__ import annotations


class StorageUnavailable(Exception):
    """The database cannot take the call now; nothing of it was written."""

    status = 503
    code = "database_unavailable"
    retry_after: str | None = None


class DatabaseBusy(StorageUnavailable):
    """The call kept meeting others for longer than the engine waits (30 s): another
    process held a SQLite file's write lock, or a PostgreSQL transaction kept failing to
    serialize or meeting deadlocks. Nothing of the call was written."""

    code = "database_busy"
    retry_after = "1"


class DatabaseGone(StorageUnavailable):
    """The file the engine opened was deleted, moved or replaced under it, or can no
    longer be written: a write now would land where nobody could read it back."""


class StorageFull(StorageUnavailable):
    """The disk (or the file's size limit) is full: the call was rolled back."""

    status = 507
    code = "storage_full"


class NotSupported(StorageUnavailable):
    """This kind of database cannot do what was asked yet (a feature one adapter has
    and another lacks): the message names it. Nothing was written. On the wire it is a
    503 ``database_unavailable``, as any call the database cannot take."""


class NotATicketDatabase(Exception):
    """What was named is not a database ayra-tickets can open: a file that is not SQLite
    at all, or another application's database (the engine refuses it and leaves it as it
    was, byte for byte), or the address of a kind of database this release does not
    support."""


class NewerSchema(Exception):
    """The database was written by a newer release of ayra-tickets, whose schema this one
    does not know; it is left untouched."""


class WriteConflict(Exception):
    """A versioned update found the ticket at another version than the one it was read
    at: another writer changed it in between. An adapter whose transactions can meet
    this (not SQLite's, which hold the write lock from the start) retries the whole
    transaction; it never reaches the caller as a refusal of the request."""
