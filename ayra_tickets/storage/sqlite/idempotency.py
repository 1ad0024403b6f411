"""Idempotency keys in SQLite: what a create with a key made, kept for its retries.

A remembered answer is the ticket's row as it was written (``ticket_row``, the values of
:data:`~.rows.COLUMNS` as a JSON list) and its assignee's name then, so that a retry
answers exactly what the first call answered.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from ...domain.ticket import Ticket
from ...domain.times import format_time, load_time
from ..port import Remembered
from .rows import encode, ticket_from_row, ticket_to_row


class IdempotencyStore:
    """The ``idempotency_keys`` table; the caller owns the transaction."""

    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def remembered(self, owner: str, key: str, since: datetime) -> tuple[str, Ticket] | None:
        """The request fingerprint and the ticket a create by ``owner`` (an API key's id,
        or '' for Python calls) with this idempotency key made, if it was made at
        ``since`` or later. Another owner's use of the same key is not seen."""
        row = self._conn.execute(
            "SELECT request, ticket_row, assigned_name FROM idempotency_keys"
            " WHERE owner = ? AND key = ? AND created_at >= ?",
            (owner, key, format_time(since)),
        ).fetchone()
        if row is None:
            return None
        request, ticket_row, assigned_name = row
        return request, _answered(ticket_row, assigned_name)

    def remember(self, owner: str, key: str, request: str, ticket: Ticket, now: datetime) -> None:
        """Keep what a create by ``owner`` with this idempotency key made (replacing an
        expired use)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO idempotency_keys"
            " (owner, key, request, ticket_row, assigned_name, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (owner, key, request, encode(ticket_to_row(ticket)), ticket.assigned_name,
             format_time(now)),
        )  # fmt: skip

    def forget_before(self, cutoff: datetime) -> None:
        """Forget the keys used before ``cutoff``."""
        self._conn.execute(
            "DELETE FROM idempotency_keys WHERE created_at < ?", (format_time(cutoff),)
        )

    def stored(self, after: tuple[str, str] | None, limit: int) -> list[Remembered]:
        """Up to ``limit`` remembered answers after ``(owner, key)`` ``after``, in that
        order (the primary key's)."""
        rows = self._conn.execute(
            "SELECT owner, key, request, ticket_row, assigned_name, created_at"
            " FROM idempotency_keys WHERE (owner, key) > (?, ?) ORDER BY owner, key LIMIT ?",
            (*(after or ("", "")), limit),
        )
        return [
            Remembered(owner, key, request, _answered(ticket_row, name), load_time(created_at))
            for owner, key, request, ticket_row, name, created_at in rows
        ]


def _answered(ticket_row: str, assigned_name: str | None) -> Ticket:
    """The ticket a remembered answer holds (its row as JSON, and its assignee's name)."""
    return ticket_from_row([*json.loads(ticket_row), assigned_name])
