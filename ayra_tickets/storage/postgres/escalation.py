"""Escalation on PostgreSQL: the policy (levels per priority, as ``jsonb``), each
ticket's timer (its next due instant, indexed) and the levels that fired. A change of
the policy raises the policies' version (see :mod:`.policies`), so that every other
engine reloads it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from ...domain.escalation import EscalationLevel, Policy, policy_from_dict, policy_to_dict
from ..port import StoredTimer, Timer
from ..tables import stored_timers
from .policies import BUMP_VERSION

if TYPE_CHECKING:
    from .adapter import Connections

_TIMER = "SELECT due_at, version, announced_through FROM escalation_timers WHERE ticket_number = %s"


def _as_is(value: Any) -> Any:
    return value  # psycopg reads timestamptz as aware datetimes already


class EscalationStore:
    """``escalation_policies``, ``escalation_timers`` and ``escalations_fired``; the
    caller owns the transaction."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def put_policy(self, policy: Policy) -> None:
        conn = self._connections.conn
        conn.execute("DELETE FROM escalation_policies")
        for priority, levels in policy_to_dict(policy).items():
            conn.execute(
                "INSERT INTO escalation_policies (priority, levels) VALUES (%s, %s)",
                (int(priority), Jsonb(levels)),
            )
        conn.execute(BUMP_VERSION)

    def load_policy(self) -> dict[int, tuple[EscalationLevel, ...]]:
        rows = self._connections.conn.execute(
            "SELECT priority, levels FROM escalation_policies ORDER BY priority"
        )
        return policy_from_dict({str(p): levels for p, levels in rows})

    def timer(self, number: int) -> Timer | None:
        row = self._connections.conn.execute(_TIMER, (number,)).fetchone()
        return None if row is None else Timer(row[0], row[1], row[2])

    def set_timer(self, number: int, due_at: datetime | None, version: int) -> None:
        self._connections.conn.execute(
            "INSERT INTO escalation_timers (ticket_number, due_at, version) VALUES (%s, %s, %s)"
            " ON CONFLICT (ticket_number) DO UPDATE SET due_at = excluded.due_at,"
            " version = excluded.version",
            (number, due_at, version),
        )

    def announced(self, number: int, through: datetime) -> None:
        self._connections.conn.execute(
            "UPDATE escalation_timers SET announced_through = %s WHERE ticket_number = %s",
            (through, number),
        )

    def due(
        self, now: datetime, after: tuple[datetime, int] | None, limit: int
    ) -> list[tuple[datetime, int]]:
        since, number = (None, 0) if after is None else after
        rows = self._connections.conn.execute(
            "SELECT due_at, ticket_number FROM escalation_timers WHERE due_at <= %s"
            " AND (%s::timestamptz IS NULL OR (due_at, ticket_number) > (%s, %s))"
            " ORDER BY due_at, ticket_number LIMIT %s",
            (now, since, since, number, limit),
        )
        return [(due_at, n) for due_at, n in rows]

    def claim(self, number: int, now: datetime) -> Timer | None:
        # Another transaction holding the row is firing it: skip, do not wait.
        row = self._connections.conn.execute(
            _TIMER + " AND due_at <= %s FOR UPDATE SKIP LOCKED", (number, now)
        ).fetchone()
        return None if row is None else Timer(row[0], row[1], row[2])

    def fired(self, number: int) -> set[tuple[int, int, int]]:
        return {
            (run, priority, level)
            for run, priority, level in self._connections.conn.execute(
                "SELECT run, priority, level FROM escalations_fired WHERE ticket_number = %s",
                (number,),
            )
        }

    def record(self, number: int, run: int, priority: int, level: int, at: datetime) -> None:
        self._connections.conn.execute(
            "INSERT INTO escalations_fired (ticket_number, run, priority, level, fired_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (number, run, priority, level, at),
        )

    def open_numbers(self) -> list[int]:
        return [
            number
            for (number,) in self._connections.conn.execute(
                "SELECT number FROM tickets WHERE status NOT IN ('resolved', 'closed')"
                " ORDER BY number"
            )
        ]

    def stored(self, after: int, limit: int) -> list[StoredTimer]:
        conn = self._connections.conn
        timers = conn.execute(
            "SELECT ticket_number, due_at, version, announced_through FROM escalation_timers"
            " WHERE ticket_number > %s ORDER BY ticket_number LIMIT %s",
            (after, limit),
        ).fetchall()
        if not timers:
            return []
        fired = conn.execute(
            "SELECT ticket_number, run, priority, level, fired_at FROM escalations_fired"
            " WHERE ticket_number > %s AND ticket_number <= %s"
            " ORDER BY ticket_number, run, priority, level",
            (after, timers[-1][0]),
        )
        return stored_timers(timers, fired, _as_is)

    def insert_stored(self, batch: Sequence[StoredTimer]) -> None:
        with self._connections.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO escalation_timers"
                " (ticket_number, due_at, version, announced_through) VALUES (%s, %s, %s, %s)",
                [
                    (e.number, e.timer.due_at, e.timer.version, e.timer.announced_through)
                    for e in batch
                ],
            )
            cursor.executemany(
                "INSERT INTO escalations_fired (ticket_number, run, priority, level, fired_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(e.number, r, p, lv, at) for e in batch for r, p, lv, at in e.fired],
            )
