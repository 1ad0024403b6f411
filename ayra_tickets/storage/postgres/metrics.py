"""The support figures of :mod:`ayra_tickets.domain.metrics`, computed by PostgreSQL.

The same figures, from the same tables, as on SQLite (``storage/sqlite/metrics.py``):
what happened to tickets over time (resolutions, closes, the statuses they were in) from
``ticket_states``, what the tickets are now (agent, SLA outcomes, first response, CSAT)
from ``tickets``, over the tickets that match the filters (the ``chosen`` common table).
Durations are whole seconds between instants; medians and 90th percentiles are nearest
ranks over ``row_number()`` (integer arithmetic, as :meth:`Durations.of`), and a mean is
a sum over a count, divided in Python (as :meth:`Durations.of` divides). Business time
under a policy whose calendar does not count every second is worked out by that
calendar, in Python, from the instants the database returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.metrics import Durations, Metrics, Tally
from ...domain.sla import Calendar
from ...domain.validation import ListQuery
from .query import where_clause

if TYPE_CHECKING:
    from .adapter import Connections

_SECONDS = "extract(epoch FROM {0} - {1})::bigint"
_DAY = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

_SUMMARY = """
, d AS ({values}),
r AS (SELECT s, row_number() OVER (ORDER BY s) AS k, count(*) OVER () AS n FROM d)
SELECT count(*), sum(s),
       min(s) FILTER (WHERE k = (n + 1) / 2),
       min(s) FILTER (WHERE k = (9 * n + 9) / 10)
FROM r
"""

_MEDIAN_BY_AGENT = (
    ", r AS (SELECT agent, s, row_number() OVER (PARTITION BY agent ORDER BY s) AS k,"
    " count(*) OVER (PARTITION BY agent) AS n FROM d)"
    " SELECT agent, min(s) FILTER (WHERE k = (n + 1) / 2) FROM r GROUP BY agent"
)


def _named(where: str, params: list[Any]) -> tuple[str, dict[str, Any]]:
    """A WHERE clause's positional parameters as named ones (``p0``, ``p1``, ...)."""
    named: dict[str, Any] = {}
    for i, value in enumerate(params):
        where = where.replace("%s", f"%(p{i})s", 1)
        named[f"p{i}"] = value
    return where, named


