"""SLA policies, stored by name, and which one new tickets get."""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from ...domain.sla import DEFAULT_POLICY, SlaPolicy
from ...domain.times import format_time, load_time
from ..port import StoredPolicy

_ACTIVE = "sla_policy"


class PolicyStore:
    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def put(self, policy: SlaPolicy, now: datetime) -> None:
        """Store ``policy`` under its name (replacing one of that name) and make it the one
        new tickets get."""
        data = policy.to_dict()
        self._conn.execute(
            "INSERT INTO sla_policies (name, targets, calendar, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET targets = excluded.targets,"
            " calendar = excluded.calendar, updated_at = excluded.updated_at",
            (
                policy.name,
                json.dumps(data["targets"]),
                None if data["calendar"] is None else json.dumps(data["calendar"]),
                format_time(now),
            ),
        )
        self._conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_ACTIVE, policy.name),
        )

    def load(self) -> tuple[dict[str, SlaPolicy], SlaPolicy]:
        """Every stored policy by name, and the active one (the default when none is)."""
        stored, active = self.stored()
        policies = {DEFAULT_POLICY.name: DEFAULT_POLICY}
        policies.update((each.policy.name, each.policy) for each in stored)
        return policies, policies.get(active, DEFAULT_POLICY) if active else DEFAULT_POLICY

    def stored(self) -> tuple[list[StoredPolicy], str | None]:
        """Every stored policy by name, and the name of the active one (if one was set)."""
        stored = [
            StoredPolicy(
                SlaPolicy.from_dict(
                    {
                        "name": name,
                        "targets": json.loads(targets),
                        "calendar": None if calendar is None else json.loads(calendar),
                    }
                ),
                load_time(updated_at),
            )
            for name, targets, calendar, updated_at in self._conn.execute(
                "SELECT name, targets, calendar, updated_at FROM sla_policies ORDER BY name"
            )
        ]
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (_ACTIVE,)).fetchone()
        return stored, None if row is None else str(row[0])
