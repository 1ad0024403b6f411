"""Issue 14, point 12: the report opens on a header of KPI tiles (created, solved, backlog
now, first response median, resolution median, SLA compliance, CSAT, reopen rate), each
with its change against the previous window of the same length, every figure equal to
what ``engine.metrics`` answers for the two windows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ayra_tickets import report as reporting
from ayra_tickets.domain.metrics import Metrics

from .test_report import Page, two_days_of_support

START, END = "2025-01-15T00:00:00Z", "2025-01-16T00:00:00Z"  # Wednesday
BEFORE = "2025-01-14T00:00:00Z"  # Tuesday: the previous window of the same length
KPIS = [
    "created", "solved", "backlog", "first_response", "resolution", "sla", "csat",
    "reopen_rate",
]  # fmt: skip


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> tuple[Page, dict[str, Any], dict[str, Any]]:
    """The page of Wednesday, and the figures of each KPI on Wednesday and on Tuesday,
    computed here from engine.metrics."""
    with two_days_of_support(tmp_path_factory.mktemp("kpis") / "days.db") as engine:
        page = Page(reporting.render_html(engine, START, END))
        now, before = engine.metrics(START, END), engine.metrics(BEFORE, START)
        open_now, open_before = engine.metrics.backlog(END), engine.metrics.backlog(START)
    return page, kpis(now, open_now), kpis(before, open_before)


def kpis(metrics: Metrics, backlog: dict[str, dict[int, int]]) -> dict[str, Any]:
    decided = [
        (c.response_met + c.resolution_met, c.response_missed + c.resolution_missed)
        for c in metrics.sla.values()
    ]
    met, missed = sum(m for m, _ in decided), sum(m for _, m in decided)
    return {
        "created": sum(b.created for b in metrics.volume),
        "solved": sum(b.resolved for b in metrics.volume),
        "backlog": sum(
            n for status, by in backlog.items() if status not in ("resolved", "closed")
            for n in by.values()
        ),
        "first_response": metrics.first_response.median,
        "resolution": metrics.resolution.median,
        "sla": met / (met + missed) if met + missed else None,
        "csat": metrics.csat.mean,
        "reopen_rate": metrics.reopen_rate,
    }  # fmt: skip


MINUS = "\u2212"
"""The sign of a fall, as printed (not a hyphen)."""


def sign(change: float) -> str:
    return "+" if change > 0 else MINUS


def number(text: str) -> float | None:
    return None if text == "" else float(text)


def test_the_header_holds_the_eight_kpi_tiles_in_order(
    seen: tuple[Page, dict[str, Any], dict[str, Any]],
) -> None:
    page, _, _ = seen
    assert list(page.tiles) == KPIS
    assert [t["label"] for t in page.tiles.values()] == [
        "Created", "Solved", "Backlog now", "First response, median", "Resolution, median",
        "SLA compliance", "CSAT", "Reopen rate",
    ]  # fmt: skip


def test_each_tile_holds_the_window_s_figure_and_the_previous_window_s(
    seen: tuple[Page, dict[str, Any], dict[str, Any]],
) -> None:
    page, now, before = seen
    assert {k: number(t["data-value"]) for k, t in page.tiles.items()} == now
    assert {k: number(t["data-previous"]) for k, t in page.tiles.items()} == before
    assert now["created"] > 0
    assert before["created"] > 0
    assert now != before  # two different days: the comparison is not of a day with itself


def test_each_tile_shows_its_figure_and_change_as_a_support_lead_reads_them(
    seen: tuple[Page, dict[str, Any], dict[str, Any]],
) -> None:
    page, now, before = seen
    tiles = page.tiles
    assert tiles["created"]["value"] == f"{now['created']:,}"
    change = now["created"] - before["created"]
    assert tiles["created"]["change"].startswith(
        "no change" if change == 0 else f"{sign(change)}{abs(change)} ("
    )
    assert tiles["created"]["change"].endswith(f"vs previous ({before['created']:,})")
    for kpi in ("first_response", "resolution"):  # durations read in minutes or hours
        seconds = now[kpi]
        expected = f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"
        assert tiles[kpi]["value"] == expected
    for kpi in ("sla", "reopen_rate"):  # rates in percent, changes in points
        assert tiles[kpi]["value"] == f"{now[kpi]:.1%}"
        points = (now[kpi] - before[kpi]) * 100
        if points:
            assert tiles[kpi]["change"].startswith(f"{sign(points)}{abs(points):.1f} pts")
    assert tiles["csat"]["value"] == f"{now['csat']:.2f} / 10"


def test_a_rise_reads_as_good_or_bad_news_by_what_the_kpi_measures(
    seen: tuple[Page, dict[str, Any], dict[str, Any]],
) -> None:
    page, now, before = seen
    assert list(page.tiles) == KPIS
    better = {"created": 0, "solved": 1, "backlog": -1, "first_response": -1,
              "resolution": -1, "sla": 1, "csat": 1, "reopen_rate": -1}  # fmt: skip
    for kpi, tile in page.tiles.items():
        change = now[kpi] - before[kpi]
        mood = (
            "same" if not change or not better[kpi]
            else "good" if (change > 0) == (better[kpi] > 0) else "bad"
        )  # fmt: skip
        assert tile["change_class"] == mood, kpi


def test_a_previous_window_without_figures_shows_none_rather_than_a_change(
    tmp_path: Path,
) -> None:
    with two_days_of_support(tmp_path / "days.db") as engine:
        page = Page(reporting.render_html(engine, BEFORE, START))  # Tuesday: nothing before
    assert page.tiles["first_response"]["data-previous"] == ""
    assert page.tiles["first_response"]["change"] == "n/a vs previous (\u2013)"
    assert page.tiles["created"]["data-previous"] == "0"


def test_tile_changes_read_in_each_unit() -> None:
    def tile(value: float | None, previous: float | None, unit: str) -> reporting.Tile:
        return reporting.Tile("k", "K", value, previous, unit, 1, "")

    assert tile(40, 32, "count").change_text == "+8 (+25%)"
    assert tile(3, 0, "count").change_text == "+3"
    assert tile(3000, 3120, "seconds").change_text == "\u22122 min"
    assert tile(12_000, 9_000, "seconds").change_text == "+50 min"
    assert tile(20_000, 9_000, "seconds").change_text == "+3.1 h"
    assert tile(0.892, 0.911, "rate").change_text == "\u22121.9 pts"
    assert tile(8.58, 8.26, "score").change_text == "+0.32"
    assert tile(None, 8.26, "score").change_text == "n/a"
    assert tile(5, 5, "count").change_text == "no change"
