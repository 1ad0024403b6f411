"""SLA policies on PostgreSQL, stored by name, which one new tickets get, and a version
that every change of them raises (what :meth:`~.adapter.PostgresStorage.changed` reads)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

from ...domain.sla import DEFAULT_POLICY, SlaPolicy
from ..port import StoredPolicy

if TYPE_CHECKING:
    from .adapter import Connections

ACTIVE = "sla_policy"
"""The ``settings`` row naming the policy new tickets get."""
VERSION = "policies_version"
"""The ``settings`` row counting changes of the policies (a reset is one): one process
knows that another changed them when it reads a number it has not seen."""

READ_SETTING = "SELECT value FROM settings WHERE key = %s"
BUMP_VERSION = (
    "INSERT INTO settings (key, value) VALUES ('policies_version', '1')"
    " ON CONFLICT (key) DO UPDATE SET value = (settings.value::bigint + 1)::text"
)


class PolicyStore:
    """The ``sla_policies`` table; the caller owns the transaction."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def put(self, policy: SlaPolicy, now: datetime) -> None:
        """Store ``policy`` under its name and make it the one new tickets get."""
        conn = self._connections.conn
        data = policy.to_dict()
        conn.execute(
            "INSERT INTO sla_policies (name, targets, calendar, updated_at)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET targets = excluded.targets,"
            " calendar = excluded.calendar, updated_at = excluded.updated_at",
            (
                policy.name,
                Jsonb(data["targets"]),
                None if data["calendar"] is None else Jsonb(data["calendar"]),
                now,
            ),
        )
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (ACTIVE, policy.name),
        )
        conn.execute(BUMP_VERSION)

    def load(self) -> tuple[dict[str, SlaPolicy], SlaPolicy]:
        """Every stored policy by name, and the active one (the default when none is)."""
        stored, active = self.stored()
        policies = {DEFAULT_POLICY.name: DEFAULT_POLICY}
        policies.update((each.policy.name, each.policy) for each in stored)
        return policies, policies.get(active, DEFAULT_POLICY) if active else DEFAULT_POLICY

    def stored(self) -> tuple[list[StoredPolicy], str | None]:
        """Every stored policy by name, and the name of the active one (if one was set)."""
        conn = self._connections.conn
        stored = [
            StoredPolicy(
                SlaPolicy.from_dict({"name": name, "targets": targets, "calendar": calendar}),
                updated_at,
            )
            for name, targets, calendar, updated_at in conn.execute(
                'SELECT name, targets, calendar, updated_at FROM sla_policies ORDER BY name COLLATE "C"'
            )
        ]
        row = conn.execute(READ_SETTING, (ACTIVE,)).fetchone()
        return stored, None if row is None else str(row[0])

    def version(self) -> int:
        """How many times the policies have changed (0: never)."""
        row = self._connections.conn.execute(READ_SETTING, (VERSION,)).fetchone()
        return 0 if row is None else int(row[0])
