"""``ayra-tickets report``: the support figures as one self-contained HTML page (a header
of KPI tiles, charts, a sortable agent table; Plotly's script inlined once, so the page
opens offline), or as CSV tables.

Every figure is drawn from ``engine.metrics`` (and ``engine.metrics.backlog``): the page
shows exactly what the API answers, with priorities by their labels and agents by their
names (``engine.agents``). The tiles compare the window with the one of the same length
just before it (a second ``engine.metrics`` call). Without a start, the window is fitted
to the data: it begins with the first day (or week) that saw a ticket created, resolved
or closed in the 30 days before its end. Needs the ``[report]`` extra for HTML.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .domain.metrics import DEFAULT_WINDOW, Durations, Metrics
from .domain.priority import Priority
from .domain.times import format_time, utc_seconds
from .extras import require

if TYPE_CHECKING:
    from .engine import Engine

STATUS_ORDER = (
    "new", "open", "in_progress", "waiting_on_customer", "waiting_on_third_party",
    "resolved", "reopened", "closed",
)  # fmt: skip
OPEN_STATUSES = tuple(s for s in STATUS_ORDER if s not in ("resolved", "closed"))
"""The open work: every status but resolved and closed, in lifecycle order."""

PRIORITY_COLOURS = {1: "#c62828", 2: "#ef6c00", 3: "#1e88e5", 4: "#90a4ae"}
"""One colour a priority, the same in every chart: red for Critical to grey for Low."""
CREATED_COLOUR, SOLVED_COLOUR = "#5c6bc0", "#43a047"
MEDIAN_COLOUR, P90_COLOUR = "#1e88e5", "#90caf9"
CSAT_COLOUR = "#7e57c2"

"""Without a start, the window looks this far back from its end (then fits the data)."""
UNASSIGNED, NO_ROOT_CAUSE = "(unassigned)", "(none)"
HOUR = 3600


def priority_label(priority: int) -> str:
    """``Critical``, ``High``, ``Normal`` or ``Low``."""
    return Priority(priority).label


def status_label(status: str) -> str:
    """``waiting_on_customer`` as ``Waiting on customer``."""
    return status.replace("_", " ").capitalize()


def root_cause_label(cause: str | None) -> str:
    return NO_ROOT_CAUSE if cause is None else cause.replace("_", " ").capitalize()


# -- the figures ----------------------------------------------------------------------


@attrs.frozen
class Report:
    """What the page and the tables show: the window's figures and the previous
    window's, the open work at the window's end (or now, if sooner) and at its start, the
    agents' names, and whether any SLA policy measures business time."""

    metrics: Metrics
    previous: Metrics
    backlog: dict[str, dict[int, int]]
    backlog_before: dict[str, dict[int, int]]
    as_of: datetime
    now: datetime
    names: dict[str, str]
    business: bool
    filters: dict[str, Any]

    def agent_name(self, agent: str | None) -> str:
        """The agent's name from the directory; its id when it has none."""
        return UNASSIGNED if agent is None else self.names.get(agent, agent)

    @property
    def open_backlog(self) -> dict[str, dict[int, int]]:
        """The open work only (not resolved or closed), by status then priority."""
        return {s: self.backlog[s] for s in OPEN_STATUSES if self.backlog.get(s)}


def gather(engine: Engine, start: Any = None, end: Any = None, **options: Any) -> Report:
    """The figures of ``[start, end)`` (``end`` default: now; ``start`` default: fitted
    to the data, see the module) and of the window of the same length before it."""
    filters = {k: v for k, v in options.items() if k != "interval"}
    interval = options.get("interval", "day")
    now = utc_seconds(engine.clock.now())  # one instant throughout, in whole seconds
    if end is None:
        end = now
    if start is None:
        start = fitted_start(engine, end, interval, **filters)
    metrics = engine.metrics(start, end, **options)
    length = metrics.end - metrics.start
    previous = engine.metrics(metrics.start - length, metrics.start, **options)
    as_of = min(metrics.end, now)
    return Report(
        metrics=metrics,
        previous=previous,
        backlog=engine.metrics.backlog(as_of, **filters),
        backlog_before=engine.metrics.backlog(min(metrics.start, now), **filters),
        as_of=as_of,
        now=now,
        names=engine.agents.list(),
        business=any(p.calendar is not None for p in engine.sla.policies.values()),
        filters=filters,
    )


