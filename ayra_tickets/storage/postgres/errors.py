"""psycopg's failures as the storage errors every adapter raises (``storage/errors.py``).

Serialization failures and deadlocks are not here: the adapter retries them
(:meth:`~.adapter.PostgresStorage.atomic`), and only when it gives up do they become
:class:`~ayra_tickets.storage.errors.DatabaseBusy`.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg

from ..errors import DatabaseBusy, DatabaseGone, StorageFull, StorageUnavailable

RETRIED = (pg.SerializationFailure, pg.DeadlockDetected)
"""What a transaction is run again for, from its start (SQLSTATE 40001, 40P01)."""

_BUSY = (
    pg.LockNotAvailable,  # lock_timeout
    pg.QueryCanceled,  # statement_timeout
    pg.TooManyConnections,
    pg.CannotConnectNow,  # starting up, or in recovery
    pg.ConfigurationLimitExceeded,
)
_FULL = (pg.DiskFull, pg.OutOfMemory, pg.InsufficientResources)


def translated(error: psycopg.Error, where: str) -> StorageUnavailable | None:
    """What a failure of psycopg's means for the caller, when it is the database's doing
    (busy, full, read-only, gone away); ``None`` for anything else (a bug: let it show)."""
    if isinstance(error, _BUSY):
        return DatabaseBusy(f"the database {where} is busy: {first_line(error)}")
    if isinstance(error, _FULL):
        return StorageFull(f"the database {where} is out of room: {first_line(error)}")
    if isinstance(error, pg.ReadOnlySqlTransaction):
        return DatabaseGone(f"the database {where} cannot be written: {first_line(error)}")
    if isinstance(error, psycopg.OperationalError):  # the connection broke, the server stopped
        return StorageUnavailable(f"the database {where} cannot be reached: {first_line(error)}")
    return None


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
