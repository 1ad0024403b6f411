"""The report: its charts and CSV tables show exactly engine.metrics' figures, and the
HTML page is one self-contained file (the chart library inlined, nothing fetched).

The helpers here (a day of support, a reader of the page) serve the other
``test_report_*`` files too.
"""

from __future__ import annotations

import csv
import html
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

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


def two_days_of_support(path: Path) -> Engine:
    """The demo's Tuesday and Wednesday (14 and 15 January 2025), seen on Thursday."""
    for day in (14, 15):
        simulate(str(path), start=datetime(2025, 1, day, 8, tzinfo=UTC))
    return Engine.open(path, clock=ManualClock(datetime(2025, 1, 16, tzinfo=UTC)))


VOID = {"meta", "link", "br", "img", "input", "hr"}
"""Elements that have no end tag."""


class Page(HTMLParser):
    """What a reader of the report page finds: the KPI tiles (their data and text), the
    charts' ids, the agent table (headers and cells), the embedded figures."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tiles: dict[str, dict[str, Any]] = {}
        self.chart_ids: list[str] = []
        self.headers: list[str] = []
        self.rows: list[list[dict[str, str]]] = []
        self.embedded: dict[str, str] = {}
        self._open: list[tuple[str, dict[str, str]]] = []
        self._tile: dict[str, Any] | None = None
        self._text: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        classes = found.get("class", "").split()
        if tag == "div" and "tile" in classes:
            self._tile = self.tiles.setdefault(found["data-kpi"], dict(found))
        elif tag == "div" and self._tile is not None and classes:
            self._text = []
            self._tile[f"{classes[0]}_class"] = " ".join(classes[1:])
        if tag == "div" and found.get("id", "").startswith("chart-"):
            self.chart_ids.append(found["id"])
        if tag == "tr" and self._inside("tbody") and self._in_agents():
            self.rows.append([])
        if tag in ("th", "td") and self._in_agents():
            self._text = []
        if tag == "script" and found.get("type") == "application/json":
            self._text = []
        if tag not in VOID:
            self._open.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        opened, found = self._open.pop()
        assert opened == tag, (opened, tag)
        text = "".join(self._text or []).strip()
        classes = found.get("class", "").split()
        if tag == "div" and self._tile is not None and classes and "tile" not in classes:
            self._tile[classes[0]] = text
        elif tag == "div" and "tile" in classes:
            self._tile = None
        elif tag == "th" and self._in_agents():
            self.headers.append(text)
        elif tag == "td" and self._in_agents():
            self.rows[-1].append({"text": text, "sort": found.get("data-sort", "")})
        elif tag == "script" and found.get("type") == "application/json":
            self.embedded[found["id"]] = html.unescape(text)
        else:
            return
        self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def _inside(self, tag: str) -> bool:
        return any(opened == tag for opened, _ in self._open)

    def _in_agents(self) -> bool:
        """Inside the agent table (the page may hold other tables)."""
        return any(
            tag == "table" and "agents" in found.get("class", "").split()
            for tag, found in self._open
        )

    def figures(self, name: str = "metrics") -> Any:
        return json.loads(self.embedded[name])


def test_every_chart_draws_the_metrics_figures(tmp_path: Path) -> None:
    with a_day_of_support(tmp_path / "day.db") as engine:
        metrics = engine.metrics(START, END)
        report = reporting.gather(engine, START, END)
        charts = reporting.charts(report)
        names = engine.agents.list()
        backlog = engine.metrics.backlog(END)
    series = {trace.name: list(trace.y) for trace in charts["volume"].data}
    assert series == {
        "Created": [b.created for b in metrics.volume],
        "Solved": [b.resolved for b in metrics.volume],
    }
    assert sum(series["Created"]) > 0
    sla = {trace.name: list(trace.y) for trace in charts["sla"].data}
    assert sla["First response"] == [c.response_rate for _, c in sorted(metrics.sla.items())]
    by_agent = charts["csat_by_agent"].data[0]
    assert dict(zip(by_agent.y, by_agent.x, strict=True)) == {
        (names[agent] if agent else "(unassigned)"): s.mean
        for agent, s in metrics.csat_by_agent.items()
    }
    durations = {trace.name: list(trace.y) for trace in charts["durations"].data}
    assert durations["Median"][0] == metrics.first_response.median / 3600
    drawn = {
        (status, trace.name): count
        for trace in charts["backlog"].data
        for status, count in zip(trace.y, trace.x, strict=True)
    }
    assert drawn == {
        (reporting.status_label(s), reporting.priority_label(p)): n
        for s, by in backlog.items()
        if s not in ("resolved", "closed")
        for p, n in by.items()
    }


def test_the_page_is_self_contained_and_carries_the_figures(tmp_path: Path) -> None:
    with a_day_of_support(tmp_path / "day.db") as engine:
        page = reporting.render_html(engine, START, END)
        metrics = engine.metrics(START, END)
    assert not re.search(r"<script[^>]+src=", page)  # nothing to fetch
    assert "Plotly.newPlot" in page
    for name in ("volume", "backlog", "durations", "sla", "csat_by_agent", "csat_by_root_cause"):
        assert f'id="chart-{name}"' in page
    assert Page(page).figures() == metrics.to_dicts()


def test_the_command_writes_the_page_and_the_csv_tables(tmp_path: Path) -> None:
    db = tmp_path / "day.db"
    a_day_of_support(db).close()
    run = CliRunner().invoke(
        main, ["--db", str(db), "report", "--html", str(tmp_path / "r.html"),
               "--csv", str(tmp_path / "tables"), "--start", START, "--end", END],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert (tmp_path / "r.html").stat().st_size > 1_000_000  # the chart library, inlined
    with Engine.open(db, clock=ManualClock(datetime(2025, 1, 17, tzinfo=UTC))) as engine:
        metrics = engine.metrics(START, END)
        report = reporting.gather(engine, START, END)
    with (tmp_path / "tables" / "volume.csv").open() as volume:
        rows = list(csv.DictReader(volume))
    assert [int(r["created"]) for r in rows] == [b.created for b in metrics.volume]
    names = sorted(p.stem for p in (tmp_path / "tables").glob("*.csv"))
    assert names == sorted(reporting.tables(report).keys())
    refused = CliRunner().invoke(main, ["--db", str(db), "report"])
    assert refused.exit_code == 2


def test_a_window_that_ends_before_it_starts_is_refused_with_the_api_s_error(
    tmp_path: Path,
) -> None:
    db = tmp_path / "day.db"
    a_day_of_support(db).close()
    run = CliRunner().invoke(
        main, ["--db", str(db), "report", "--html", str(tmp_path / "r.html"),
               "--start", END, "--end", START],
    )  # fmt: skip
    assert run.exit_code == 1
    assert "end must be after start" in run.output
    assert not (tmp_path / "r.html").exists()
