"""The SQL of a list's filters, order and search on PostgreSQL: a query
(:class:`~ayra_tickets.domain.validation.ListQuery`) as a WHERE clause
(:func:`where_clause`), an ORDER BY (:func:`order_by`) and keyset conditions
(:func:`after_cursor`), with the same answers as SQLite's (``storage/sqlite/query.py``):
ties are broken by number, tickets without a due date come last either way, and a search
matches a ticket when every word of it starts a word of the ticket (:mod:`.search`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...domain.paging import Cursor
from ...domain.times import load_time
from ...domain.validation import ListQuery
from . import search

SORT_COLUMNS = {
    "created_at": "t.created_at",
    "updated_at": "t.updated_at",
    "due_date": "t.due_date",
    "priority": "t.priority",
}


def where_clause(query: ListQuery, now: datetime) -> tuple[str, list[Any]]:
    """The WHERE clause for ``query``'s filters (`` WHERE ...``, or nothing), with its
    parameters."""
    clauses: list[str] = []
    params: list[Any] = []

    def any_of(column: str, values: Sequence[Any]) -> None:
        # One value as an equality: the planner can then read an index that starts with
        # the column in the page's order (``= ANY`` would need a sort).
        if len(values) == 1:
            clauses.append(f"t.{column} = %s")
            params.append(values[0])
        else:
            clauses.append(f"t.{column} = ANY(%s)")
            params.append(list(values))

    if query.status:
        any_of("status", [str(s) for s in query.status])
    if query.priority:
        any_of("priority", [int(p) for p in query.priority])
    for column, op, value in query.comparisons():
        clauses.append(f"t.{column} {op} %s")
        params.append(value)
    for tag in query.tags:
        clauses.append("t.number IN (SELECT ticket_number FROM ticket_tags WHERE tag = %s)")
        params.append(tag)
    if query.search is not None:
        match = search.query(query.search)
        if match is None:  # no words: nothing matches
            clauses.append("false")
        else:
            clauses.append(f"t.{search.MATCH}")
            params.append(match)
    if query.sla_breach is not None:
        # A ticket reads as breached from its stored sla_breach_at on.
        if query.sla_breach:
            clauses.append("t.sla_breach_at <= %s")
        else:
            clauses.append("(t.sla_breach_at IS NULL OR t.sla_breach_at > %s)")
        params.append(now)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _key(query: ListQuery, key: Any) -> Any:
    """A cursor's key (RFC 3339 text for a time) as the column holds it."""
    return load_time(key) if isinstance(key, str) and query.sort_by != "priority" else key


def after_cursor(query: ListQuery, cursor: Cursor) -> list[tuple[str, list[Any]]]:
    """The conditions for 'after the cursor' in the query's order (ties by number), each
    a range of one index, to be read in turn until the page is full: one, or for the
    due-date order from a dated ticket two, the dated tickets after it and then the
    undated ones (which come last either way). Joined by ``OR`` into one condition, they
    would be no range of any index, and every page would read the index from its start."""
    op = "<" if query.sort_order == "desc" else ">"
    column = SORT_COLUMNS[query.sort_by]
    key = _key(query, cursor.key)
    if query.sort_by != "due_date":
        return [(f"({column}, t.number) {op} (%s, %s)", [key, cursor.number])]
    undated = "t.due_date IS NULL"
    if key is None:  # into the tickets with no due date
        return [(f"{undated} AND t.number {op} %s", [cursor.number])]
    return [(f"(t.due_date, t.number) {op} (%s, %s)", [key, cursor.number]), (undated, [])]


def order_by(query: ListQuery) -> str:
    """The page's order: the sort column, then the number the same way (tickets without a
    due date last, going up or down)."""
    direction = "ASC" if query.sort_order == "asc" else "DESC"
    column = SORT_COLUMNS[query.sort_by]
    nulls = " NULLS LAST" if query.sort_by == "due_date" else ""
    return f"{column} {direction}{nulls}, t.number {direction}"