def fitted_start(engine: Engine, end: Any, interval: str = "day", **filters: Any) -> datetime:
    """The start of the first period with any ticket created, resolved or closed in the
    :data:`~ayra_tickets.domain.metrics.DEFAULT_WINDOW` (30 days) before ``end``; that
    look-back's start when none had any."""
    probe = engine.metrics(_as_time(end) - DEFAULT_WINDOW, end, interval=interval, **filters)
    for bucket in probe.volume:
        if bucket.created or bucket.resolved or bucket.closed:
            return max(bucket.start, probe.start)
    return probe.start


def _as_time(value: Any) -> datetime:
    from .domain.times import parse_time

    return parse_time(value, "end")


# -- the tiles ------------------------------------------------------------------------


@attrs.frozen
class Tile:
    """One KPI of the header: its value and the previous window's, in ``unit``
    (``count``, ``seconds``, ``rate`` or ``score``); ``better`` is +1 when a rise is
    good news, -1 when it is bad news, 0 when it is neither."""

    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str
    better: int
    note: str

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def text(self) -> str:
        return _formatted(self.value, self.unit)

    @property
    def change_text(self) -> str:
        """``+12 (+7%)``, ``-6 min``, ``+3.1 pts``, ``+0.21``; ``n/a`` without both."""
        change = self.change
        if change is None:
            return "n/a"
        if not change:
            return "no change"
        sign = "+" if change > 0 else "\u2212"
        size = abs(change)
        if self.unit == "count":
            share = f" ({sign}{size / self.previous:.0%})" if self.previous else ""
            return f"{sign}{size:,.0f}{share}"
        if self.unit == "seconds":
            return sign + _duration(size)
        if self.unit == "rate":
            return f"{sign}{size * 100:.1f} pts"
        return f"{sign}{size:.2f}"

    @property
    def mood(self) -> str:
        """``good``, ``bad`` or ``same``: how the change reads for a support lead."""
        change = self.change
        if not change or not self.better:
            return "same"
        return "good" if (change > 0) == (self.better > 0) else "bad"


def tiles(report: Report) -> list[Tile]:
    """The header's KPIs, in the order of Zendesk Explore's support dashboard."""
    m, p = report.metrics, report.previous

    def created(metrics: Metrics) -> int:
        return sum(b.created for b in metrics.volume)

    def solved(metrics: Metrics) -> int:
        return sum(b.resolved for b in metrics.volume)

    return [
        Tile("created", "Created", created(m), created(p), "count", 0,
             "tickets created in the window"),
        Tile("solved", "Solved", solved(m), solved(p), "count", 1,
             "tickets resolved in the window (a close of an unresolved ticket resolves it)"),
        Tile("backlog", "Backlog now" if report.as_of == report.now else "Backlog at end",
             open_work(report.backlog), open_work(report.backlog_before),
             "count", -1, f"open tickets (not resolved or closed) at {_moment(report.as_of)}; "
             "the change is against the window's start"),
        Tile("first_response", "First response, median", m.first_response.median,
             p.first_response.median, "seconds", -1,
             "tickets created in the window: creation to first response, calendar time"),
        Tile("resolution", "Resolution, median", m.resolution.median, p.resolution.median,
             "seconds", -1, "resolutions in the window: creation to resolution, calendar time"),
        Tile("sla", "SLA compliance", sla_compliance(m), sla_compliance(p), "rate", 1,
             "of the response and resolution targets decided for tickets created in the "
             "window, the share met"),
        Tile("csat", "CSAT", m.csat.mean, p.csat.mean, "score", 1,
             f"mean satisfaction (1-10) of the tickets closed in the window ({m.csat.count} rated)"),
        Tile("reopen_rate", "Reopen rate", m.reopen_rate, p.reopen_rate, "rate", -1,
             "of the tickets resolved in the window, the share reopened at least once"),
    ]  # fmt: skip


