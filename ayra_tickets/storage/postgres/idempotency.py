"""Idempotency keys on PostgreSQL: what a create with a key made, kept for its retries.

A remembered answer is the ticket's row as it was written (``ticket_row``: the values of
:data:`~.rows.COLUMNS` as JSON, see :func:`~.rows.row_to_json`) and its assignee's name
then, so that a retry answers exactly what the first call answered. The row is ``json``,
kept as written: its objects keep their keys' order.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ...domain.ticket import Ticket
from ..port import Remembered
from .rows import row_from_json, row_to_json, ticket_from_row, ticket_to_row

if TYPE_CHECKING:
    from .adapter import Connections


class IdempotencyStore:
    """The ``idempotency_keys`` table; the caller owns the transaction."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def remembered(self, owner: str, key: str, since: datetime) -> tuple[str, Ticket] | None:
        row = self._connections.conn.execute(
            "SELECT request, ticket_row, assigned_name FROM idempotency_keys"
            " WHERE owner = %s AND key = %s AND created_at >= %s",
            (owner, key, since),
        ).fetchone()
        if row is None:
            return None
        request, ticket_row, assigned_name = row
        return request, _answered(ticket_row, assigned_name)

    def remember(self, owner: str, key: str, request: str, ticket: Ticket, now: datetime) -> None:
        self._connections.conn.execute(
            "INSERT INTO idempotency_keys"
            " (owner, key, request, ticket_row, assigned_name, created_at)"
            " VALUES (%s, %s, %s, %s::json, %s, %s)"
            " ON CONFLICT (owner, key) DO UPDATE SET request = excluded.request,"
            " ticket_row = excluded.ticket_row, assigned_name = excluded.assigned_name,"
            " created_at = excluded.created_at",
            (owner, key, request, row_to_json(ticket_to_row(ticket)), ticket.assigned_name, now),
        )

    def forget_before(self, cutoff: datetime) -> None:
        self._connections.conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at < %s", (cutoff,)
        )

    def stored(self, after: tuple[str, str] | None, limit: int) -> list[Remembered]:
        """Up to ``limit`` remembered answers after ``(owner, key)`` ``after``, in that
        order (by code point, as SQLite orders them)."""
        rows = self._connections.conn.execute(
            "SELECT owner, key, request, ticket_row, assigned_name, created_at"
            ' FROM idempotency_keys WHERE (owner COLLATE "C", key COLLATE "C") > (%s, %s)'
            ' ORDER BY owner COLLATE "C", key COLLATE "C" LIMIT %s',
            (*(after or ("", "")), limit),
        )
        return [
            Remembered(owner, key, request, _answered(ticket_row, name), created_at)
            for owner, key, request, ticket_row, name, created_at in rows
        ]


def _answered(ticket_row: list[object], assigned_name: str | None) -> Ticket:
    """The ticket a remembered answer holds (its row as JSON, and its assignee's name)."""
    return ticket_from_row([*row_from_json(ticket_row), assigned_name])
