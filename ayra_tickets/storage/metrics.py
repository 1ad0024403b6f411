"""The support figures of :mod:`ayra_tickets.domain.metrics`, computed by SQLite.

Every figure is one statement over the tickets that match the filters (the ``chosen``
common table) and their events; durations come from ``unixepoch`` on the stored RFC 3339
times, and medians and percentiles by nearest rank over ``ROW_NUMBER()``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from ..domain.metrics import AgentRow, Bucket, Compliance, Durations, Metrics, Satisfaction
from ..domain.sla import Calendar
from ..domain.times import format_time, load_time
from ..domain.validation import ListQuery
from .tickets import _where

# A status event that resolves its ticket: a move to resolved, or a close of a ticket
# that was not resolved (closing resolves it).
_RESOLVES = (
    "e.field = 'status' AND (json_extract(e.new_value, '$') = 'resolved'"
    " OR (e.type = 'closed' AND json_extract(e.old_value, '$') != 'resolved'))"
)
_CLOSES = "e.type = 'closed'"
_IN_WINDOW = "e.created_at >= :start AND e.created_at < :end"

_SUMMARY = """
WITH d AS ({values}),
r AS (SELECT s, ROW_NUMBER() OVER (ORDER BY s) AS k, COUNT(*) OVER () AS n FROM d)
SELECT COUNT(*), AVG(s),
       MIN(CASE WHEN k = (n + 1) / 2 THEN s END),
       MIN(CASE WHEN k = (9 * n + 9) / 10 THEN s END)