def open_work(backlog: Mapping[str, Mapping[int, int]]) -> int:
    """Open tickets (not resolved or closed) in a backlog by status and priority."""
    return sum(sum(backlog.get(s, {}).values()) for s in OPEN_STATUSES)


def sla_compliance(metrics: Metrics) -> float | None:
    """Of every response and resolution target decided (met or missed), the share met."""
    met = sum(c.response_met + c.resolution_met for c in metrics.sla.values())
    missed = sum(c.response_missed + c.resolution_missed for c in metrics.sla.values())
    return met / (met + missed) if met + missed else None


def _formatted(value: float | None, unit: str) -> str:
    if value is None:
        return "\u2013"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "seconds":
        return _duration(value)
    if unit == "rate":
        return f"{value:.1%}"
    return f"{value:.2f} / 10"


def _duration(seconds: float) -> str:
    """Minutes under an hour, else hours with one decimal."""
    if seconds < HOUR:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / HOUR:.1f} h"


# -- the tables (CSV) -----------------------------------------------------------------


def tables(report: Report) -> dict[str, list[dict[str, Any]]]:
    """The figures as named tables of rows, what the CSV files hold: hours to two
    decimals, rates to three, CSAT means to two; agents by id and name."""
    m = report.metrics
    return {
        "kpis": [
            {"kpi": t.key, "label": t.label, "unit": "hours" if t.unit == "seconds" else t.unit,
             "value": _rounded(t.value, t.unit), "previous": _rounded(t.previous, t.unit),
             "change": _rounded(t.change, t.unit)}
            for t in tiles(report)
        ],
        "volume": [
            {"start": format_time(b.start), "created": b.created, "solved": b.resolved,
             "closed": b.closed}
            for b in m.volume
        ],
        "backlog": [
            {"status": status, "priority": priority, "priority_label": priority_label(priority),
             "tickets": count}
            for status, by in report.open_backlog.items()
            for priority, count in sorted(by.items())
        ],
        "durations": [
            {"measure": label, "count": d.count, "mean_hours": _hours(d.mean),
             "median_hours": _hours(d.median), "p90_hours": _hours(d.p90)}
            for label, d in durations(report).items()
        ],
        "sla": [
            {"priority": priority, "priority_label": priority_label(priority),
             "response_met": c.response_met, "response_missed": c.response_missed,
             "response_rate": _round(c.response_rate, 3),
             "resolution_met": c.resolution_met, "resolution_missed": c.resolution_missed,
             "resolution_rate": _round(c.resolution_rate, 3)}
            for priority, c in sorted(m.sla.items())
        ],
        "csat_by_agent": [
            {"agent_id": agent, "agent_name": report.agent_name(agent), "count": s.count,
             "mean": _round(s.mean, 2)}
            for agent, s in _by_agent(report)
        ],
        "csat_by_root_cause": [
            {"root_cause": cause, "count": s.count, "mean": _round(s.mean, 2)}
            for cause, s in _by_cause(report)
        ],
        "agents": [
            {"agent_id": row.agent, "agent_name": report.agent_name(row.agent),
             "assigned": row.assigned, "solved": row.resolved,
             "first_response_median_hours": _hours(row.first_response_median),
             "resolution_median_hours": _hours(row.resolution_median),
             "csat_mean": _round(row.csat_mean, 2), "breaches": row.breaches}
            for row in m.agents
        ],
        "time_in_status": [
            {"status": status, "hours": _hours(m.time_in_status[status])}
            for status in STATUS_ORDER
            if status in m.time_in_status
        ],
    }  # fmt: skip


def durations(report: Report) -> dict[str, Durations]:
    """The response and resolution times by their labels; business time only where an
    SLA policy has a business calendar (elsewhere it is calendar time, a duplicate)."""
    m = report.metrics
    found = {"First response": m.first_response, "Resolution": m.resolution}
    if report.business:
        found["First response (business hours)"] = m.first_response_business
        found["Resolution (business hours)"] = m.resolution_business
    return found


