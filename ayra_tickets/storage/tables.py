"""What both adapters share of their tables: which table holds each kind of record (the
two schemas name them alike, so that ``Storage.counts`` reads the same tables on
either), and the grouping of a range read of events or states by ticket."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from .port import COUNTED

TABLES: dict[str, str] = dict(
    zip(
        COUNTED,
        (
            "tickets",
            "ticket_events",
            "ticket_states",
            "ticket_tags",
            "api_keys",
            "agents",
            "sla_policies",
            "idempotency_keys",
        ),
        strict=True,
    )
)
"""The table of each kind of record :meth:`~.port.Storage.counts` counts."""

COUNT_ALL = "SELECT " + ", ".join(f"(SELECT count(*) FROM {table})" for table in TABLES.values())
"""One statement counting every kind, in the order of :data:`TABLES`."""


def counted(row: Sequence[Any] | None) -> dict[str, int]:
    """The counts by kind from the row :data:`COUNT_ALL` reads."""
    assert row is not None  # a SELECT without FROM gives its one row
    return {kind: int(count) for kind, count in zip(TABLES, row, strict=True)}


def by_ticket(rows: Iterable[Sequence[Any]]) -> dict[int, list[Sequence[Any]]]:
    """Rows led by their ticket's number (and in its order), by that number."""
    return {number: list(group) for number, group in itertools.groupby(rows, lambda r: r[0])}
