"""Routing in SQLite: the agents' routing fields, the rules, the round-robin turns and
the group queues (migration 15). The caller owns the transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from ...domain.routing import Agent, RoutingRule
from ..port import StoredRouting
from ..tables import AGENT_COLUMNS, OPEN_LOADS, QUEUED, agent_of
from .rows import dumps


def agent_from_row(row: Sequence[Any]) -> Agent:
    """An agent from (id, name, groups, skills, capacity, calendar, available)."""
    return agent_of(row, json.loads)


def agent_to_row(agent: Agent) -> tuple[Any, ...]:
    """The row of an agent, in the order of :data:`AGENT_COLUMNS`."""
    calendar = None if agent.calendar is None else dumps(agent.calendar.to_dict())
    return (
        agent.id,
        agent.name,
        dumps(list(agent.groups)),
        dumps(list(agent.skills)),
        agent.capacity,
        calendar,
        int(agent.available),
    )


class AgentRecords:
    """Agents with every field (``agents``)."""

    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def put_agent(self, agent: Agent) -> None:
        self._conn.execute(
            f"INSERT OR REPLACE INTO agents ({AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            agent_to_row(agent),
        )

    def get_agent(self, agent_id: str) -> Agent | None:
        row = self._conn.execute(
            f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,)
        ).fetchone()
        return None if row is None else agent_from_row(row)

    def agents(self) -> list[Agent]:
        rows = self._conn.execute(f"SELECT {AGENT_COLUMNS} FROM agents ORDER BY id")
        return [agent_from_row(row) for row in rows]


class RoutingStore:
    """The rules (``routing_rules``), the turns (``routing_turns``) and the queues
    (``routing_queue``)."""

    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def rules(self) -> list[RoutingRule]:
        rows = self._conn.execute("SELECT rule FROM routing_rules ORDER BY position")
        return [RoutingRule.from_dict(json.loads(rule)) for (rule,) in rows]

    def set_rules(self, rules: Sequence[RoutingRule]) -> None:
        self._conn.execute("DELETE FROM routing_rules")
        self._conn.executemany(
            "INSERT INTO routing_rules (position, name, rule) VALUES (?, ?, ?)",
            [(n, rule.name, dumps(rule.to_dict())) for n, rule in enumerate(rules)],
        )

    def loads(self, agent_ids: Sequence[str]) -> dict[str, int]:
        if not agent_ids:
            return {}
        marks = ", ".join("?" for _ in agent_ids)
        rows = self._conn.execute(OPEN_LOADS.format(among=f"IN ({marks})"), tuple(agent_ids))
        return {agent: int(count) for agent, count in rows}

    def last_turn(self, group: str, rule: str) -> str | None:
        row = self._conn.execute(
            "SELECT last_agent FROM routing_turns WHERE grp = ? AND rule = ?", (group, rule)
        ).fetchone()
        return None if row is None else str(row[0])

    def took_turn(self, group: str, rule: str, agent: str) -> None:
        self._conn.executemany(
            "INSERT INTO routing_turns (grp, rule, last_agent) VALUES (?, ?, ?)"
            " ON CONFLICT (grp, rule) DO UPDATE SET last_agent = excluded.last_agent",
            dict.fromkeys([(group, rule, agent), (group, "", agent)]),
        )

    def enqueue(self, number: int, group: str, rule: str | None) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO routing_queue (ticket_number, grp, rule) VALUES (?, ?, ?)",
            (number, group, rule),
        )

    def dequeue(self, number: int) -> None:
        self._conn.execute("DELETE FROM routing_queue WHERE ticket_number = ?", (number,))

    def queued(self, groups: Sequence[str] | None = None) -> list[tuple[int, str, str | None]]:
        if groups is None:
            rows = self._conn.execute(QUEUED.format(where=""))
        elif not groups:
            return []
        else:
            marks = ", ".join("?" for _ in groups)
            rows = self._conn.execute(
                QUEUED.format(where=f" WHERE q.grp IN ({marks})"), tuple(groups)
            )
        return [(int(number), group, rule) for number, group, rule in rows]

    def stored(self) -> StoredRouting:
        turns = self._conn.execute(
            "SELECT grp, rule, last_agent FROM routing_turns ORDER BY grp, rule"
        ).fetchall()
        queued = self._conn.execute(
            "SELECT ticket_number, grp, rule FROM routing_queue ORDER BY ticket_number"
        ).fetchall()
        return StoredRouting(
            tuple(self.rules()), tuple(map(tuple, turns)), tuple(map(tuple, queued))
        )

    def insert_stored(self, stored: StoredRouting) -> None:
        self.set_rules(stored.rules)
        self._conn.executemany(
            "INSERT INTO routing_turns (grp, rule, last_agent) VALUES (?, ?, ?)", stored.turns
        )
        self._conn.executemany(
            "INSERT INTO routing_queue (ticket_number, grp, rule) VALUES (?, ?, ?)",
            stored.queued,
        )