def _by_agent(report: Report) -> list[tuple[str | None, Any]]:
    """CSAT by agent, by name (the unassigned last)."""
    return sorted(
        report.metrics.csat_by_agent.items(),
        key=lambda kv: (kv[0] is None, report.agent_name(kv[0]).casefold()),
    )


def _by_cause(report: Report) -> list[tuple[str | None, Any]]:
    """CSAT by root cause, by name (none last)."""
    return sorted(
        report.metrics.csat_by_root_cause.items(), key=lambda kv: (kv[0] is None, kv[0] or "")
    )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 2)


def _rounded(value: float | None, unit: str) -> float | None:
    if unit == "seconds":
        return _hours(value)
    if unit == "count":
        return None if value is None else int(value)
    return _round(value, {"rate": 3, "score": 2}[unit])


def write_csv(
    engine: Engine, directory: str | Path, start: Any = None, end: Any = None, **options: Any
) -> list[Path]:
    """Write each table as ``DIRECTORY/NAME.csv``; the paths written."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in tables(gather(engine, start, end, **options)).items():
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            if rows:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        written.append(path)
    return written


# -- the charts -----------------------------------------------------------------------


CHART_TITLES = {
    "volume": "Tickets created vs solved",
    "backlog": "Backlog: open work by status and priority",
    "durations": "First response and resolution times",
    "sla": "SLA compliance by priority",
    "csat_by_agent": "CSAT by agent",
    "csat_by_root_cause": "CSAT by root cause",
}


def charts(report: Report) -> dict[str, Any]:
    """The page's Plotly figures, by name, with the figures as ``engine.metrics`` gives
    them (rounding is for the text drawn on the bars only)."""
    go = plotly("graph_objects")

    m = report.metrics
    week = m.interval == "week"
    periods = [format_time(b.start) for b in m.volume]
    volume = go.Figure([
        go.Bar(name="Created", x=periods,
               y=[b.created for b in m.volume], marker_color=CREATED_COLOUR),
        go.Bar(name="Solved", x=periods,
               y=[b.resolved for b in m.volume], marker_color=SOLVED_COLOUR),
    ])  # fmt: skip
    volume.update_layout(
        barmode="group",
        xaxis={"title": "week starting (UTC)" if week else "day (UTC)", "type": "category",
               "tickvals": periods, "ticktext": [_day(b.start, week) for b in m.volume]},
        yaxis={"title": "tickets", "rangemode": "tozero"},
    )  # fmt: skip

    open_work = report.open_backlog
    backlog = go.Figure([
        go.Bar(name=priority_label(p), marker_color=PRIORITY_COLOURS[p], orientation="h",
               y=[status_label(s) for s, by in open_work.items() if p in by],
               x=[by[p] for by in open_work.values() if p in by])
        for p in PRIORITY_COLOURS
    ])  # fmt: skip
    backlog.update_layout(
        barmode="stack",
        yaxis={"title": "status", "categoryorder": "array", "automargin": True,
               "categoryarray": [status_label(s) for s in reversed(OPEN_STATUSES)],
               # "Waiting on" on a line of its own: room for the legend above the bars
               "tickvals": [status_label(s) for s in OPEN_STATUSES],
               "ticktext": [status_label(s).replace("Waiting on ", "Waiting on<br>")
                            for s in OPEN_STATUSES]},
        xaxis={"title": "open tickets", "rangemode": "tozero"},
        legend={"traceorder": "normal"},
    )  # fmt: skip

    times = durations(report)
    spread = go.Figure([
        go.Bar(name=name, x=list(times), marker_color=colour,
               y=[_in_hours(getattr(d, field)) for d in times.values()],
               texttemplate="%{y:.1f} h", textposition="outside")
        for name, field, colour in (("Median", "median", MEDIAN_COLOUR),
                                    ("90th percentile", "p90", P90_COLOUR))
    ])  # fmt: skip
    spread.update_layout(
        barmode="group", xaxis={"title": "measure"},
        yaxis={"title": "hours", "rangemode": "tozero"},
    )  # fmt: skip

    sla = sorted(m.sla.items())
    compliance = go.Figure([
        go.Bar(name=name, x=[priority_label(p) for p, _ in sla],
               y=[getattr(c, f"{field}_rate") for _, c in sla],
               marker={"color": [PRIORITY_COLOURS[p] for p, _ in sla],
                       "pattern": {"shape": shape, "fgcolor": "white", "size": 8}},
               customdata=[[getattr(c, f"{field}_met"),
                            getattr(c, f"{field}_met") + getattr(c, f"{field}_missed")]
                           for _, c in sla],
               texttemplate="%{y:.0%}", textposition="outside", textangle=0,
               cliponaxis=False,
               hovertemplate="%{x}: %{y:.1%} (%{customdata[0]} of %{customdata[1]})")
        for name, field, shape in (("First response", "response", ""),
                                   ("Resolution", "resolution", "/"))
    ])  # fmt: skip
    compliance.update_layout(
        barmode="group", xaxis={"title": "priority"},
        yaxis={"title": "targets met", "range": [0, 1.12], "tickformat": ".0%",
               "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1]},
        legend={"title": "target:"},
    )  # fmt: skip

    def satisfaction(labels: list[str], rows: list[Any], axis: str) -> Any:
        figure = go.Figure(
            go.Bar(name="Mean CSAT", orientation="h", y=labels, x=[s.mean for s in rows],
                   marker_color=CSAT_COLOUR, customdata=[s.count for s in rows],
                   texttemplate="%{x:.1f} (%{customdata} rated)", textposition="inside",
                   insidetextanchor="end", hovertemplate="%{y}: %{x:.2f} of %{customdata}")
        )  # fmt: skip
        figure.update_layout(
            showlegend=False, height=max(260, 70 + 32 * len(labels)),
            xaxis={"title": "mean satisfaction score (1-10)", "range": [0, 10]},
            yaxis={"title": axis, "autorange": "reversed", "automargin": True},
        )  # fmt: skip
        return figure

    by_agent, by_cause = _by_agent(report), _by_cause(report)
    figures = {
        "volume": volume,
        "backlog": backlog,
        "durations": spread,
        "sla": compliance,
        "csat_by_agent": satisfaction(
            [report.agent_name(a) for a, _ in by_agent], [s for _, s in by_agent], "agent"
        ),
        "csat_by_root_cause": satisfaction(
            [root_cause_label(c) for c, _ in by_cause], [s for _, s in by_cause], "root cause"
        ),
    }
    for figure in figures.values():
        figure.update_layout(
            template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": 50},
            font={"family": FONTS, "size": 12},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        )  # fmt: skip
        if figure.layout.legend.x is None:  # above the plot, from its left edge
            figure.update_layout(legend_x=0)
        if figure.layout.height is None:
            figure.update_layout(height=340)
    return figures


def _in_hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / HOUR


def _day(value: datetime, week: bool) -> str:
    """A period's tick: ``Mon 13 Jan``, or ``13 Jan`` for a week."""
    return f"{value.day} {value:%b}" if week else f"{value:%a} {value.day} {value:%b}"


