"""Routing on PostgreSQL: the agents' routing fields, the rules, the round-robin turns
and the group queues (migration 15), as on SQLite. A change of the rules or of an agent
raises the version that :meth:`~.adapter.PostgresStorage.changed` reads, so that every
engine on the database reloads what it caches of them. The caller owns the
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from ...domain.routing import Agent, RoutingRule
from ..port import StoredRouting
from ..tables import AGENT_COLUMNS, OPEN_LOADS, QUEUED, agent_of
from .policies import BUMP_VERSION

if TYPE_CHECKING:
    from .adapter import Connections


def _as_read(value: Any) -> Any:
    return value  # psycopg reads arrays and jsonb as Python values already


def agent_from_row(row: Sequence[Any]) -> Agent:
    """An agent from (id, name, groups, skills, capacity, calendar, available)."""
    return agent_of(row, _as_read)


class AgentRecords:
    """Agents with every field (``agents``)."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def _run(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self._connections.conn.execute(sql, tuple(params))

    def put_agent(self, agent: Agent) -> None:
        calendar = None if agent.calendar is None else Jsonb(agent.calendar.to_dict())
        self._run(
            f"INSERT INTO agents ({AGENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, groups = excluded.groups,"
            " skills = excluded.skills, capacity = excluded.capacity,"
            " calendar = excluded.calendar, available = excluded.available",
            (
                agent.id,
                agent.name,
                list(agent.groups),
                list(agent.skills),
                agent.capacity,
                calendar,
                agent.available,
            ),
        )
        self._run(BUMP_VERSION)  # every engine reloads its cached directory

    def get_agent(self, agent_id: str) -> Agent | None:
        if "\x00" in agent_id:  # no text column holds a NUL
            return None
        row = self._run(f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = %s", (agent_id,))
        found = row.fetchone()
        return None if found is None else agent_from_row(found)

    def agents(self) -> list[Agent]:
        # In code point order, as SQLite's: not the database's collation.
        rows = self._run(f'SELECT {AGENT_COLUMNS} FROM agents ORDER BY id COLLATE "C"')
        return [agent_from_row(row) for row in rows]


class RoutingStore:
    """The rules (``routing_rules``), the turns (``routing_turns``) and the queues
    (``routing_queue``)."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def _run(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self._connections.conn.execute(sql, tuple(params))

    def rules(self) -> list[RoutingRule]:
        rows = self._run("SELECT rule FROM routing_rules ORDER BY position")
        return [RoutingRule.from_dict(rule) for (rule,) in rows]

    def set_rules(self, rules: Sequence[RoutingRule]) -> None:
        self._run("DELETE FROM routing_rules")
        with self._connections.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO routing_rules (position, name, rule) VALUES (%s, %s, %s)",
                [(n, rule.name, Jsonb(rule.to_dict())) for n, rule in enumerate(rules)],
            )
        self._run(BUMP_VERSION)

    def loads(self, agent_ids: Sequence[str]) -> dict[str, int]:
        if not agent_ids:
            return {}
        return {
            agent: int(count)
            for agent, count in self._run(OPEN_LOADS.format(among="= ANY(%s)"), (list(agent_ids),))
        }

    def last_turn(self, group: str, rule: str) -> str | None:
        row = self._run(
            "SELECT last_agent FROM routing_turns WHERE grp = %s AND rule = %s", (group, rule)
        ).fetchone()
        return None if row is None else str(row[0])

    def took_turn(self, group: str, rule: str, agent: str) -> None:
        with self._connections.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO routing_turns (grp, rule, last_agent) VALUES (%s, %s, %s)"
                " ON CONFLICT (grp, rule) DO UPDATE SET last_agent = excluded.last_agent",
                list(dict.fromkeys([(group, rule, agent), (group, "", agent)])),
            )

    def enqueue(self, number: int, group: str, rule: str | None) -> None:
        self._run(
            "INSERT INTO routing_queue (ticket_number, grp, rule) VALUES (%s, %s, %s)"
            " ON CONFLICT (ticket_number) DO UPDATE SET grp = excluded.grp, rule = excluded.rule",
            (number, group, rule),
        )

    def dequeue(self, number: int) -> None:
        self._run("DELETE FROM routing_queue WHERE ticket_number = %s", (number,))

    def queued(self, groups: Sequence[str] | None = None) -> list[tuple[int, str, str | None]]:
        if groups is None:
            rows = self._run(QUEUED.format(where=""))
        elif not groups:
            return []
        else:
            rows = self._run(QUEUED.format(where=" WHERE q.grp = ANY(%s)"), (list(groups),))
        return [(int(number), group, rule) for number, group, rule in rows]

    def stored(self) -> StoredRouting:
        turns = self._run(
            'SELECT grp, rule, last_agent FROM routing_turns ORDER BY grp COLLATE "C", rule COLLATE "C"'
        ).fetchall()
        queued = self._run(
            "SELECT ticket_number, grp, rule FROM routing_queue ORDER BY ticket_number"
        ).fetchall()
        return StoredRouting(
            tuple(self.rules()),
            tuple(tuple(row) for row in turns),
            tuple((int(n), g, r) for n, g, r in queued),
        )

    def insert_stored(self, stored: StoredRouting) -> None:
        self.set_rules(stored.rules)
        with self._connections.conn.cursor() as cursor:
            if stored.turns:
                cursor.executemany(
                    "INSERT INTO routing_turns (grp, rule, last_agent) VALUES (%s, %s, %s)",
                    list(stored.turns),
                )
            if stored.queued:
                cursor.executemany(
                    "INSERT INTO routing_queue (ticket_number, grp, rule) VALUES (%s, %s, %s)",
                    list(stored.queued),
                )
