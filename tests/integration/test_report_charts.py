"""Issue 14, point 13: the report's charts as a support lead reads them. Volume created
vs solved per period in a window fitted to the data when none is given; the backlog of
open work only, by status and priority label; times in hours with axis titles; SLA
compliance by priority label; CSAT by agent name and by root cause; business time only
where a business calendar applies; an agent table (name, assigned, solved, median
times, CSAT, breaches) that sorts in the page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ayra_tickets import BusinessCalendar, Engine, ManualClock, SlaPolicy
from ayra_tickets import report as reporting
from ayra_tickets.cli import main
from ayra_tickets.demo import run as simulate

from .test_report import END, START, Page, a_day_of_support

LABELS = {1: "Critical", 2: "High", 3: "Normal", 4: "Low"}


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("charts") / "day.db"
    a_day_of_support(path).close()
    return path


def opened(path: Path) -> Engine:
    return Engine.open(path, clock=ManualClock(datetime(2025, 1, 17, tzinfo=UTC)))


def test_volume_draws_tickets_created_against_tickets_solved_per_period(day: Path) -> None:
    with opened(day) as engine:
        metrics = engine.metrics(START, END)
        volume = reporting.charts(reporting.gather(engine, START, END))["volume"]
    assert [t.name for t in volume.data] == ["Created", "Solved"]
    created, solved = volume.data
    assert list(created.y) == [b.created for b in metrics.volume]
    assert list(solved.y) == [b.resolved for b in metrics.volume]
    assert volume.layout.xaxis.title.text == "day (UTC)"
    assert volume.layout.yaxis.title.text == "tickets"
    assert list(volume.layout.xaxis.ticktext) == ["Tue 14 Jan", "Wed 15 Jan", "Thu 16 Jan"]


def test_without_a_start_the_window_begins_on_the_first_day_with_tickets(day: Path) -> None:
    """The demo played Wednesday 15 January: a page ending on Friday 17 starts on the
    15th, not 30 days before with the data squeezed into its last bars."""
    run = CliRunner().invoke(
        main, ["--db", str(day), "report", "--html", str(day.parent / "fitted.html"),
               "--end", END],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    figures = Page((day.parent / "fitted.html").read_text("utf-8")).figures()
    assert (figures["start"], figures["end"]) == ("2025-01-15T00:00:00Z", END)
    assert figures["volume"][0]["created"] > 0
    with opened(day) as engine:
        assert reporting.gather(engine).metrics.start == datetime(2025, 1, 15, tzinfo=UTC)
        by_week = reporting.gather(engine, interval="week").metrics
        assert by_week.start == datetime(2025, 1, 13, tzinfo=UTC)  # the week's Monday


def test_a_window_without_tickets_keeps_the_last_30_days(tmp_path: Path) -> None:
    with Engine.open(
        tmp_path / "empty.db", clock=ManualClock(datetime(2025, 3, 1, tzinfo=UTC))
    ) as engine:
        metrics = reporting.gather(engine).metrics
    assert (metrics.start, metrics.end) == (
        datetime(2025, 1, 30, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC),
    )  # fmt: skip


def test_the_backlog_is_open_work_by_status_and_priority_label(day: Path) -> None:
    with opened(day) as engine:
        backlog = engine.metrics.backlog(END)
        charts = reporting.charts(reporting.gather(engine, START, END))
    assert {"resolved", "closed"} <= set(backlog)  # there is finished work, and it is left out
    drawn = charts["backlog"]
    assert [t.name for t in drawn.data] == list(LABELS.values())
    held = {
        (status, trace.name): count
        for trace in drawn.data
        for status, count in zip(trace.y, trace.x, strict=True)
    }
    assert held == {
        (status.replace("_", " ").capitalize(), LABELS[p]): n
        for status, by in backlog.items()
        if status not in ("resolved", "closed")
        for p, n in by.items()
    }
    assert sum(held.values()) > 0
    assert drawn.layout.xaxis.title.text == "open tickets"


def test_each_priority_has_one_colour_in_every_chart(day: Path) -> None:
    with opened(day) as engine:
        charts = reporting.charts(reporting.gather(engine, START, END))
    colours = {t.name: t.marker.color for t in charts["backlog"].data}
    assert len(set(colours.values())) == 4
    for trace in charts["sla"].data:
        for label, colour in zip(trace.x, trace.marker.color, strict=True):
            assert colour == colours[label], (trace.name, label)


def test_times_are_drawn_in_hours_under_titled_axes(day: Path) -> None:
    with opened(day) as engine:
        metrics = engine.metrics(START, END)
        charts = reporting.charts(reporting.gather(engine, START, END))
    durations = charts["durations"]
    assert durations.layout.yaxis.title.text == "hours"
    assert {t.name: list(zip(t.x, t.y, strict=True)) for t in durations.data} == {
        "Median": [("First response", metrics.first_response.median / 3600),
                   ("Resolution", metrics.resolution.median / 3600)],
        "90th percentile": [("First response", metrics.first_response.p90 / 3600),
                            ("Resolution", metrics.resolution.p90 / 3600)],
    }  # fmt: skip
    for name, figure in charts.items():  # no axis is left to guess
        assert figure.layout.xaxis.title.text, name
        assert figure.layout.yaxis.title.text, name


def test_sla_compliance_is_by_priority_label(day: Path) -> None:
    with opened(day) as engine:
        metrics = engine.metrics(START, END)
        sla = reporting.charts(reporting.gather(engine, START, END))["sla"]
    rows = sorted(metrics.sla.items())
    assert {t.name: list(zip(t.x, t.y, strict=True)) for t in sla.data} == {
        "First response": [(LABELS[p], c.response_rate) for p, c in rows],
        "Resolution": [(LABELS[p], c.resolution_rate) for p, c in rows],
    }
    assert sla.layout.yaxis.tickformat == ".0%"


def test_csat_is_by_agent_name_and_by_root_cause(day: Path) -> None:
    with opened(day) as engine:
        metrics = engine.metrics(START, END)
        names = engine.agents.list()
        charts = reporting.charts(reporting.gather(engine, START, END))
    by_agent = charts["csat_by_agent"].data[0]
    assert dict(zip(by_agent.y, by_agent.x, strict=True)) == {
        (names[a] if a else "(unassigned)"): s.mean for a, s in metrics.csat_by_agent.items()
    }
    assert set(by_agent.y) & set(names.values())  # names, not ids
    assert not set(by_agent.y) & set(names)
    by_cause = charts["csat_by_root_cause"].data[0]
    assert dict(zip(by_cause.y, by_cause.x, strict=True)) == {
        (c.replace("_", " ").capitalize() if c else "(none)"): s.mean
        for c, s in metrics.csat_by_root_cause.items()
    }
    assert charts["csat_by_agent"].layout.xaxis.range == (0, 10)


def test_business_time_is_drawn_only_where_a_business_calendar_applies(
    day: Path, tmp_path: Path
) -> None:
    with opened(day) as engine:
        plain = reporting.charts(reporting.gather(engine, START, END))["durations"]
        csv_rows = reporting.tables(reporting.gather(engine, START, END))["durations"]
    assert list(plain.data[0].x) == ["First response", "Resolution"]
    assert [r["measure"] for r in csv_rows] == ["First response", "Resolution"]

    office = tmp_path / "office.db"
    with Engine.open(office) as engine:  # office hours, Monday to Friday, 9 to 17 UTC
        engine.sla.configure(SlaPolicy(calendar=BusinessCalendar(), name="office"))
    simulate(str(office), start=datetime(2025, 1, 15, 8, tzinfo=UTC))
    with opened(office) as engine:
        metrics = engine.metrics(START, END)
        durations = reporting.charts(reporting.gather(engine, START, END))["durations"]
    medians = dict(zip(durations.data[0].x, durations.data[0].y, strict=True))
    assert medians == {
        "First response": metrics.first_response.median / 3600,
        "Resolution": metrics.resolution.median / 3600,
        "First response (business hours)": metrics.first_response_business.median / 3600,
        "Resolution (business hours)": metrics.resolution_business.median / 3600,
    }
    assert metrics.resolution_business != metrics.resolution  # a different series


def test_the_agent_table_holds_each_agent_s_name_and_figures(day: Path) -> None:
    with opened(day) as engine:
        metrics = engine.metrics(START, END)
        names = engine.agents.list()
        page = Page(reporting.render_html(engine, START, END))
    assert page.headers == [
        "Agent", "Assigned", "Solved", "First response median (h)", "Resolution median (h)",
        "CSAT", "SLA breaches",
    ]  # fmt: skip
    assert [[cell["text"] for cell in row] for row in page.rows] == [
        [names[row.agent] if row.agent else "(unassigned)", str(row.assigned),
         str(row.resolved), hours(row.first_response_median), hours(row.resolution_median),
         "\u2013" if row.csat_mean is None else f"{row.csat_mean:.2f}", str(row.breaches)]
        for row in metrics.agents
    ]  # fmt: skip
    # each cell carries the exact figure it sorts by (the text is rounded)
    assert [float(row[5]["sort"]) for row in page.rows if row[5]["sort"]] == [
        r.csat_mean for r in metrics.agents if r.csat_mean is not None
    ]
    assert len(page.rows) == len(metrics.agents) > 1


def hours(seconds: int | None) -> str:
    return "\u2013" if seconds is None else f"{seconds / 3600:.1f}"


def test_the_page_sorts_the_agent_table_itself(day: Path) -> None:
    with opened(day) as engine:
        page = reporting.render_html(engine, START, END)
    assert "table.agents th" in page
    assert "addEventListener('click'" in page
    assert "aria-sort" in page