# -- the page -------------------------------------------------------------------------


FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
"""The reader's own fonts: the page fetches none."""

STYLE = """
body { font-family: FONTS; margin: 0; background: #f4f6f8; color: #1f2933; }
main { max-width: 76rem; margin: 0 auto; padding: 1.5rem 2rem 2.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.05rem; margin: 0 0 .2rem; }
.window { margin: 0 0 1.25rem; color: #52606d; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: .75rem; margin-bottom: 1rem; }
.tile { background: #fff; border-radius: 8px; padding: .8rem 1rem; box-shadow: 0 1px 2px #0002; }
.tile .label { font-size: .85rem; color: #52606d; }
.tile .value { font-size: 1.7rem; font-weight: 600; margin: .15rem 0; }
.tile .change { font-size: .85rem; }
.tile .good { color: #2e7d32; } .tile .bad { color: #c62828; } .tile .same { color: #52606d; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; }
.card { background: #fff; border-radius: 8px; padding: 1rem 1rem .5rem; box-shadow: 0 1px 2px #0002; }
.card .note { font-size: .8rem; color: #52606d; margin: 0 0 .25rem; }
#agents { margin-top: 1rem; }
table.agents { border-collapse: collapse; width: 100%; font-size: .9rem; }
table.agents th, table.agents td { padding: .4rem .6rem; border-bottom: 1px solid #e4e7eb; }
table.agents th { text-align: left; cursor: pointer; user-select: none; white-space: nowrap; }
table.agents th[aria-sort=ascending]::after { content: " \\25B2"; }
table.agents th[aria-sort=descending]::after { content: " \\25BC"; }
table.agents td.num, table.agents th.num { text-align: right; }
footer { margin-top: 1rem; font-size: .8rem; color: #52606d; }
""".replace("FONTS", FONTS)