FROM r
"""


class MetricsStore:
    """Reads the support figures; the caller owns the transaction."""

    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def figures(
        self,
        query: ListQuery,
        start: datetime,
        end: datetime,
        interval: str,
        now: datetime,
        calendars: Callable[[str], Calendar],
    ) -> Metrics:
        where, params = _where(query, now)
        named = {f"p{i}": value for i, value in enumerate(params)}
        for i in range(len(params)):  # positional filters as named, beside the window's
            where = where.replace("?", f":p{i}", 1)
        chosen = f"chosen AS (SELECT t.* FROM tickets t{where})"
        args: dict[str, Any] = {
            **named, "start": format_time(start), "end": format_time(end), "now": format_time(now),
        }  # fmt: skip

        def rows(sql: str) -> list[Any]:
            return self._conn.execute(f"WITH {chosen} {sql}", args).fetchall()

        def summary(values: str) -> Durations:
            sql = _SUMMARY.format(values=values).replace("WITH d AS", ", d AS", 1)
            ((count, mean, median, p90),) = rows(sql)
            return Durations(count, mean, median, p90)

        created_in = "c.created_at >= :start AND c.created_at < :end"
        events = "FROM ticket_events e JOIN chosen c ON c.number = e.ticket_number"
        bucket = _bucket_sql(interval)
        counts: dict[str, dict[str, int]] = {}
        for name, sql in (
            ("created", f"SELECT {bucket.format('c.created_at')}, COUNT(*) FROM chosen c WHERE {created_in} GROUP BY 1"),
            ("resolved", f"SELECT {bucket.format('e.created_at')}, COUNT(*) {events} WHERE {_IN_WINDOW} AND {_RESOLVES} GROUP BY 1"),
            ("closed", f"SELECT {bucket.format('e.created_at')}, COUNT(*) {events} WHERE {_IN_WINDOW} AND {_CLOSES} GROUP BY 1"),
        ):  # fmt: skip
            for day, count in rows(sql):
                counts.setdefault(day, {})[name] = count
        volume = [
            Bucket(first, **{k: counts.get(first.date().isoformat(), {}).get(k, 0) for k in ("created", "resolved", "closed")})
            for first in buckets(start, end, interval)
        ]  # fmt: skip

        def business(policy: str, began: str, ended: str) -> int:
            return calendars(policy).seconds_between(load_time(began), load_time(ended))

        self._conn.create_function("business_seconds", 3, business, deterministic=True)
        first_response_business = summary(
            "SELECT business_seconds(c.sla_policy, c.created_at, c.first_response_at) AS s"
            f" FROM chosen c WHERE {created_in} AND c.first_response_at IS NOT NULL"
        )
        resolution_business = summary(
            f"SELECT business_seconds(c.sla_policy, c.created_at, e.created_at) AS s {events}"
            f" WHERE {_IN_WINDOW} AND {_RESOLVES}"
        )
        first_response = summary(
            "SELECT unixepoch(c.first_response_at) - unixepoch(c.created_at) AS s FROM chosen c"
            f" WHERE {created_in} AND c.first_response_at IS NOT NULL"
        )
        resolution = summary(
            f"SELECT unixepoch(e.created_at) - unixepoch(c.created_at) AS s {events}"
            f" WHERE {_IN_WINDOW} AND {_RESOLVES}"
        )
        sla = {
            priority: Compliance(*outcomes)
            for priority, *outcomes in rows(
                "SELECT c.priority,"
                " COUNT(*) FILTER (WHERE c.sla_response_met = 1),"
                " COUNT(*) FILTER (WHERE c.sla_response_met = 0 OR (c.sla_response_met IS NULL"
                "     AND c.sla_response_due_at < :now)),"
                " COUNT(*) FILTER (WHERE c.sla_resolution_met = 1),"
                " COUNT(*) FILTER (WHERE c.sla_resolution_met = 0)"
                f" FROM chosen c WHERE {created_in} GROUP BY c.priority ORDER BY c.priority"
            )
        }
        closed = (
            f"SELECT DISTINCT c.number, c.customer_satisfaction AS score, c.assigned_to,"
            f" c.root_cause, c.category {events} WHERE {_IN_WINDOW} AND {_CLOSES}"
        )

        def satisfaction(group: str | None) -> dict[Any, Satisfaction]:
            key = group or "NULL"
            found: dict[Any, dict[int, int]] = {}
            for name, score, count in rows(
                f", closed AS ({closed}) SELECT {key}, score, COUNT(*) FROM closed"
                " WHERE score IS NOT NULL GROUP BY 1, 2"
            ):
                found.setdefault(name, {})[score] = count
            return {name: _satisfaction(scores) for name, scores in found.items()}

        overall = satisfaction(None).get(None, _satisfaction({}))
        ((resolved_tickets, reopened),) = rows(
            f", resolved AS (SELECT DISTINCT c.number, c.reopened_count {events}"
            f" WHERE {_IN_WINDOW} AND {_RESOLVES})"
            " SELECT COUNT(*), COUNT(*) FILTER (WHERE reopened_count > 0) FROM resolved"
        )
        root_causes = dict(
            rows(f", closed AS ({closed}) SELECT root_cause, COUNT(*) FROM closed GROUP BY 1")
        )
        # Each ticket's stretches in a status: from its creation (in the status it was
        # created with) or a status event, to the next one or to now; clipped to the window.
        stretches = (
            ", moves AS (SELECT e.ticket_number AS number, e.id AS id, e.created_at AS at,"
            " CASE WHEN e.type = 'created' THEN json_extract(e.data, '$.status')"
            " ELSE json_extract(e.new_value, '$') END AS status"
            f" {events} WHERE e.type = 'created' OR e.field = 'status'),"
            " spans AS (SELECT status, at AS began, COALESCE(LEAD(at) OVER"
            " (PARTITION BY number ORDER BY id), :now) AS ended FROM moves)"
            " SELECT status,"
            " SUM(unixepoch(MIN(ended, :end, :now)) - unixepoch(MAX(began, :start)))"
            " FROM spans WHERE began < MIN(:end, :now) AND ended > :start GROUP BY status"
        )
        time_in_status = {status: int(seconds) for status, seconds in rows(stretches) if seconds}
        agents = _agents(rows, created_in, events, closed)
        return Metrics(
            start=start,
            end=end,
            interval=interval,
            volume=volume,
            first_response=first_response,
            resolution=resolution,
            first_response_business=first_response_business,
            resolution_business=resolution_business,
            sla=sla,
            csat=overall,
            csat_by_agent=satisfaction("assigned_to"),
            csat_by_root_cause=satisfaction("root_cause"),
            csat_by_category=satisfaction("category"),
            reopen_rate=reopened / resolved_tickets if resolved_tickets else None,
            root_causes=root_causes,
            time_in_status=time_in_status,
            agents=agents,
        )

    def backlog(self, query: ListQuery, at: datetime, now: datetime) -> dict[str, dict[int, int]]:
        """Tickets by status and priority as they stood at ``at`` (the filters match them
        as they are now), from the event log."""
        where, params = _where(query, now)
        latest = (
            "(SELECT json_extract(e.new_value, '$') FROM ticket_events e"
            " WHERE e.ticket_number = b.number AND e.field = '{0}' AND e.created_at <= ?"
            " ORDER BY e.id DESC LIMIT 1)"
        )
        sql = (
            f"WITH chosen AS (SELECT t.number FROM tickets t{where}),"
            " born AS (SELECT e.ticket_number AS number, e.data FROM ticket_events e"
            " JOIN chosen c ON c.number = e.ticket_number"
            " WHERE e.type = 'created' AND e.created_at <= ?),"
            f" state AS (SELECT COALESCE({latest.format('status')},"
            " json_extract(b.data, '$.status')) AS status,"
            f" COALESCE({latest.format('priority')}, json_extract(b.data, '$.priority'))"
            " AS priority FROM born b)"
            " SELECT status, priority, COUNT(*) FROM state GROUP BY 1, 2 ORDER BY 1, 2"
        )
        moment = format_time(at)
        found: dict[str, dict[int, int]] = {}
        for status, priority, count in self._conn.execute(sql, [*params, moment, moment, moment]):
            found.setdefault(status, {})[int(priority)] = count
        return found


def _agents(rows: Any, created_in: str, events: str, closed: str) -> list[AgentRow]:
    """The agent table: one statement per column, grouped by assignee."""
    median = (
        ", r AS (SELECT agent, s, ROW_NUMBER() OVER (PARTITION BY agent ORDER BY s) AS k,"
        " COUNT(*) OVER (PARTITION BY agent) AS n FROM d)"
        " SELECT agent, MIN(CASE WHEN k = (n + 1) / 2 THEN s END) FROM r GROUP BY agent"
    )
    columns: dict[str, dict[Any, Any]] = {
        "assigned": dict(rows(
            f"SELECT c.assigned_to, COUNT(*) FROM chosen c WHERE {created_in} GROUP BY 1"
        )),
        "resolved": dict(rows(
            f"SELECT c.assigned_to, COUNT(*) {events} WHERE {_IN_WINDOW} AND {_RESOLVES}"
            " GROUP BY 1"
        )),
        "first_response_median": dict(rows(
            ", d AS (SELECT c.assigned_to AS agent, unixepoch(c.first_response_at)"
            " - unixepoch(c.created_at) AS s FROM chosen c"
            f" WHERE {created_in} AND c.first_response_at IS NOT NULL)" + median
        )),
        "resolution_median": dict(rows(
            ", d AS (SELECT c.assigned_to AS agent, unixepoch(e.created_at)"
            f" - unixepoch(c.created_at) AS s {events} WHERE {_IN_WINDOW} AND {_RESOLVES})"
            + median
        )),
        "csat_mean": dict(rows(
            f", closed AS ({closed}) SELECT assigned_to, AVG(score) FROM closed"
            " WHERE score IS NOT NULL GROUP BY 1"
        )),
        "breaches": dict(rows(
            f"SELECT c.assigned_to, COUNT(*) FROM chosen c WHERE {created_in}"
            " AND c.sla_breach_at <= :now GROUP BY 1"
        )),
    }  # fmt: skip
    agents: set[Any] = set().union(*(column.keys() for column in columns.values()))
    return [
        AgentRow(
            agent=agent,
            assigned=columns["assigned"].get(agent, 0),
            resolved=columns["resolved"].get(agent, 0),
            first_response_median=columns["first_response_median"].get(agent),
            resolution_median=columns["resolution_median"].get(agent),
            csat_mean=columns["csat_mean"].get(agent),
            breaches=columns["breaches"].get(agent, 0),
        )
        for agent in sorted(agents, key=lambda name: (name is None, name or ""))
    ]


def _satisfaction(scores: dict[int, int]) -> Satisfaction:
    count = sum(scores.values())
    mean = sum(score * n for score, n in scores.items()) / count if count else None
    return Satisfaction(count, mean, {score: scores.get(score, 0) for score in range(1, 11)})


def _bucket_sql(interval: str) -> str:
    """SQL giving the first day (UTC) of the bucket a time falls in."""
    if interval == "day":
        return "substr({0}, 1, 10)"
    return "date({0}, 'weekday 0', '-6 days')"  # the Monday of its week


def buckets(start: datetime, end: datetime, interval: str) -> list[datetime]:
    """The first instants (UTC midnights; Mondays for weeks) of the buckets that
    ``[start, end)`` touches."""
    first = load_time(format_time(start)[:10] + "T00:00:00Z")
    if interval == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=1 if interval == "day" else 7)
    found = []
    while first < end:
        found.append(first)
        first += step
    return found
