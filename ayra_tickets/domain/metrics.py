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

A :class:`Metrics` reads as plain JSON values with ``to_dicts()``, as a table in a
notebook (``_repr_html_``), and as pandas DataFrames with ``to_pandas()`` when pandas is
installed (the ``[pandas]`` extra; it is imported only then).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from .times import format_time, utc_seconds

INTERVALS = ("day", "week")
DEFAULT_WINDOW = timedelta(days=30)
"""The window of a call that gives none: the 30 days up to the engine's clock (the look-back
of the report too, whose window starts at the first period with tickets in it)."""
SCORES = range(1, 11)
"""The satisfaction scores a ticket can be closed with."""


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

    @classmethod
    def of(cls, scores: Mapping[int, int]) -> Satisfaction:
        """The satisfaction of these counts of each score."""
        count = sum(scores.values())
        mean = sum(score * n for score, n in scores.items()) / count if count else None
        return cls(count, mean, {score: scores.get(score, 0) for score in SCORES})


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


def bucket_of(day: str, interval: str) -> str:
    """The first day (``YYYY-MM-DD``) of the bucket a day falls in: the day itself, or
    its week's Monday."""
    if interval == "day":
        return day
    moment = date.fromisoformat(day)
    return (moment - timedelta(days=moment.weekday())).isoformat()


def buckets(start: datetime, end: datetime, interval: str) -> list[datetime]:
    """The first instants (UTC midnights; Mondays for weeks) of the buckets that
    ``[start, end)`` touches."""
    first = utc_seconds(start).replace(hour=0, minute=0, second=0)
    if interval == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=1 if interval == "day" else 7)
    found = []
    while first < end:
        found.append(first)
        first += step
    return found


ClosedRow = tuple[Any, Any, Any, Any, int]
"""The tickets closed in a window, counted by what CSAT is grouped by: assignee, root
cause, category, score, and how many."""


class Tally:
    """The figures of one window as a storage adapter reads them, gathered row by row
    (the same on every backend), then made into :class:`Metrics` by :meth:`metrics`."""

    def __init__(self, start: datetime, end: datetime, interval: str) -> None:
        self.start, self.end, self.interval = start, end, interval
        self._created: dict[str, int] = {}
        self._moved: dict[str, dict[str, int]] = {"resolved": {}, "closed": {}}
        self._sla: dict[int, list[int]] = {}
        self.assigned: dict[Any, int] = {}
        self.breaches: dict[Any, int] = {}

    def created(
        self,
        day: str,
        priority: int,
        agent: Any,
        count: int,
        outcomes: Sequence[int],
        breached: int,
    ) -> None:
        """``count`` tickets created on ``day`` with this priority and assignee; of them,
        the SLA ``outcomes`` (responses met and missed, resolutions met and missed) and how
        many read as breached now."""
        first = bucket_of(day, self.interval)
        self._created[first] = self._created.get(first, 0) + count
        totals = self._sla.setdefault(priority, [0, 0, 0, 0])
        for i, outcome in enumerate(outcomes):
            totals[i] += outcome
        self.assigned[agent] = self.assigned.get(agent, 0) + count
        self.breaches[agent] = self.breaches.get(agent, 0) + breached

    def moved(self, name: str, day: str, count: int) -> None:
        """``count`` tickets ``resolved`` (or ``closed``) on ``day``."""
        bucket = self._moved[name]
        first = bucket_of(day, self.interval)
        bucket[first] = bucket.get(first, 0) + count

    def metrics(
        self,
        *,
        first_response: Durations,
        resolution: Durations,
        first_response_business: Durations,
        resolution_business: Durations,
        closed: Iterable[ClosedRow],
        resolved_tickets: int,
        reopened: int,
        time_in_status: dict[str, int],
        resolved_by_agent: Mapping[Any, int],
        first_response_median: Mapping[Any, int | None],
        resolution_median: Mapping[Any, int | None],
    ) -> Metrics:
        """The figures, from what was gathered and the rest of what was read."""
        closed = list(closed)

        def satisfaction(group: int | None) -> dict[Any, Satisfaction]:
            found: dict[Any, dict[int, int]] = {}
            for row in closed:
                score, count = row[3], row[4]
                if score is not None:
                    scores = found.setdefault(None if group is None else row[group], {})
                    scores[score] = scores.get(score, 0) + count
            return {name: Satisfaction.of(scores) for name, scores in found.items()}

        root_causes: dict[Any, int] = {}
        for _, cause, _, _, count in closed:
            root_causes[cause] = root_causes.get(cause, 0) + count
        by_agent = satisfaction(0)
        csat_mean = {agent: found.mean for agent, found in by_agent.items()}
        columns: list[Mapping[Any, Any]] = [
            self.assigned, resolved_by_agent, first_response_median, resolution_median,
            csat_mean, self.breaches,
        ]  # fmt: skip
        agents: set[Any] = set().union(*(column.keys() for column in columns))
        return Metrics(
            start=self.start,
            end=self.end,
            interval=self.interval,
            volume=[
                Bucket(
                    first,
                    created=self._created.get(day, 0),
                    resolved=self._moved["resolved"].get(day, 0),
                    closed=self._moved["closed"].get(day, 0),
                )
                for first in buckets(self.start, self.end, self.interval)
                for day in (first.date().isoformat(),)
            ],
            first_response=first_response,
            resolution=resolution,
            first_response_business=first_response_business,
            resolution_business=resolution_business,
            sla={priority: Compliance(*self._sla[priority]) for priority in sorted(self._sla)},
            csat=satisfaction(None).get(None, Satisfaction.of({})),
            csat_by_agent=by_agent,
            csat_by_root_cause=satisfaction(1),
            csat_by_category=satisfaction(2),
            reopen_rate=reopened / resolved_tickets if resolved_tickets else None,
            root_causes=root_causes,
            time_in_status=time_in_status,
            agents=[
                AgentRow(
                    agent=agent,
                    assigned=self.assigned.get(agent, 0),
                    resolved=resolved_by_agent.get(agent, 0),
                    first_response_median=first_response_median.get(agent),
                    resolution_median=resolution_median.get(agent),
                    csat_mean=csat_mean.get(agent),
                    breaches=self.breaches.get(agent, 0),
                )
                for agent in sorted(agents, key=lambda name: (name is None, name or ""))
            ],
        )


