"""Sync's outbox in SQLite: the shared repository of
:mod:`ayra_tickets.storage.commands` over the file's connection.

Times are RFC 3339 text, which sorts as the instants do; a patch and a conflict's answer
are JSON text. A write takes the file's write lock up front, so two claims never see the
same command free.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ...domain.times import format_optional, load_optional
from .. import commands
from ..outbox import for_sqlite
from .schema import SCHEMA_VERSION


class SyncStore(commands.CommandStore):
    """``sync_settings``, ``sync_tickets``, ``sync_commands`` and ``sync_conflicts``."""

    schema_version = SCHEMA_VERSION

    def __init__(self, db: Database) -> None:
        super().__init__(
            {name: for_sqlite(getattr(commands, name)) for name in commands.STATEMENTS}
        )
        self._conn = db.conn

    def run(self, sql: str, values: dict[str, Any]) -> Any:
        return self._conn.execute(sql, values)

    def instant(self, at: datetime | None) -> Any:
        return format_optional(at)

    def read_instant(self, stored: Any) -> datetime | None:
        return load_optional(stored)

    def json(self, value: Any) -> Any:
        return json.dumps(value, ensure_ascii=False)

    def read_json(self, stored: Any) -> Any:
        return json.loads(stored)
