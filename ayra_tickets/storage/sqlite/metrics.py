"""The support figures of :mod:`ayra_tickets.domain.metrics`, computed by SQLite.

Every figure is one statement over the tickets that match the filters (the ``chosen``
common table) and their events; durations come from ``unixepoch`` on the stored RFC 3339
times, and medians and percentiles by nearest rank over ``ROW_NUMBER()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from sqlite_utils import Database

from ...domain.metrics import Durations, Metrics, Tally
from ...domain.sla import Calendar
from ...domain.times import format_time, load_time
from ...domain.validation import ListQuery
from .query import where_clause
from .schema import RESPONSE_TIME

_SUMMARY = """
WITH d AS ({values}),
r AS (SELECT s, ROW_NUMBER() OVER (ORDER BY s) AS k, COUNT(*) OVER () AS n FROM d)
SELECT COUNT(*), AVG(s),
       MIN(CASE WHEN k = (n + 1) / 2 THEN s END),
       MIN(CASE WHEN k = (9 * n + 9) / 10 THEN s END)
FROM r
"""

_MEDIAN_BY_AGENT = (
    ", r AS (SELECT agent, s, ROW_NUMBER() OVER (PARTITION BY agent ORDER BY s) AS k,"
    " COUNT(*) OVER (PARTITION BY agent) AS n FROM d)"
    " SELECT agent, MIN(CASE WHEN k = (n + 1) / 2 THEN s END) FROM r GROUP BY agent"
)


_FIGURE_INDEXES = (
    "tickets_by_created_day", "tickets_by_response_time", "tickets_by_agent_response_time"
)  # fmt: skip


class MetricsStore:
    """Reads the support figures; the caller owns the transaction.

    What happened to tickets over time (resolutions, closes, the status they were in) is
    read from ``ticket_states``, the log narrowed to each ticket's stretches in one status
    and priority; what the tickets are now (agent, SLA outcomes, first response, CSAT)
    from ``tickets``, those created in a window through indexes that carry the columns
    read, so that neither the events nor the tickets' text are read.
    """

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
        office_hours: Sequence[str] = (),
    ) -> Metrics:
        """The figures; ``calendars`` gives each SLA policy's calendar, and
        ``office_hours`` names the policies whose calendar does not count every second
        (business time is calendar time for the others, and is computed in SQL)."""
        where, params = where_clause(query, now)
        named = {f"p{i}": value for i, value in enumerate(params)}
        for i in range(len(params)):  # positional filters as named, beside the window's
            where = where.replace("?", f":p{i}", 1)
        chosen = f"chosen AS (SELECT t.* FROM tickets t{where})"
        # States of the chosen tickets: all of them when nothing is filtered.
        of_chosen = (
            f" AND s.ticket_number IN (SELECT t.number FROM tickets t{where})" if where else ""
        )
        args: dict[str, Any] = {
            **named, "start": format_time(start), "end": format_time(end), "now": format_time(now),
            "s": _epoch(start), "e": _epoch(end), "n": _epoch(now),
            "first_day": format_time(start)[:10], "last_day": format_time(end)[:10],
            **{f"h{i}": name for i, name in enumerate(office_hours)},
        }  # fmt: skip
        hours = ", ".join(f":h{i}" for i in range(len(office_hours)))

        def business_time(began: str, ended: str) -> str:
            """SQL for the business seconds between two times (``ended`` in seconds)."""
            if not office_hours:
                return f"{ended} - unixepoch({began})"
            return (
                f"CASE WHEN c.sla_policy IN ({hours})"
                f" THEN business_seconds(c.sla_policy, {began}, {ended})"
                f" ELSE {ended} - unixepoch({began}) END"
            )

        def rows(sql: str) -> list[Any]:
            return self._conn.execute(f"WITH {chosen} {sql}", args).fetchall()

        def summary(values: str) -> Durations:
            sql = _SUMMARY.format(values=values).replace("WITH d AS", ", d AS", 1)
            ((count, mean, median, p90),) = rows(sql)
            return Durations(count, mean, median, p90)

        created_in = "c.created_at >= :start AND c.created_at < :end"
        answered = f"FROM chosen c WHERE {created_in} AND c.first_response_at IS NOT NULL"
        resolutions = (
            "FROM ticket_states s CROSS JOIN chosen c ON c.number = s.ticket_number"
            " WHERE s.resolves AND s.began >= :s AND s.began < :e"
        )
        closes = (
            "FROM ticket_states s CROSS JOIN chosen c ON c.number = s.ticket_number"
            " WHERE s.closes AND s.began >= :s AND s.began < :e"
        )

        narrow = narrow_filters(query, now) and self._indexed()
        # (the index holds the filters too, and the planner would rather take a filter's
        # own index and read every row; CROSS JOIN below keeps the few states outermost)
        by_day = (
            f"(SELECT t.* FROM tickets t INDEXED BY tickets_by_created_day{where}) c"
            if narrow
            else "chosen c"
        )
        # The tickets created in the window, in one pass: by day (the index's order, so
        # nothing is sorted; weeks are summed from their days), priority and agent.
        tally = Tally(start, end, interval)
        for day, priority, agent, count, *outcomes, breached in rows(
            "SELECT substr(c.created_at, 1, 10), c.priority, c.assigned_to, COUNT(*),"
            " COUNT(*) FILTER (WHERE c.sla_response_met = 1),"
            " COUNT(*) FILTER (WHERE c.sla_response_met = 0 OR (c.sla_response_met IS NULL"
            "     AND c.sla_response_due_at < :now)),"
            " COUNT(*) FILTER (WHERE c.sla_resolution_met = 1),"
            " COUNT(*) FILTER (WHERE c.sla_resolution_met = 0),"
            " COUNT(*) FILTER (WHERE c.sla_breach_at <= :now)"
            f" FROM {by_day} WHERE substr(c.created_at, 1, 10) BETWEEN :first_day AND :last_day"
            f" AND {created_in} GROUP BY 1, 2, 3"
        ):
            tally.created(day, priority, agent, count, outcomes, breached)
        for name, flag in (("resolved", "resolves"), ("closed", "closes")):
            sql = (
                "SELECT date(s.began, 'unixepoch'), COUNT(*)"
                f" FROM ticket_states s WHERE s.{flag} AND s.began >= :s AND s.began < :e"
                f"{of_chosen} GROUP BY 1"
            )
            for day, count in rows(sql):
                tally.moved(name, day, count)

        def business(policy: str, began: str | int, ended: str | int) -> int:
            return calendars(policy).seconds_between(_moment(began), _moment(ended))

        self._conn.create_function("business_seconds", 3, business, deterministic=True)
        if narrow:
            first_response, response_medians = self._response_times(where, args)
        else:
            first_response = summary(
                f"SELECT unixepoch(c.first_response_at) - unixepoch(c.created_at) AS s {answered}"
            )
            response_medians = dict(
                rows(
                    ", d AS (SELECT c.assigned_to AS agent, unixepoch(c.first_response_at)"
                    f" - unixepoch(c.created_at) AS s {answered})" + _MEDIAN_BY_AGENT
                )
            )
        resolution = summary(f"SELECT s.began - unixepoch(c.created_at) AS s {resolutions}")
        if office_hours:
            first_response_business = summary(
                f"SELECT {business_time('c.created_at', 'unixepoch(c.first_response_at)')} AS s"
                f" {answered}"
            )
            resolution_business = summary(
                f"SELECT {business_time('c.created_at', 's.began')} AS s {resolutions}"
            )
        else:  # every calendar counts every second: business time is calendar time
            first_response_business, resolution_business = first_response, resolution

        # The tickets closed in the window, counted by what CSAT is grouped by.
        closed = rows(
            f", closed AS (SELECT DISTINCT c.number, c.customer_satisfaction AS score,"
            f" c.assigned_to, c.root_cause, c.category {closes})"
            " SELECT assigned_to, root_cause, category, score, COUNT(*) FROM closed"
            " GROUP BY 1, 2, 3, 4"
        )

        ((resolved_tickets, reopened),) = rows(
            f", resolved AS (SELECT DISTINCT c.number, c.reopened_count {resolutions})"
            " SELECT COUNT(*), COUNT(*) FILTER (WHERE reopened_count > 0) FROM resolved"
        )
        # Each stretch in a status, clipped to the window (and to now).
        time_in_status = {
            status: int(seconds)
            for status, seconds in rows(
                "SELECT s.status, SUM(MIN(COALESCE(s.ended, :n), :e, :n) - MAX(s.began, :s))"
                " FROM ticket_states s WHERE s.began < MIN(:e, :n) AND COALESCE(s.ended, :n) > :s"
                f"{of_chosen} GROUP BY s.status"
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
                rows(f"SELECT c.assigned_to, COUNT(*) {resolutions} GROUP BY 1")
            ),
            first_response_median=response_medians,
            resolution_median=dict(rows(
                ", d AS (SELECT c.assigned_to AS agent, s.began - unixepoch(c.created_at) AS s"
                f" {resolutions})" + _MEDIAN_BY_AGENT
            )),
        )  # fmt: skip

    def _indexed(self) -> bool:
        """Whether the figures' indexes are there (a big import builds the tickets'
        indexes at its end: until then the figures are read without them)."""
        (found,) = self._conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN"
            f" ({', '.join(repr(name) for name in _FIGURE_INDEXES)})"
        ).fetchone()
        return bool(found == len(_FIGURE_INDEXES))

    def _response_times(
        self, where: str, args: dict[str, Any]
    ) -> tuple[Durations, dict[Any, int | None]]:
        """First response times of the tickets created in the window, overall and each
        agent's median, from the indexes that hold the answered tickets in response-time
        order: a count, then one step into the index for each rank. ``where`` holds only
        filters those indexes carry."""
        seconds = RESPONSE_TIME.replace("first_response_at", "t.first_response_at").replace(
            "(created_at", "(t.created_at"
        )
        answered = (
            "t.first_response_at IS NOT NULL AND t.created_at >= :start AND t.created_at < :end"
            + where.replace(" WHERE ", " AND ", 1)
        )

        def ranked(
            index: str, condition: str, count: int, part: int, whole: int, **extra: Any
        ) -> int:
            rank = max(1, -(-part * count // whole))  # nearest rank, as Durations.of
            sql = (
                f"SELECT {seconds} FROM tickets t INDEXED BY {index} WHERE {condition}"
                f" ORDER BY {seconds} LIMIT 1 OFFSET {rank - 1}"
            )
            ((value,),) = self._conn.execute(sql, {**args, **extra}).fetchall()
            return int(value)

        overall = "tickets_by_response_time"
        ((count, mean),) = self._conn.execute(
            f"SELECT COUNT(*), AVG({seconds}) FROM tickets t INDEXED BY {overall} WHERE {answered}",
            args,
        ).fetchall()
        durations = (
            Durations(
                count,
                mean,
                ranked(overall, answered, count, 1, 2),
                ranked(overall, answered, count, 9, 10),
            )
            if count
            else Durations(0, None, None, None)
        )
        by_agent = "tickets_by_agent_response_time"
        counts = self._conn.execute(
            f"SELECT t.assigned_to, COUNT(*) FROM tickets t INDEXED BY {by_agent}"
            f" WHERE {answered} GROUP BY 1",
            args,
        ).fetchall()
        medians: dict[Any, int | None] = {
            agent: ranked(by_agent, f"t.assigned_to IS :agent AND {answered}", n, 1, 2, agent=agent)
            for agent, n in counts
        }
        return durations, medians

    def backlog(self, query: ListQuery, at: datetime, now: datetime) -> dict[str, dict[int, int]]:
        """Tickets by status and priority as they stood at ``at`` (the filters match them
        as they are now): the state of each ticket that began at or before ``at`` and had
        not ended by then."""
        where, params = where_clause(query, now)
        of_chosen = (
            f" AND s.ticket_number IN (SELECT t.number FROM tickets t{where})" if where else ""
        )
        sql = (
            "SELECT s.status, s.priority, COUNT(*) FROM ticket_states s"
            f" WHERE s.began <= ? AND (s.ended IS NULL OR s.ended > ?){of_chosen}"
            " GROUP BY 1, 2 ORDER BY 1, 2"
        )
        moment = _epoch(at)
        found: dict[str, dict[int, int]] = {}
        for status, priority, count in self._conn.execute(sql, [moment, moment, *params]):
            found.setdefault(status, {})[int(priority)] = count
        return found


def narrow_filters(query: ListQuery, now: datetime) -> bool:
    """Whether ``query`` filters by nothing but priority, category and agent: what the
    response-time indexes carry beside the times."""
    rest = attrs.evolve(query, priority=(), category=None, assigned_to=None)
    return not where_clause(rest, now)[0]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(value: str | int) -> datetime:
    """A time as stored: RFC 3339 text in ``tickets``, Unix seconds in ``ticket_states``."""
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else load_time(value)
