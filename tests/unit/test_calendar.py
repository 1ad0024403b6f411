"""Business calendars: working time in a time zone, across DST, with holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil import rrule

from ayra_tickets.domain.calendar import BusinessCalendar, holidays_in

HOUR = 3600
OFFICE = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "spans", "hours"),
    [
        # Clocks go forward: the skipped hour holds no working time.
        ("Europe/Berlin", date(2025, 3, 30), "00:00-06:00", 5),
        ("America/New_York", date(2025, 3, 9), "00:00-06:00", 5),
        # Clocks go back: the repeated hour is worked twice.
        ("Europe/Berlin", date(2025, 10, 26), "00:00-06:00", 7),
        ("America/New_York", date(2025, 11, 2), "00:00-06:00", 7),
        # A day shift far from the change is untouched by it.
        ("Europe/Berlin", date(2025, 3, 30), "09:00-17:00", 8),
        ("America/New_York", date(2025, 11, 2), "09:00-17:00", 8),
    ],
)
def test_a_dst_change_counts_the_hours_the_wall_clock_shows(
    zone: str, day: date, spans: str, hours: int
) -> None:
    calendar = BusinessCalendar(timezone=zone, hours={"sun": spans})
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert calendar.seconds_between(start, start + timedelta(days=3)) == hours * HOUR


def test_a_target_across_the_spring_change_lands_on_local_wall_time() -> None:
    berlin = BusinessCalendar(timezone="Europe/Berlin", hours=OFFICE)
    # Friday 28 March 2025, 16:00 CET (15:00 UTC); 2 working hours later is Monday
    # 31 March 10:00 CEST, which is 08:00 UTC.
    assert berlin.add(utc(2025, 3, 28, 15, 0), 2 * HOUR) == utc(2025, 3, 31, 8, 0)
    new_york = BusinessCalendar(timezone="America/New_York", hours=OFFICE)
    # Friday 31 October 2025, 16:00 EDT (20:00 UTC); Monday 3 November 10:00 EST is 15:00 UTC.
    assert new_york.add(utc(2025, 10, 31, 20, 0), 2 * HOUR) == utc(2025, 11, 3, 15, 0)


def test_a_lunch_break_is_not_working_time() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours={"wed": "09:00-12:00,13:00-17:00"})
    assert calendar.add(utc(2025, 1, 15, 11, 0), 2 * HOUR) == utc(2025, 1, 15, 14, 0)
    assert calendar.seconds_between(utc(2025, 1, 15, 11, 30), utc(2025, 1, 15, 13, 30)) == HOUR
    same = BusinessCalendar(timezone="UTC", hours={"wed": ["09:00-12:00", "13:00-17:00"]})
    assert same == calendar


def test_a_target_that_spans_a_weekend_skips_it() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours=OFFICE)
    friday_afternoon = utc(2025, 1, 17, 15, 0)
    assert calendar.add(friday_afternoon, 4 * HOUR) == utc(2025, 1, 20, 11, 0)
    assert calendar.seconds_between(friday_afternoon, utc(2025, 1, 20, 11, 0)) == 4 * HOUR


def test_adding_zero_time_gives_the_start_itself() -> None:
    calendar = BusinessCalendar(timezone="UTC", hours=OFFICE)
    saturday = utc(2025, 1, 18, 3, 0)
    assert calendar.add(saturday, 0) == saturday
    assert calendar.seconds_between(saturday, saturday) == 0


def test_an_instant_outside_working_hours_starts_counting_at_the_next_opening() -> None:
    calendar = BusinessCalendar(timezone="Europe/Berlin", hours=OFFICE)
    evening = utc(2025, 1, 15, 19, 0)  # 20:00 in Berlin
    assert calendar.add(evening, 1) == utc(2025, 1, 16, 8, 0, 1)  # 09:00:01 in Berlin
    assert calendar.seconds_between(evening, utc(2025, 1, 16, 7, 59)) == 0


def test_a_holiday_given_by_a_recurrence_rule_is_off_every_year() -> None:
    calendar = BusinessCalendar(
        timezone="Europe/Berlin",
        hours=OFFICE,
        holidays=["RRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25", date(2025, 12, 24)],
    )
    assert holidays_in(calendar, [2025, 2026]) == [
        date(2025, 12, 24), date(2025, 12, 25), date(2026, 12, 25),
    ]  # fmt: skip
    # Tuesday 23 December 2025, 16:00 in Berlin: the next working hour is Friday's.
    assert calendar.add(utc(2025, 12, 23, 15, 0), 2 * HOUR) == utc(2025, 12, 26, 9, 0)
    # A dateutil rule object works the same as its text.
    rule = rrule.rrule(rrule.YEARLY, bymonth=12, bymonthday=25, dtstart=datetime(2000, 1, 1))
    same = BusinessCalendar(timezone="Europe/Berlin", hours=OFFICE, holidays=[rule])
    assert same.is_holiday(date(2031, 12, 25))


def test_a_calendar_round_trips_through_its_stored_form() -> None:
    calendar = BusinessCalendar(
        timezone="America/New_York",
        hours={"mon": "08:00-12:00,13:00-18:30", "sat": "10:00-14:00"},
        holidays=["2025-07-04", "RRULE:FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"],
    )
    assert BusinessCalendar.from_dict(calendar.to_dict()) == calendar


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"hours": {"mon": "17:00-09:00"}}, "not a span"),
        ({"hours": {"mon": "09:00-12:00,11:00-13:00"}}, "overlap"),
        ({"hours": {"funday": "09:00-17:00"}}, "unknown weekday"),
        ({"hours": {}}, "needs some working hours"),
        ({"holidays": ["next tuesday"]}, "a holiday is a date"),
    ],
)
def test_a_malformed_calendar_is_refused_with_the_reason(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]


def test_a_calendar_with_no_reachable_working_time_says_so() -> None:
    every_day = "RRULE:FREQ=DAILY"
    calendar = BusinessCalendar(timezone="UTC", hours=OFFICE, holidays=[every_day])
    with pytest.raises(ValueError, match="no working time"):
        calendar.add(utc(2025, 1, 15), HOUR)
