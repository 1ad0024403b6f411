"""The SQL of a list's filters, order and search, shared by the ticket repository and
the metrics: a query (:class:`~ayra_tickets.domain.validation.ListQuery`) as a WHERE
clause (:func:`where_clause`), an ORDER BY (:func:`order_by`), a keyset condition
(:func:`after_cursor`) and an FTS5 query (:func:`fts_query`). Pages in creation order
are read in number order where the file allows (:func:`in_number_order`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...domain.paging import Cursor
from ...domain.times import format_time
from ...domain.validation import ListQuery
from ...domain.words import search_words
from .rows import facets

SORT_COLUMNS = {
    "created_at": "t.created_at",
    "updated_at": "t.updated_at",
    "due_date": "t.due_date",
    "priority": "t.priority",
}


def fts_query(text: str) -> str | None:
    """User text as an FTS5 query: every word must match, as a word or a word's prefix.

    Words are the contract's (:func:`~ayra_tickets.domain.words.search_words`: split
    and folded by the index's own tokenizer table), so a search finds its own ticket.
    Each is quoted, so FTS syntax in the text (quotes, ``*``, ``NEAR``, ``OR``,
    parentheses) is searched for as plain words; and each is one token, never a phrase
    (the index keeps no positions). ``None`` when the text has no words.
    """
    found = search_words(text)
    if not found:
        return None
    return "{subject description} : (" + " ".join(f'"{word}"*' for word in found) + ")"


def where_clause(
    query: ListQuery,
    now: datetime,
    *,
    probe_tags: bool = False,
    walk: bool = False,
    text_driven: bool = False,
) -> tuple[str, list[Any]]:
    """The WHERE clause for ``query``'s filters. ``probe_tags`` checks tags per ticket;
    ``walk`` also keeps the columns' own indexes out of the plan (a unary ``+``), so that
    the one index in the page's order is walked."""
    clauses: list[str] = []
    params: list[Any] = []
    t = "+t." if walk else "t."

    def any_of(column: str, values: Sequence[Any]) -> None:
        clauses.append(f"{t}{column} IN ({', '.join('?' for _ in values)})")
        params.extend(values)

    match = None if query.search is None else fts_query(query.search)
    if query.status:
        if match is None:
            any_of("status", [str(s) for s in query.status])
        else:  # answered by the search index's facets, with the words
            tokens = " OR ".join(f'"{facets(status)}"' for status in query.status)
            match += f" AND facets : ({tokens})"
    if query.priority:
        any_of("priority", [int(p) for p in query.priority])
    dated = False
    for column, op, value in query.comparisons():
        if column == "due_date" and not walk and not dated:
            # a due range is a range of the due order's index, whose first column is
            # whether the ticket has a due date (it does, to fall in a range)
            clauses.append("(t.due_date IS NULL) = 0")
            dated = True
        clauses.append(f"{t}{column} {op} ?")
        params.append(format_time(value) if isinstance(value, datetime) else value)
    for tag in query.tags:
        if probe_tags:  # checked per ticket, so the planner can walk the order's index
            clauses.append(
                "EXISTS (SELECT 1 FROM ticket_tags WHERE tag = ? AND ticket_number = t.number)"
            )
        else:
            clauses.append("t.number IN (SELECT ticket_number FROM ticket_tags WHERE tag = ?)")
        params.append(tag)
    if query.search is not None:
        if match is None:
            clauses.append("0")
        elif text_driven:  # the statement reads from tickets_fts (rows.SELECT_BY_TEXT)
            clauses.insert(0, "tickets_fts MATCH ?")
            params.insert(0, match)
        else:
            clauses.append("t.number IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)")
            params.append(match)
    if query.sla_breach is not None:
        # A ticket reads as breached from its stored sla_breach_at on (see
        # domain.sla.breach_at), so "breached at now?" is a range over an index.
        if query.sla_breach:
            clauses.append(f"{t}sla_breach_at <= ?")
        else:
            clauses.append(f"({t}sla_breach_at IS NULL OR {t}sla_breach_at > ?)")
        params.append(format_time(now))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def in_number_order(query: ListQuery, by_number: bool) -> bool:
    """Whether ``query``'s page in creation order is read in number order: where creation
    times follow numbers (``TicketStore.by_number``), newest first is highest number
    first, which the table's own order and each filter's index (every index ends in the
    number) give, so that no index needs the creation time for the order. A range of
    creation times is read along the creation-time index, in that index's order."""
    return (
        by_number
        and query.sort_by == "created_at"
        and query.created_after is None
        and query.created_before is None
    )


def after_cursor(
    query: ListQuery, cursor: Cursor, *, numbered: bool = False
) -> tuple[str, list[Any]]:
    """The condition for 'after the cursor' in the query's order (ties by number);
    ``numbered``: the order is number order (:func:`in_number_order`)."""
    op = "<" if query.sort_order == "desc" else ">"
    if numbered:
        return f"t.number {op} ?", [cursor.number]
    column = SORT_COLUMNS[query.sort_by]
    if query.sort_by != "due_date":
        return f"({column}, t.number) {op} (?, ?)", [cursor.key, cursor.number]
    if cursor.key is None:  # into the tickets with no due date, which come last
        return f"(t.due_date IS NULL AND t.number {op} ?)", [cursor.number]
    return f"(t.due_date IS NULL OR (t.due_date, t.number) {op} (?, ?))", [
        cursor.key,
        cursor.number,
    ]


def order_by(
    query: ListQuery,
    *,
    text_driven: bool = False,
    sorted_after: bool = False,
    numbered: bool = False,
) -> str:
    """The ORDER BY of ``query``'s page; ``numbered``: in number order
    (:func:`in_number_order`). ``sorted_after`` keeps it from matching any index (a
    unary ``+``), so that the matches are gathered from the filters' indexes and then
    sorted, where SQLite would rather walk an index in the page's order."""
    direction = "ASC" if query.sort_order == "asc" else "DESC"
    if text_driven:  # creation order is number order (TicketStore.by_number)
        return f"tickets_fts.rowid {direction}"
    plus = "+" if sorted_after else ""
    if numbered:
        return f"{plus}t.number {direction}"
    column = plus + SORT_COLUMNS[query.sort_by]
    nulls_last = f"{column} IS NULL, " if query.sort_by == "due_date" else ""
    return f"{nulls_last}{column} {direction}, t.number {direction}"
