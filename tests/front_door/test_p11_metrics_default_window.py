"""Issue 14, point 11: ``engine.metrics()`` with no window is the last 30 days up to the
engine's clock, as the report's look-back is; the wire still requires the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.domain.metrics import DEFAULT_WINDOW

NOW = datetime(2025, 3, 1, 12, 34, 56, 700_000, tzinfo=UTC)
WHOLE = NOW.replace(microsecond=0)


@pytest.fixture
def engine() -> Engine:
    """Tickets made 40, 30 and 29 days before NOW, an hour before it, and at NOW (which the
    window, whose end is exclusive, leaves out)."""
    clock = ManualClock(NOW - timedelta(days=40))
    engine = Engine.open(":memory:", clock=clock)
    for before in (timedelta(days=d) for d in (40, 30, 29)):
        clock.set(NOW - before)
        engine.tickets.create(subject=f"{before} ago", description="Counted or not")
    for before in (timedelta(hours=1), timedelta(0)):
        clock.set(NOW - before)
        engine.tickets.create(subject=f"{before} ago", description="Counted or not")
    return engine


def created(figures: object) -> int:
    return sum(bucket.created for bucket in figures.volume)  # type: ignore[attr-defined]


def test_no_window_is_the_last_30_days_up_to_the_engines_now(engine: Engine) -> None:
    figures = engine.metrics()
    assert timedelta(days=30) == DEFAULT_WINDOW
    assert (figures.start, figures.end) == (WHOLE - timedelta(days=30), WHOLE)
    # The ticket of exactly 30 days ago is at the window's first instant: counted.
    assert created(figures) == 3
    assert figures.to_dicts() == engine.metrics(WHOLE - timedelta(days=30), WHOLE).to_dicts()


def test_either_end_of_the_window_may_be_given_alone(engine: Engine) -> None:
    assert engine.metrics(end="2025-02-15T00:00:00Z").start == datetime(2025, 1, 16, tzinfo=UTC)
    since = engine.metrics(start="2025-02-28T00:00:00Z", interval="week")
    assert (since.start, since.end) == (datetime(2025, 2, 28, tzinfo=UTC), WHOLE)
    assert created(since) == 1  # the one of an hour ago


def test_a_start_after_the_engines_now_is_refused_naming_end(engine: Engine) -> None:
    with pytest.raises(ParameterInvalid) as refused:
        engine.metrics(start="2025-03-02T00:00:00Z")
    assert refused.value.param == "end"


def test_the_wire_still_requires_the_window(engine: Engine) -> None:
    key = engine.keys.create(["tickets:read"])
    answer = engine.request(
        "GET", "/v1/tickets/metrics", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status == 400
    assert answer.json["error"]["code"] == "parameter_missing"