SORTING = """
document.querySelectorAll('table.agents th').forEach((th, column) => th.addEventListener('click', () => {
  const table = th.closest('table'), body = table.tBodies[0];
  const order = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
  table.querySelectorAll('th').forEach(other => other.removeAttribute('aria-sort'));
  th.setAttribute('aria-sort', order);
  const key = row => row.cells[column].dataset.sort;
  const numeric = th.classList.contains('num');
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === '' || y === '') return (x === '') - (y === '');  // no figure: always last
    const by = numeric ? Number(x) - Number(y) : x.localeCompare(y);
    return order === 'ascending' ? by : -by;
  });
  rows.forEach(row => body.appendChild(row));
}));
"""
"""Sorts the agent table by a column on a click on its header (again: the other way)."""

NOTES = {
    "volume": "Tickets created and tickets solved (resolved, or closed unresolved) per {period}.",
    "backlog": "Open tickets (not resolved or closed) at {as_of}, by status and priority.",
    "durations": "Medians and 90th percentiles, in hours: first response for tickets created "
    "in the window, resolution for the tickets resolved in it.",
    "sla": "Of the targets decided for tickets created in the window, the share met.",
    "csat_by_agent": "Mean satisfaction of the tickets closed in the window, by assignee.",
    "csat_by_root_cause": "Mean satisfaction of the tickets closed in the window, by root cause.",
}


def plotly(module: str) -> Any:
    """A module of Plotly, which the HTML page needs (the ``[report]`` extra)."""
    return require(f"plotly.{module}", extra="report", purpose="the HTML report (report --html)")


def render_html(engine: Engine, start: Any = None, end: Any = None, **options: Any) -> str:
    """One page, no network needed: the KPI tiles, the charts and the agent table."""
    plotly("offline")  # before any figure is read: a missing extra is said first
    return page(gather(engine, start, end, **options))


def page(report: Report) -> str:
    """The report as one self-contained HTML page."""
    get_plotlyjs = plotly("offline").get_plotlyjs
    m = report.metrics
    notes = {
        name: text.format(period=m.interval, as_of=_moment(report.as_of))
        for name, text in NOTES.items()
    }
    cards = "\n".join(_card(name, figure, notes[name]) for name, figure in charts(report).items())
    window = html.escape(_window(report))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Support report, {window}</title>
<style>{STYLE}</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<main>
<h1>Support report</h1>
<p class="window">{window}</p>
<section class="tiles" id="kpis">
{_tiles_html(tiles(report))}
</section>
<div class="charts">
{cards}
</div>
<section class="card" id="agents">
<h2>Agents</h2>
<p class="note">Tickets created in the window assigned to each agent, resolutions in the
window, median times in hours, mean CSAT of the tickets closed in the window, and the
tickets created in the window whose SLA is breached. Click a column to sort.</p>
{_agent_table(report)}
</section>
<footer>Drawn from <code>engine.metrics</code> at {html.escape(_moment(report.now))}.
Times are UTC.</footer>
</main>
<script>{SORTING}</script>
<script type="application/json" id="metrics">{_json(m.to_dicts())}</script>
<script type="application/json" id="previous-metrics">{_json(report.previous.to_dicts())}</script>
</body>
</html>
"""


def _card(name: str, figure: Any, note: str) -> str:
    """A chart with its title and what it counts; the figure's data drawn by Plotly."""
    drawn = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{name}",
        default_width="100%",
        default_height=f"{figure.layout.height}px",
        config={"displaylogo": False, "responsive": True},
    )
    return (
        f'<section class="card" id="{name}"><h2>{html.escape(CHART_TITLES[name])}</h2>'
        f'<p class="note">{html.escape(note)}</p>{drawn}</section>'
    )