@attrs.frozen(repr=False)
class Metrics:
    """The support figures of one window (see the module's documentation). Its ``repr``
    and ``_repr_html_`` (in a notebook) are a short summary; ``to_dicts()`` and
    ``to_pandas()`` give every figure."""

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

    def to_pandas(self) -> dict[str, Any]:
        """The figures as pandas DataFrames, by name (needs the ``[pandas]`` extra).

        One frame a table of :meth:`to_dicts`, with its column names and units (seconds,
        not hours), indexed by what its rows are about:

        - ``volume``: ``created``, ``resolved``, ``closed``, indexed by ``start``, each
          period's first instant (UTC timestamps);
        - ``durations``: ``count``, ``mean``, ``median``, ``p90``, indexed by ``measure``:
          ``first_response``, ``resolution``, ``first_response_business``,
          ``resolution_business``;
        - ``sla``: responses and resolutions met and missed, and their rates, indexed by
          ``priority`` (1 to 4);
        - ``csat`` (one row, ``"all"``), ``csat_by_agent``, ``csat_by_root_cause`` and
          ``csat_by_category`` (indexed by ``agent``, ``root_cause``, ``category``):
          ``count``, ``mean``, then the distribution, one column a score, ``"1"`` to
          ``"10"`` (names are strings, as in ``to_dicts()``, so that every frame can be
          written to Parquet or Arrow as it is);
        - ``root_causes``: ``tickets`` closed with each ``root_cause``;
        - ``time_in_status``: ``seconds`` spent in each ``status``;
        - ``agents``: the agent table, indexed by ``agent``.

        Rows keep the order of the figures. The label ``None`` (unassigned, no root cause,
        no category) stays ``None`` in an object index. Counts are integers; a figure that
        may be missing (a mean, median or rate of nothing) is a float, NaN when missing.
        The window, the interval and ``reopen_rate`` are single values: read them here.
        """
        pandas = _pandas()
        frames = {}
        for name, table in self._tables().items():
            index = pandas.Index(list(table.rows), dtype=table.index_dtype, name=table.index)
            frames[name] = pandas.DataFrame(
                {
                    column: pandas.Series(
                        [row[column] for row in table.rows.values()], index=index, dtype=dtype
                    )
                    for column, dtype in table.columns.items()
                },
                index=index,
            )
        return frames

    def _tables(self) -> dict[str, _Table]:
        """The frames of :meth:`to_pandas`, before pandas."""
        satisfaction = {"count": _INT, "mean": _FLOAT} | {str(s): _INT for s in SCORES}

        def scores(s: Satisfaction) -> dict[str, Any]:
            return {"count": s.count, "mean": s.mean} | {
                str(score): s.distribution.get(score, 0) for score in SCORES
            }

        def csat(by: str, groups: Mapping[str | None, Satisfaction]) -> _Table:
            return _Table(by, _LABEL, {k: scores(s) for k, s in groups.items()}, satisfaction)

        return {
            "volume": _Table(
                "start", _TIME,
                {b.start: {"created": b.created, "resolved": b.resolved, "closed": b.closed}
                 for b in self.volume},
                {"created": _INT, "resolved": _INT, "closed": _INT},
            ),
            "durations": _Table(
                "measure", _LABEL,
                {name: attrs.asdict(getattr(self, name)) for name in (
                    "first_response", "resolution", "first_response_business", "resolution_business"
                )},
                {"count": _INT, "mean": _FLOAT, "median": _FLOAT, "p90": _FLOAT},
            ),
            "sla": _Table(
                "priority", _INT,
                {p: attrs.asdict(c) | {"response_rate": c.response_rate,
                                       "resolution_rate": c.resolution_rate}
                 for p, c in self.sla.items()},
                {"response_met": _INT, "response_missed": _INT, "resolution_met": _INT,
                 "resolution_missed": _INT, "response_rate": _FLOAT, "resolution_rate": _FLOAT},
            ),
            "csat": _Table(None, _LABEL, {"all": scores(self.csat)}, satisfaction),
            "csat_by_agent": csat("agent", self.csat_by_agent),
            "csat_by_root_cause": csat("root_cause", self.csat_by_root_cause),
            "csat_by_category": csat("category", self.csat_by_category),
            "root_causes": _Table(
                "root_cause", _LABEL, {k: {"tickets": n} for k, n in self.root_causes.items()},
                {"tickets": _INT},
            ),
            "time_in_status": _Table(
                "status", _LABEL, {k: {"seconds": n} for k, n in self.time_in_status.items()},
                {"seconds": _INT},
            ),
            "agents": _Table(
                "agent", _LABEL,
                {row.agent: attrs.asdict(row, filter=lambda a, _: a.name != "agent")
                 for row in self.agents},
                {"assigned": _INT, "resolved": _INT, "first_response_median": _FLOAT,
                 "resolution_median": _FLOAT, "csat_mean": _FLOAT, "breaches": _INT},
            ),
        }  # fmt: skip

    def _summary(self) -> list[tuple[str, str]]:
        """The headline figures, as (label, text) pairs."""
        return [
            ("window", f"{format_time(self.start)} to {format_time(self.end)} by {self.interval}"),
            ("created / resolved / closed", " / ".join(
                str(sum(getattr(b, name) for b in self.volume))
                for name in ("created", "resolved", "closed")
            )),
            ("first response (median, p90)", _hours(self.first_response)),
            ("resolution (median, p90)", _hours(self.resolution)),
            ("CSAT", "-" if self.csat.mean is None else f"{self.csat.mean:.2f} of {self.csat.count}"),
            ("reopen rate", "-" if self.reopen_rate is None else f"{self.reopen_rate:.1%}"),
            ("agents", str(len(self.agents))),
        ]  # fmt: skip

    def __repr__(self) -> str:
        lines = "".join(f"\n  {label}: {text}" for label, text in self._summary())
        return f"<Metrics{lines}>"

    def _repr_html_(self) -> str:
        """A readable summary for notebooks."""
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._summary()
        )
        return f"<table>{body}</table>"


_INT, _FLOAT, _LABEL, _TIME = "int64", "float64", "object", "datetime64[ns, UTC]"
"""The dtypes of the frames: counts, figures that may be missing (NaN), labels, instants."""


@attrs.frozen
class _Table:
    """One frame of :meth:`Metrics.to_pandas` as plain values: the index's name and dtype,
    the rows by their label, and the columns with their dtypes, in order."""

    index: str | None
    index_dtype: str
    rows: Mapping[Any, Mapping[str, Any]]
    columns: Mapping[str, str]


def _pandas() -> Any:
    """pandas, imported when first asked for (an optional extra)."""
    from ..extras import require

    return require("pandas", extra="pandas", purpose="to_pandas()")


def _hours(durations: Durations) -> str:
    if durations.median is None or durations.p90 is None:
        return "-"
    return f"{durations.median / 3600:.1f} h, {durations.p90 / 3600:.1f} h ({durations.count})"
