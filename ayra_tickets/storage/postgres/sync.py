"""Sync's outbox on PostgreSQL: the shared repository of
:mod:`ayra_tickets.storage.commands` over the transaction's connection.

A change of the configuration raises the version that
:meth:`~.adapter.PostgresStorage.changed` reads (the policies' own), so that every
engine reads it again in its next transaction. Two claims of one command at once: the
later one's update meets the earlier one's (REPEATABLE READ), fails to serialize, and
is run again, finding it held. A ticket's writes take its row's lock, and its link's,
so its commands' sequence numbers follow its commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Json

from .. import commands
from .policies import BUMP_VERSION
from .schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from .adapter import Connections


class SyncStore(commands.CommandStore):
    """``sync_settings``, ``sync_tickets``, ``sync_commands`` and ``sync_conflicts``."""

    schema_version = SCHEMA_VERSION

    def __init__(self, connections: Connections) -> None:
        super().__init__({name: getattr(commands, name) for name in commands.STATEMENTS})
        self._connections = connections

    def run(self, sql: str, values: dict[str, Any]) -> Any:
        return self._connections.conn.execute(sql, values)

    def instant(self, at: datetime | None) -> Any:
        return at

    def read_instant(self, stored: Any) -> datetime | None:
        return stored  # type: ignore[no-any-return]

    def json(self, value: Any) -> Any:
        return Json(value)

    def read_json(self, stored: Any) -> Any:
        return stored

    def configured(self) -> None:
        self._connections.conn.execute(BUMP_VERSION)