def _json(value: Any) -> str:
    return html.escape(json.dumps(value), quote=False)


def _window(report: Report) -> str:
    """``Mon 13 Jan 2025 to Sun 19 Jan 2025, 7 days by day, against the 7 days before
    (6 Jan to 12 Jan); filters.``"""
    m, p = report.metrics, report.previous
    days = (m.end - m.start) / timedelta(days=1)
    length = f"{days:.0f} day" if days.is_integer() else f"{days:.1f} day"
    length += "" if days == 1 else "s"
    given = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(report.filters.items()))
    return (
        f"{_span(m.start, m.end)} ({length}, by {m.interval}); changes against the {length}"
        f" before ({_span(p.start, m.start)})" + (f"; {given}" if given else "")
    )


def _span(start: datetime, end: datetime) -> str:
    """``Mon 13 Jan 2025 to Sun 19 Jan 2025`` for whole days (the end is exclusive), else
    the two instants."""
    if _midnight(start) and _midnight(end):
        return f"{_date(start)} to {_date(end - timedelta(days=1))}"
    return f"{_moment(start)} to {_moment(end)}"


def _midnight(value: datetime) -> bool:
    return (value.hour, value.minute, value.second) == (0, 0, 0)


def _date(value: datetime) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def _moment(value: datetime) -> str:
    """``Mon 13 Jan 2025 14:05 UTC``."""
    return f"{_date(value)} {value:%H:%M} UTC"


def _tiles_html(shown: Iterable[Tile]) -> str:
    return "\n".join(
        f'<div class="tile" id="kpi-{t.key}" data-kpi="{t.key}" data-unit="{t.unit}"'
        f' data-value="{_attribute(t.value)}" data-previous="{_attribute(t.previous)}"'
        f' title="{html.escape(t.note)}">'
        f'<div class="label">{html.escape(t.label)}</div>'
        f'<div class="value">{html.escape(t.text)}</div>'
        f'<div class="change {t.mood}">{html.escape(t.change_text)} vs previous'
        f" ({html.escape(_formatted(t.previous, t.unit))})</div></div>"
        for t in shown
    )


def _attribute(value: float | None) -> str:
    return "" if value is None else repr(value)


AGENT_COLUMNS: list[tuple[str, str, Callable[[Any], Any], Callable[[Any], str]]] = [
    ("Agent", "text", lambda row: row[0], str),
    ("Assigned", "num", lambda row: row[1].assigned, str),
    ("Solved", "num", lambda row: row[1].resolved, str),
    ("First response median (h)", "num", lambda row: _in_hours(row[1].first_response_median),
     lambda v: f"{v:.1f}"),
    ("Resolution median (h)", "num", lambda row: _in_hours(row[1].resolution_median),
     lambda v: f"{v:.1f}"),
    ("CSAT", "num", lambda row: row[1].csat_mean, lambda v: f"{v:.2f}"),
    ("SLA breaches", "num", lambda row: row[1].breaches, str),
]  # fmt: skip
"""The agent table's columns: header, kind, the figure of a (name, row), its text."""


def _agent_table(report: Report) -> str:
    head = "".join(
        f'<th class="{kind}" scope="col">{html.escape(title)}</th>'
        for title, kind, _, _ in AGENT_COLUMNS
    )
    rows = []
    for row in report.metrics.agents:
        named = (report.agent_name(row.agent), row)
        cells = []
        for _, kind, figure, text in AGENT_COLUMNS:
            value = figure(named)
            sort = "" if value is None else (repr(value) if kind == "num" else value)
            shown = "\u2013" if value is None else text(value)
            cells.append(
                f'<td class="{kind}" data-sort="{html.escape(str(sort))}">{html.escape(shown)}</td>'
            )
        rows.append(f'<tr data-agent="{html.escape(row.agent or "")}">{"".join(cells)}</tr>')
    return (
        f'<table class="agents"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
