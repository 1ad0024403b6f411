"""The HTML report in a real browser: headless Chromium opens the written page with every
network request refused, draws every chart without a console or page error, holds in
each chart exactly engine.metrics' figures, and leaves a full-page screenshot.

The screenshot is written to ``$AYRA_ARTIFACTS/report.png`` (default: a pytest temporary
directory). ``docs/report.png`` in the README is this screenshot:
``AYRA_ARTIFACTS=docs .venv/bin/python -m pytest tests/integration/test_report_browser.py``.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from playwright.sync_api import ConsoleMessage, Route, ViewportSize, sync_playwright

from ayra_tickets import Engine, ManualClock
from ayra_tickets import report as reporting
from ayra_tickets.demo import run as play_a_day
from ayra_tickets.domain.metrics import Metrics
from ayra_tickets.domain.times import format_time

START = "2025-01-06T00:00:00Z"  # a Monday
END = "2025-01-11T00:00:00Z"  # the Saturday after
VIEWPORT: ViewportSize = {"width": 1100, "height": 800}
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

CHARTS_IN_THE_BROWSER = """() => Array.from(document.querySelectorAll('.js-plotly-plot'), div => ({
    id: div.id,
    svgs: div.querySelectorAll('.main-svg').length,
    bars: Array.from(div.querySelectorAll('.trace.bars'), t => t.querySelectorAll('.point').length),
    traces: div.data.map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)})),
}))"""
"""What the browser holds: each chart's div, its drawn svg layers and bars, and its data."""


@attrs.frozen
class Visit:
    """What a browser saw of the report page."""

    figures: list[str]
    metrics: Metrics
    backlog: dict[str, dict[int, int]]
    charts: list[dict[str, Any]]
    console_errors: list[str]
    page_errors: list[str]
    requests: list[str]
    refused: list[str]
    page_url: str
    screenshot: Path


def a_week_of_support(path: Path) -> Engine:
    """Five working days of the demo's support (a few dozen tickets a day, triaged,
    worked, parked, resolved, closed, one reopened, some SLAs missed), seen on Saturday."""
    for day in range(6, 11):
        play_a_day(str(path), start=datetime(2025, 1, day, 8, tzinfo=UTC))
    return Engine.open(path, clock=ManualClock(datetime(2025, 1, 11, tzinfo=UTC)))


def chromium() -> str:
    """Debian's Chromium; missing, the test fails on CI (which installs it), else skips."""
    found = shutil.which("chromium")
    if found is None:
        message = "Chromium is needed: apt-get install chromium (Debian; .ci/run does this)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def visit(tmp_path_factory: pytest.TempPathFactory) -> Visit:
    """Write the report of a week, open it in headless Chromium, and take what it shows."""
    executable = chromium()
    folder = tmp_path_factory.mktemp("report")
    artifacts = Path(os.environ.get("AYRA_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    with a_week_of_support(folder / "week.db") as engine:
        page_path = folder / "report.html"
        page_path.write_text(reporting.render_html(engine, START, END), "utf-8")
        figures = list(reporting.charts(engine, START, END))
        metrics = engine.metrics(START, END)
        backlog = engine.metrics.backlog(END)
    console_errors: list[str] = []
    page_errors: list[str] = []
    requests: list[str] = []
    refused: list[str] = []

    def only_the_file(route: Route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            folder / "profile", executable_path=executable, headless=True,
            args=CHROMIUM_FLAGS, viewport=VIEWPORT,
        )  # fmt: skip
        try:
            context.route("**/*", only_the_file)
            page = context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_path.as_uri(), wait_until="load")
            page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
                arg=len(figures), timeout=15_000,
            )  # fmt: skip
            charts = page.evaluate(CHARTS_IN_THE_BROWSER)
            screenshot = artifacts / "report.png"
            page.screenshot(path=screenshot, full_page=True)
        finally:
            context.close()
    return Visit(
        figures, metrics, backlog, charts, console_errors, page_errors, requests, refused,
        page_path.as_uri(), screenshot,
    )  # fmt: skip


