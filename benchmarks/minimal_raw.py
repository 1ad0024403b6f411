"""The limit of a write: the least a ticket store can do in SQL, through raw ``sqlite3``.

A ticket row and one event row, on the ORM peer's tables (one ``tickets`` table with the
same three indexes, one ``ticket_events`` table), each create, update or close one
transaction, statements prepared once. No validation, no lifecycle, no SLA, no search
index: what the issue calls the minimal raw store, the floor under every side's cost.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.orm_peer import OrmPeer, Ticket, _payload, _values

COLUMNS = [column.name for column in Ticket.__table__.columns if column.name != "number"]


def _sql(value: Any) -> Any:
    """A value as the peer's columns hold it: times as naive UTC text, objects as JSON."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


class MinimalRaw:
    """Creates, updates and closes as two statements and a commit each."""

    INSERT = (
        f"INSERT INTO tickets ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    )
    EVENT = "INSERT INTO ticket_events (ticket_id, type, payload, created_at) VALUES (?, ?, ?, ?)"
    CHANGE = (
        "UPDATE tickets SET status = ?, priority = ?, assigned_to = ?, updated_at = ?,"
        " version = version + 1 WHERE id = ?"
    )
    CLOSE = (
        "UPDATE tickets SET status = 'closed', closed_at = ?, resolution_note = ?,"
        " customer_satisfaction = ?, updated_at = ?, version = version + 1 WHERE id = ?"
    )

    def __init__(self, path: Path, now: datetime) -> None:
        OrmPeer(path).dispose()  # the peer's tables and indexes, nothing more
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.now = now

    def create(self, body: Mapping[str, Any]) -> str:
        values = _values(body, self.now)
        row = [_sql(values.get("metadata_" if name == "metadata" else name)) for name in COLUMNS]
        conn = self.conn
        conn.execute("BEGIN")
        conn.execute(self.INSERT, row)
        created = _sql(values["created_at"])
        conn.execute(self.EVENT, (values["id"], "created", json.dumps(_payload(body)), created))
        conn.execute("COMMIT")
        return str(values["id"])

    def update(self, ticket_id: str, fields: Mapping[str, Any]) -> None:
        at = _sql(self.now)
        conn = self.conn
        conn.execute("BEGIN")
        conn.execute(
            self.CHANGE,
            (fields["status"], fields["priority"], fields["assigned_to"], at, ticket_id),
        )
        conn.execute(self.EVENT, (ticket_id, "updated", json.dumps(dict(fields)), at))
        conn.execute("COMMIT")

    def close(self, ticket_id: str, fields: Mapping[str, Any]) -> None:
        at = _sql(self.now)
        conn = self.conn
        conn.execute("BEGIN")
        conn.execute(
            self.CLOSE,
            (at, fields["resolution_note"], fields["customer_satisfaction"], at, ticket_id),
        )
        conn.execute(self.EVENT, (ticket_id, "closed", json.dumps(dict(fields)), at))
        conn.execute("COMMIT")

    def close_connection(self) -> None:
        self.conn.close()
