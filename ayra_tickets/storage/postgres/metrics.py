"""The support figures of :mod:`ayra_tickets.domain.metrics` on PostgreSQL (not yet)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ...domain.metrics import Metrics
from ...domain.sla import Calendar
from ...domain.validation import ListQuery
from ..errors import NotSupported

if TYPE_CHECKING:
    from .adapter import Connections


class MetricsStore:
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
        raise NotSupported("the support figures are not computed on PostgreSQL yet")

    def backlog(self, query: ListQuery, at: datetime, now: datetime) -> dict[str, dict[int, int]]:
        raise NotSupported("the backlog is not computed on PostgreSQL yet")
