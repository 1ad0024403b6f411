"""The report: its charts and CSV tables show exactly engine.metrics' figures, and the
HTML page is one self-contained file (the chart library inlined, nothing fetched)."""

from __future__ import annotations

import csv
import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from ayra_tickets import Engine, ManualClock
from ayra_tickets import report as reporting
from ayra_tickets.cli import main
from ayra_tickets.demo import run as simulate

START = "2025-01-14T00:00:00Z"
END = "2025-01-17T00:00:00Z"


def a_day_of_support(path: Path) -> Engine:
    simulate(str(path), start=datetime(2025, 1, 15, 8, tzinfo=UTC))
    return Engine.open(path, clock=ManualClock(datetime(2025, 1, 17, tzinfo=UTC)))


def test_every_chart_draws_the_metrics_figures(tmp_path: Path) -> None:
    with a_day_of_support(tmp_path / "day.db") as engine:
        metrics = engine.metrics(START, END)
        charts = reporting.charts(engine, START, END)
        series = {trace.name: list(trace.y) for trace in charts["volume"].data}
        assert series["created"] == [b.created for b in metrics.volume]
        assert series["resolved"] == [b.resolved for b in metrics.volume]
        assert series["closed"] == [b.closed for b in metrics.volume]
        assert sum(series["created"]) > 0
        sla = {trace.name: list(trace.y) for trace in charts["sla"].data}
        assert sla["response_rate"] == [c.response_rate for _, c in sorted(metrics.sla.items())]
        by_agent = charts["csat_by_agent"].data[0]
        assert dict(zip(by_agent.x, by_agent.y, strict=True)) == {
            (agent or "(unassigned)"): s.mean for agent, s in metrics.csat_by_agent.items()
        }
        durations = {trace.name: list(trace.y) for trace in charts["durations"].data}
        assert durations["median_hours"][0] == metrics.first_response.median / 3600
        backlog = engine.metrics.backlog(END)
        drawn = {
            (status, int(trace.name.split()[-1])): count
            for trace in charts["backlog"].data
            for status, count in zip(trace.x, trace.y, strict=True)
        }
        assert drawn == {(s, p): n for s, by in backlog.items() for p, n in by.items()}


def test_the_page_is_self_contained_and_carries_the_figures(tmp_path: Path) -> None:
    with a_day_of_support(tmp_path / "day.db") as engine:
        page = reporting.render_html(engine, START, END)
        metrics = engine.metrics(START, END)
    assert not re.search(r"<script[^>]+src=", page)  # nothing to fetch
    assert "Plotly.newPlot" in page
    for name in ("volume", "backlog", "durations", "sla", "csat_by_agent", "csat_by_root_cause"):
        assert f'id="chart-{name}"' in page
    embedded = re.search(r'<script type="application/json" id="metrics">(.*?)</script>', page, re.S)
    assert embedded is not None
    assert json.loads(html.unescape(embedded.group(1))) == metrics.to_dicts()


def test_the_command_writes_the_page_and_the_csv_tables(tmp_path: Path) -> None:
    db = tmp_path / "day.db"
    a_day_of_support(db).close()
    run = CliRunner().invoke(
        main, ["--db", str(db), "report", "--html", str(tmp_path / "r.html"),
               "--csv", str(tmp_path / "tables"), "--start", START, "--end", END],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert (tmp_path / "r.html").stat().st_size > 1_000_000  # the chart library, inlined
    with Engine.open(db) as engine:
        metrics = engine.metrics(START, END)
    with (tmp_path / "tables" / "volume.csv").open() as volume:
        rows = list(csv.DictReader(volume))
    assert [int(r["created"]) for r in rows] == [b.created for b in metrics.volume]
    names = sorted(p.stem for p in (tmp_path / "tables").glob("*.csv"))
    assert names == sorted(reporting.tables(metrics, {}).keys())
    refused = CliRunner().invoke(main, ["--db", str(db), "report"])
    assert refused.exit_code == 2
