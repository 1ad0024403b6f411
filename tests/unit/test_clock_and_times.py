"""Clocks and timestamp parsing: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ayra_tickets import ManualClock
from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.domain.times import format_time, load_time, parse_time


def test_a_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(datetime(2025, 1, 15, 9, 0))
    assert clock.now() == datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    assert clock.now() == clock.now()
    clock.advance(timedelta(minutes=90))
    assert clock.now() == datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
    clock.advance(hours=1)
    assert clock.now() == datetime(2025, 1, 15, 11, 30, tzinfo=UTC)


def test_a_manual_clock_never_goes_back() -> None:
    clock = ManualClock(datetime(2025, 1, 15, 9, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="back in time"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="back in time"):
        clock.set(datetime(2025, 1, 15, 8, 59, tzinfo=UTC))
    assert clock.set(datetime(2025, 2, 1, tzinfo=UTC)) == datetime(2025, 2, 1, tzinfo=UTC)


def test_a_manual_clock_converts_other_zones_to_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    clock = ManualClock(datetime(2025, 1, 15, 10, 0, tzinfo=berlin))
    assert clock.now() == datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-16T17:00:00Z", datetime(2025, 1, 16, 17, 0, tzinfo=UTC)),
        ("2025-01-16T17:00:00", datetime(2025, 1, 16, 17, 0, tzinfo=UTC)),
        ("2025-01-16T18:00:00+01:00", datetime(2025, 1, 16, 17, 0, tzinfo=UTC)),
        ("2025-01-16T17:00:00.999Z", datetime(2025, 1, 16, 17, 0, tzinfo=UTC)),
        ("2025-01-16 17:00", datetime(2025, 1, 16, 17, 0, tzinfo=UTC)),
        ("20250116T170000Z", datetime(2025, 1, 16, 17, 0, tzinfo=UTC)),
    ],
)
def test_inputs_accept_any_iso_8601_date_time_and_naive_means_utc(
    text: str, expected: datetime
) -> None:
    assert parse_time(text, "due_date") == expected


@pytest.mark.parametrize("text", ["2025-01-16", "tomorrow", "", "2025-13-01T00:00:00Z", 17])
def test_a_bad_date_time_names_its_parameter(text: object) -> None:
    with pytest.raises(ParameterInvalid) as caught:
        parse_time(text, "due_date")
    assert caught.value.param == "due_date"


def test_timestamps_are_written_as_rfc_3339_utc_with_a_z_and_read_back() -> None:
    instant = datetime(2025, 1, 15, 16, 30, tzinfo=UTC)
    assert format_time(instant) == "2025-01-15T16:30:00Z"
    assert load_time(format_time(instant)) == instant
    early = datetime(812, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert format_time(early) == "0812-03-04T05:06:07Z"
    assert load_time(format_time(early)) == early