def test_the_page_opens_with_no_error_and_no_network(visit: Visit) -> None:
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert visit.refused == []  # nothing was even attempted
    assert visit.requests == [visit.page_url]


def test_every_chart_the_report_defines_is_drawn(visit: Visit) -> None:
    assert len(visit.figures) == 6
    assert [chart["id"] for chart in visit.charts] == [f"chart-{f}" for f in visit.figures]
    for chart in visit.charts:
        assert chart["svgs"] >= 1, chart["id"]
        # one group of bars a trace, one bar a category, as Plotly drew them
        assert chart["bars"] == [len(trace["x"]) for trace in chart["traces"]], chart["id"]
        assert sum(len(trace["x"]) for trace in chart["traces"]) > 0, chart["id"]


def test_the_browser_holds_exactly_the_figures_of_engine_metrics(visit: Visit) -> None:
    held = {
        chart["id"].removeprefix("chart-"): {
            trace["name"]: list(zip(trace["x"], trace["y"], strict=True))
            for trace in chart["traces"]
        }
        for chart in visit.charts
    }
    assert held == expected_charts(visit.metrics, visit.backlog)
    assert sum(y for _, y in held["volume"]["created"]) == 180  # five days of 36 tickets


def expected_charts(
    metrics: Metrics, backlog: dict[str, dict[int, int]]
) -> dict[str, dict[str, list[tuple[Any, Any]]]]:
    """Each chart's traces as (category, value) pairs, from the figures themselves: volume
    by period, the backlog by status (in lifecycle order) for each priority, durations in
    hours, SLA rates by priority, and mean CSAT by agent and by root cause (sorted)."""

    def hours(seconds: float | None) -> float | None:
        return None if seconds is None else seconds / 3600

    durations = {
        "first response": metrics.first_response,
        "first response (business)": metrics.first_response_business,
        "resolution": metrics.resolution,
        "resolution (business)": metrics.resolution_business,
    }
    sla = sorted(metrics.sla.items())
    by_agent = sorted(metrics.csat_by_agent.items(), key=lambda kv: kv[0] or "")
    by_cause = sorted(metrics.csat_by_root_cause.items(), key=lambda kv: kv[0] or "")
    return {
        "volume": {
            name: [(format_time(b.start), getattr(b, name)) for b in metrics.volume]
            for name in ("created", "resolved", "closed")
        },
        "backlog": {
            f"priority {p}": [
                (status, backlog[status][p])
                for status in reporting.STATUS_ORDER
                if p in backlog.get(status, {})
            ]
            for p in (1, 2, 3, 4)
        },
        "durations": {
            f"{name}_hours": [(label, hours(getattr(d, name))) for label, d in durations.items()]
            for name in ("median", "p90", "mean")
        },
        "sla": {
            "response_rate": [(p, c.response_rate) for p, c in sla],
            "resolution_rate": [(p, c.resolution_rate) for p, c in sla],
        },
        "csat_by_agent": {"mean": [(a or "(unassigned)", s.mean) for a, s in by_agent]},
        "csat_by_root_cause": {"mean": [(c or "(none)", s.mean) for c, s in by_cause]},
    }


def test_a_full_page_screenshot_is_written_as_an_artifact(visit: Visit) -> None:
    data = visit.screenshot.read_bytes()
    width, height, pixels = png_facts(data)
    assert width == VIEWPORT["width"]
    assert height > 6 * 400  # the whole page, every chart, not the viewport alone
    assert len(data) > 50_000
    assert len(set(pixels)) > 50  # drawn, not a blank page


def png_facts(data: bytes) -> tuple[int, int, bytes]:
    """A PNG's width, height and inflated image data (each row led by its filter byte)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, width, height, compressed = 8, 0, 0, b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            compressed += body
        offset += 12 + length
    return width, height, zlib.decompress(compressed)
