"""Escalation in SQLite: the policy (levels per priority, as JSON), each ticket's timer
(its next due instant, indexed) and the levels that fired."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlite_utils import Database

from ...domain.escalation import EscalationLevel, Policy, policy_from_dict, policy_to_dict
from ...domain.times import format_optional, format_time, load_optional, load_time
from ..port import StoredTimer, Timer
from ..tables import stored_timers


class EscalationStore:
    """``escalation_policies``, ``escalation_timers`` and ``escalations_fired``; the
    caller owns the transaction."""

    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def put_policy(self, policy: Policy) -> None:
        self._conn.execute("DELETE FROM escalation_policies")
        self._conn.executemany(
            "INSERT INTO escalation_policies (priority, levels) VALUES (?, ?)",
            [(int(p), json.dumps(levels)) for p, levels in policy_to_dict(policy).items()],
        )

    def load_policy(self) -> dict[int, tuple[EscalationLevel, ...]]:
        rows = self._conn.execute(
            "SELECT priority, levels FROM escalation_policies ORDER BY priority"
        )
        return policy_from_dict({str(p): json.loads(levels) for p, levels in rows})

    def timer(self, number: int) -> Timer | None:
        row = self._conn.execute(
            "SELECT due_at, version, announced_through FROM escalation_timers"
            " WHERE ticket_number = ?",
            (number,),
        ).fetchone()
        return None if row is None else Timer(load_optional(row[0]), row[1], load_optional(row[2]))

    def set_timer(self, number: int, due_at: datetime | None, version: int) -> None:
        self._conn.execute(
            "INSERT INTO escalation_timers (ticket_number, due_at, version) VALUES (?, ?, ?)"
            " ON CONFLICT (ticket_number) DO UPDATE SET due_at = excluded.due_at,"
            " version = excluded.version",
            (number, format_optional(due_at), version),
        )

    def announced(self, number: int, through: datetime) -> None:
        self._conn.execute(
            "UPDATE escalation_timers SET announced_through = ? WHERE ticket_number = ?",
            (format_time(through), number),
        )

    def due(
        self, now: datetime, after: tuple[datetime, int] | None, limit: int
    ) -> list[tuple[datetime, int]]:
        since, number = (None, 0) if after is None else (format_time(after[0]), after[1])
        rows = self._conn.execute(
            "SELECT due_at, ticket_number FROM escalation_timers WHERE due_at <= ?"
            " AND (? IS NULL OR (due_at, ticket_number) > (?, ?))"
            " ORDER BY due_at, ticket_number LIMIT ?",
            (format_time(now), since, since, number, limit),
        )
        return [(load_time(due_at), n) for due_at, n in rows]

    def claim(self, number: int, now: datetime) -> Timer | None:
        # A write transaction holds the file's write lock: no other can hold the row.
        timer = self.timer(number)
        if timer is None or timer.due_at is None or timer.due_at > now:
            return None
        return timer

    def fired(self, number: int) -> set[tuple[int, int, int]]:
        return {
            (run, priority, level)
            for run, priority, level in self._conn.execute(
                "SELECT run, priority, level FROM escalations_fired WHERE ticket_number = ?",
                (number,),
            )
        }

    def record(self, number: int, run: int, priority: int, level: int, at: datetime) -> None:
        self._conn.execute(
            "INSERT INTO escalations_fired (ticket_number, run, priority, level, fired_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (number, run, priority, level, format_time(at)),
        )

    def open_numbers(self) -> list[int]:
        return [
            number
            for (number,) in self._conn.execute(
                "SELECT number FROM tickets WHERE status NOT IN ('resolved', 'closed')"
                " ORDER BY number"
            )
        ]

    def stored(self, after: int, limit: int) -> list[StoredTimer]:
        timers = self._conn.execute(
            "SELECT ticket_number, due_at, version, announced_through FROM escalation_timers"
            " WHERE ticket_number > ? ORDER BY ticket_number LIMIT ?",
            (after, limit),
        ).fetchall()
        if not timers:
            return []
        fired = self._conn.execute(
            "SELECT ticket_number, run, priority, level, fired_at FROM escalations_fired"
            " WHERE ticket_number > ? AND ticket_number <= ?"
            " ORDER BY ticket_number, run, priority, level",
            (after, timers[-1][0]),
        )
        return stored_timers(timers, fired, load_optional)

    def insert_stored(self, batch: Sequence[StoredTimer]) -> None:
        self._conn.executemany(
            "INSERT INTO escalation_timers (ticket_number, due_at, version, announced_through)"
            " VALUES (?, ?, ?, ?)",
            [
                (
                    each.number,
                    format_optional(each.timer.due_at),
                    each.timer.version,
                    format_optional(each.timer.announced_through),
                )
                for each in batch
            ],
        )
        self._conn.executemany(
            "INSERT INTO escalations_fired (ticket_number, run, priority, level, fired_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (each.number, r, p, lv, format_time(at))
                for each in batch
                for r, p, lv, at in each.fired
            ],
        )