class MetricsStore:
    """Reads the support figures; the caller owns the transaction."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def figures(
        self,
        query: ListQuery,
        start: datetime,
        end: datetime,
        interval: str,
        now: datetime,
        calendars: Callable[[str], Calendar],
        office_hours: Sequence[str] = (),
    ) -> Metrics:
        """The figures of ``[start, end)``; ``calendars`` gives each SLA policy's
        calendar, and ``office_hours`` names the policies whose calendar does not count
        every second."""
        conn = self._connections.conn
        where, named = _named(*where_clause(query, now))
        chosen = f"chosen AS (SELECT t.* FROM tickets t{where})"
        of_chosen = (
            f" AND s.ticket_number IN (SELECT t.number FROM tickets t{where})" if where else ""
        )
        args: dict[str, Any] = {**named, "start": start, "end": end, "now": now}

        def rows(sql: str) -> list[Any]:
            return conn.execute(f"WITH {chosen} {sql}", args).fetchall()

        def summary(values: str) -> Durations:
            ((count, total, median, p90),) = rows(_SUMMARY.format(values=values))
            return Durations(count, int(total) / count if count else None, median, p90)

        created_in = "c.created_at >= %(start)s AND c.created_at < %(end)s"
        answered = f"FROM chosen c WHERE {created_in} AND c.first_response_at IS NOT NULL"
        resolutions = (
            "FROM ticket_states s JOIN chosen c ON c.number = s.ticket_number"
            " WHERE s.resolves AND s.began >= %(start)s AND s.began < %(end)s"
        )
        closes = (
            "FROM ticket_states s JOIN chosen c ON c.number = s.ticket_number"
            " WHERE s.closes AND s.began >= %(start)s AND s.began < %(end)s"
        )
        response_seconds = _SECONDS.format("c.first_response_at", "c.created_at")
        resolution_seconds = _SECONDS.format("s.began", "c.created_at")

        # The tickets created in the window, by day, priority and agent.
        tally = Tally(start, end, interval)
        for day, priority, agent, count, *outcomes, breached in rows(
            f"SELECT {_DAY.format('c.created_at')}, c.priority, c.assigned_to, count(*),"
            " count(*) FILTER (WHERE c.sla_response_met),"
            " count(*) FILTER (WHERE NOT c.sla_response_met OR (c.sla_response_met IS NULL"
            "     AND c.sla_response_due_at < %(now)s)),"
            " count(*) FILTER (WHERE c.sla_resolution_met),"
            " count(*) FILTER (WHERE NOT c.sla_resolution_met),"
            " count(*) FILTER (WHERE c.sla_breach_at <= %(now)s)"
            f" FROM chosen c WHERE {created_in} GROUP BY 1, 2, 3"
        ):
            tally.created(day, priority, agent, count, outcomes, breached)
        for name, flag in (("resolved", "resolves"), ("closed", "closes")):
            sql = (
                f"SELECT {_DAY.format('s.began')}, count(*) FROM ticket_states s"
                f" WHERE s.{flag} AND s.began >= %(start)s AND s.began < %(end)s{of_chosen}"
                " GROUP BY 1"
            )
            for day, count in rows(sql):
                tally.moved(name, day, count)

        first_response = summary(f"SELECT {response_seconds} AS s {answered}")
        resolution = summary(f"SELECT {resolution_seconds} AS s {resolutions}")
        if office_hours:

            def business(began: str, ended: str, source: str) -> Durations:
                seconds = [
                    calendars(policy).seconds_between(first, last)
                    if policy in office_hours
                    else int((last - first).total_seconds())
                    for policy, first, last in rows(
                        f"SELECT c.sla_policy, {began}, {ended} {source}"
                    )
                ]
                return Durations.of(seconds)

            first_response_business = business("c.created_at", "c.first_response_at", answered)
            resolution_business = business("c.created_at", "s.began", resolutions)
        else:  # every calendar counts every second: business time is calendar time
            first_response_business, resolution_business = first_response, resolution

        # The tickets closed in the window, counted by what CSAT is grouped by.
        closed = rows(
            ", closed AS (SELECT DISTINCT c.number, c.customer_satisfaction AS score,"
            f" c.assigned_to, c.root_cause, c.category {closes})"
            " SELECT assigned_to, root_cause, category, score, count(*) FROM closed"
            " GROUP BY 1, 2, 3, 4"
        )

        ((resolved_tickets, reopened),) = rows(
            f", resolved AS (SELECT DISTINCT c.number, c.reopened_count {resolutions})"
            " SELECT count(*), count(*) FILTER (WHERE reopened_count > 0) FROM resolved"
        )
        # Each stretch in a status, clipped to the window (and to now).
        time_in_status = {
            status: int(seconds)
            for status, seconds in rows(
                "SELECT s.status, sum(extract(epoch FROM"
                " least(coalesce(s.ended, %(now)s), %(end)s, %(now)s)"
                " - greatest(s.began, %(start)s))::bigint)"
                " FROM ticket_states s WHERE s.began < least(%(end)s, %(now)s)"
                f" AND coalesce(s.ended, %(now)s) > %(start)s{of_chosen} GROUP BY s.status"
            )
            if seconds
        }
        return tally.metrics(
            first_response=first_response,
            resolution=resolution,
            first_response_business=first_response_business,
            resolution_business=resolution_business,
            closed=closed,
            resolved_tickets=resolved_tickets,
            reopened=reopened,
            time_in_status=time_in_status,
            resolved_by_agent=dict(
                rows(f"SELECT c.assigned_to, count(*) {resolutions} GROUP BY 1")
            ),
            first_response_median=dict(rows(
                f", d AS (SELECT c.assigned_to AS agent, {response_seconds} AS s {answered})"
                + _MEDIAN_BY_AGENT
            )),
            resolution_median=dict(rows(
                f", d AS (SELECT c.assigned_to AS agent, {resolution_seconds} AS s"
                f" {resolutions})" + _MEDIAN_BY_AGENT
            )),
        )  # fmt: skip

    def backlog(self, query: ListQuery, at: datetime, now: datetime) -> dict[str, dict[int, int]]:
        """Tickets by status and priority as they stood at ``at`` (the filters match them
        as they are now): the state of each that began at or before ``at`` and had not
        ended by then."""
        where, params = where_clause(query, now)
        of_chosen = (
            f" AND s.ticket_number IN (SELECT t.number FROM tickets t{where})" if where else ""
        )
        sql = (
            "SELECT s.status, s.priority, count(*) FROM ticket_states s"
            f" WHERE s.began <= %s AND (s.ended IS NULL OR s.ended > %s){of_chosen}"
            " GROUP BY 1, 2 ORDER BY 1, 2"
        )
        found: dict[str, dict[int, int]] = {}
        for status, priority, count in self._connections.conn.execute(sql, [at, at, *params]):
            found.setdefault(status, {})[int(priority)] = count
        return found
