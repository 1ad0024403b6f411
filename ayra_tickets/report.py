"""``ayra-tickets report``: the support figures as one self-contained HTML page of charts
(Plotly, its script inlined, so the page needs no network), or as CSV tables.

Every chart is drawn from ``engine.metrics`` (and ``engine.metrics.backlog``), so the
page shows exactly the figures the API answers. Needs the ``[report]`` extra for HTML.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .domain.metrics import Metrics
from .domain.times import format_time

if TYPE_CHECKING:
    from .engine import Engine

STATUS_ORDER = (
    "new", "open", "in_progress", "waiting_on_customer", "waiting_on_third_party",
    "resolved", "reopened", "closed",
)  # fmt: skip


def tables(metrics: Metrics, backlog: dict[str, dict[int, int]]) -> dict[str, list[dict[str, Any]]]:
    """The figures as named tables of rows: what the CSV files hold and the charts draw."""
    hours = 3600
    return {
        "volume": [
            {"start": format_time(b.start), "created": b.created, "resolved": b.resolved, "closed": b.closed}
            for b in metrics.volume
        ],
        "backlog": [
            {"status": status, "priority": priority, "tickets": count}
            for status in STATUS_ORDER
            for priority, count in sorted(backlog.get(status, {}).items())
        ],
        "durations": [
            {"measure": label, "count": d.count, "mean_hours": _scaled(d.mean, hours),
             "median_hours": _scaled(d.median, hours), "p90_hours": _scaled(d.p90, hours)}
            for label, d in (
                ("first response", metrics.first_response),
                ("first response (business)", metrics.first_response_business),
                ("resolution", metrics.resolution),
                ("resolution (business)", metrics.resolution_business),
            )
        ],
        "sla": [
            {"priority": priority, "response_rate": c.response_rate, "resolution_rate": c.resolution_rate,
             "response_met": c.response_met, "response_missed": c.response_missed,
             "resolution_met": c.resolution_met, "resolution_missed": c.resolution_missed}
            for priority, c in sorted(metrics.sla.items())
        ],
        "csat_by_agent": [
            {"agent": agent or "(unassigned)", "count": s.count, "mean": s.mean}
            for agent, s in sorted(metrics.csat_by_agent.items(), key=lambda kv: kv[0] or "")
        ],
        "csat_by_root_cause": [
            {"root_cause": cause or "(none)", "count": s.count, "mean": s.mean}
            for cause, s in sorted(metrics.csat_by_root_cause.items(), key=lambda kv: kv[0] or "")
        ],
        "agents": [
            {"agent": row.agent or "(unassigned)", "assigned": row.assigned, "resolved": row.resolved,
             "first_response_median_hours": _scaled(row.first_response_median, hours),
             "resolution_median_hours": _scaled(row.resolution_median, hours),
             "csat_mean": row.csat_mean, "breaches": row.breaches}
            for row in metrics.agents
        ],
        "time_in_status": [
            {"status": status, "hours": metrics.time_in_status[status] / hours}
            for status in STATUS_ORDER
            if status in metrics.time_in_status
        ],
    }  # fmt: skip


def _scaled(value: float | None, unit: int) -> float | None:
    return None if value is None else value / unit


def write_csv(
    engine: Engine, directory: str | Path, start: Any, end: Any, **options: Any
) -> list[Path]:
    """Write each table as ``DIRECTORY/NAME.csv``; the paths written."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in _tables(engine, start, end, **options).items():
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            if rows:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        written.append(path)
    return written


def _tables(
    engine: Engine, start: Any, end: Any, **options: Any
) -> dict[str, list[dict[str, Any]]]:
    filters = {k: v for k, v in options.items() if k != "interval"}
    metrics = engine.metrics(start, end, **options)
    backlog = engine.metrics.backlog(min(metrics.end, engine.clock.now()), **filters)
    return tables(metrics, backlog)


def charts(engine: Engine, start: Any, end: Any, **options: Any) -> dict[str, Any]:
    """The report's Plotly figures, by name, drawn from the tables."""
    import plotly.graph_objects as go

    data = _tables(engine, start, end, **options)

    def bars(rows: list[dict[str, Any]], x: str, ys: list[str], title: str, **layout: Any) -> Any:
        figure = go.Figure(
            [go.Bar(name=y, x=[r[x] for r in rows], y=[r[y] for r in rows]) for y in ys]
        )
        figure.update_layout(title=title, barmode="group", template="plotly_white", **layout)
        return figure

    backlog = go.Figure([
        go.Bar(name=f"priority {p}", x=[r["status"] for r in data["backlog"] if r["priority"] == p],
               y=[r["tickets"] for r in data["backlog"] if r["priority"] == p])
        for p in (1, 2, 3, 4)
    ])  # fmt: skip
    # a categorical axis takes its order from the first trace that names each status;
    # the lifecycle's order reads better than whichever priority happens to come first
    backlog.update_layout(
        title="Backlog by status and priority", barmode="stack", template="plotly_white",
        xaxis={"categoryorder": "array", "categoryarray": list(STATUS_ORDER)},
    )  # fmt: skip
    return {
        "volume": bars(data["volume"], "start", ["created", "resolved", "closed"], "Tickets per period"),
        "backlog": backlog,
        "durations": bars(data["durations"], "measure", ["median_hours", "p90_hours", "mean_hours"],
                          "Response and resolution times (hours)"),
        "sla": bars(data["sla"], "priority", ["response_rate", "resolution_rate"],
                    "SLA compliance by priority", yaxis={"range": [0, 1], "tickformat": ".0%"}),
        "csat_by_agent": bars(data["csat_by_agent"], "agent", ["mean"], "CSAT by agent",
                              yaxis={"range": [0, 10]}),
        "csat_by_root_cause": bars(data["csat_by_root_cause"], "root_cause", ["mean"],
                                   "CSAT by root cause", yaxis={"range": [0, 10]}),
    }  # fmt: skip


def render_html(engine: Engine, start: Any, end: Any, **options: Any) -> str:
    """One page, no network needed: a summary table and every chart."""
    from plotly.offline import get_plotlyjs

    metrics = engine.metrics(start, end, **options)
    figures = charts(engine, start, end, **options)
    divs = "\n".join(
        f'<section id="{name}">{figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{name}")}</section>'
        for name, figure in figures.items()
    )
    window = f"{format_time(metrics.start)} to {format_time(metrics.end)}"
    payload = html.escape(json.dumps(metrics.to_dicts()), quote=False)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Support report, {html.escape(window)}</title>
<script>{get_plotlyjs()}</script>
<style>body {{ font-family: system-ui, sans-serif; margin: 2rem; }} section {{ max-width: 60rem; }}</style>
</head>
<body>
<h1>Support report</h1>
<p>{html.escape(window)}, by {html.escape(metrics.interval)}; as of {html.escape(format_time(engine.clock.now()))}</p>
{metrics._repr_html_()}
{divs}
<script type="application/json" id="metrics">{payload}</script>
</body>
</html>
"""
