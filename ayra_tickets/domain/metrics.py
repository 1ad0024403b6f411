"""Support analytics: what ``engine.metrics(...)`` answers, and what each figure means.

The figures describe one window of time, ``[start, end)``, over the tickets that match
the filters (by their values now):

- **volume**, per day or week (UTC): tickets *created*; tickets *resolved* (a move to
  ``resolved``, or a close of a ticket that was not resolved: closing resolves it); and
  tickets *closed*;
- **first response**: for tickets created in the window and answered, the time from
  creation to the first response, in calendar time and in the business time of the
  ticket's SLA policy (its calendar; round the clock by default);
- **resolution**: for each resolution in the window, the time from the ticket's creation,
  in calendar and in business time;
- **SLA compliance** by priority: of the tickets created in the window whose response
  (resolution) is decided, how many met it;
- **CSAT**: the satisfaction of the tickets closed in the window (as it stands), its mean
  and distribution, by agent, by root cause and by category;
- **reopen rate**: of the tickets resolved in the window, the share reopened at least once;
- **root causes** of the tickets closed in the window;
- **time in each status**: the seconds the tickets spent in each status within the
  window (up to the moment of asking, if the window runs past it);
- **agents**: per assignee (as now), the tickets created in the window assigned to them,
  the resolutions in the window, the median first response and resolution times, the mean
  CSAT of the tickets closed in the window, and the tickets created in the window whose
  SLA reads as breached now.

``engine.metrics.backlog(at)`` counts the tickets by status and priority as they stood
at any instant, from the event log.

Durations are whole seconds of calendar time: count, mean, median and 90th percentile
(nearest rank: the smallest value with at least that share of the values at or below it).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from .times import format_time

INTERVALS = ("day", "week")


@attrs.frozen
class Durations:
    """Durations in seconds: how many, their mean, median and 90th percentile (``None``
    when there are none)."""

    count: int
    mean: float | None
    median: int | None
    p90: int | None

    @classmethod
    def of(cls, seconds: Sequence[int]) -> Durations:
        """The summary of these durations, by the definitions above."""
        ordered = sorted(seconds)
        if not ordered:
            return cls(0, None, None, None)
        return cls(
            len(ordered),
            sum(ordered) / len(ordered),
            nearest_rank(ordered, 1, 2),
            nearest_rank(ordered, 9, 10),
        )


def nearest_rank(ordered: Sequence[int], part: int, whole: int) -> int:
    """The smallest value with at least ``part/whole`` of the (sorted) values at or below
    it (integer arithmetic: no rounding surprises)."""
    rank = max(1, -(-part * len(ordered) // whole))
    return ordered[rank - 1]


@attrs.frozen
class Bucket:
    """One day or week of volume: from ``start``, tickets created, resolved and closed."""

    start: datetime
    created: int
    resolved: int
    closed: int


@attrs.frozen
class Compliance:
    """SLA outcomes of one priority: responses and resolutions met and missed."""

    response_met: int
    response_missed: int
    resolution_met: int
    resolution_missed: int

    @property
    def response_rate(self) -> float | None:
        decided = self.response_met + self.response_missed
        return self.response_met / decided if decided else None

    @property
    def resolution_rate(self) -> float | None:
        decided = self.resolution_met + self.resolution_missed
        return self.resolution_met / decided if decided else None


@attrs.frozen
class Satisfaction:
    """Customer satisfaction scores (1-10): how many, their mean, and how many of each."""

    count: int
    mean: float | None
    distribution: dict[int, int]


@attrs.frozen
class AgentRow:
    """One assignee's figures in a window (``agent`` ``None``: unassigned)."""

    agent: str | None
    assigned: int
    resolved: int
    first_response_median: int | None
    resolution_median: int | None
    csat_mean: float | None
    breaches: int


@attrs.frozen
class Metrics:
    """The support figures of one window (see the module's documentation)."""

    start: datetime
    end: datetime
    interval: str
    volume: list[Bucket]
    first_response: Durations
    resolution: Durations
    first_response_business: Durations
    resolution_business: Durations
    sla: dict[int, Compliance]
    csat: Satisfaction
    csat_by_agent: dict[str | None, Satisfaction]
    csat_by_root_cause: dict[str | None, Satisfaction]
    csat_by_category: dict[str | None, Satisfaction]
    reopen_rate: float | None
    root_causes: dict[str | None, int]
    time_in_status: dict[str, int]
    agents: list[AgentRow]

    def to_dicts(self) -> dict[str, Any]:
        """Every figure as plain JSON values (times as RFC 3339)."""

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return format_time(value)
            if attrs.has(type(value)):
                return {k: plain(v) for k, v in attrs.asdict(value, recurse=False).items()}
            if isinstance(value, dict):
                return {str(k) if k is not None else None: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        figures = plain(self)
        for priority, compliance in self.sla.items():
            figures["sla"][str(priority)].update(
                response_rate=compliance.response_rate, resolution_rate=compliance.resolution_rate
            )
        return figures  # type: ignore[no-any-return]

    def _repr_html_(self) -> str:
        """A readable summary for notebooks."""
        rows = [
            ("window", f"{format_time(self.start)} to {format_time(self.end)} by {self.interval}"),
            ("created / resolved / closed", " / ".join(
                str(sum(getattr(b, name) for b in self.volume))
                for name in ("created", "resolved", "closed")
            )),
            ("first response (median, p90)", _hours(self.first_response)),
            ("resolution (median, p90)", _hours(self.resolution)),
            ("CSAT", "-" if self.csat.mean is None else f"{self.csat.mean:.2f} of {self.csat.count}"),
            ("reopen rate", "-" if self.reopen_rate is None else f"{self.reopen_rate:.1%}"),
        ]  # fmt: skip
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table>{body}</table>"


def _hours(durations: Durations) -> str:
    if durations.median is None or durations.p90 is None:
        return "-"
    return f"{durations.median / 3600:.1f} h, {durations.p90 / 3600:.1f} h ({durations.count})"
