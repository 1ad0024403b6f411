"""The calendar's arithmetic against a slow, obvious oracle: a minute-by-minute walk.

The oracle asks of each minute only "is the local wall-clock time inside a working span,
on a day that is not a holiday?", with dateutil converting each UTC minute to local
time. The fast code works in UTC spans per local day. They must agree exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dateutil import tz
from hypothesis import given
from hypothesis import strategies as st

from ayra_tickets.domain.calendar import BusinessCalendar
from tests.strategies import business_calendars, instants_near_clock_changes

MINUTE = timedelta(minutes=1)


def is_working_minute(calendar: BusinessCalendar, instant: datetime) -> bool:
    local = instant.astimezone(tz.gettz(calendar.timezone))
    if calendar.is_holiday(local.date()):
        return False
    second_of_day = local.hour * 3600 + local.minute * 60
    return any(s <= second_of_day < e for s, e in calendar.hours[local.weekday()])


def oracle_add(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    instant = start
    while minutes:
        if is_working_minute(calendar, instant):
            minutes -= 1
        instant += MINUTE
    return instant


def oracle_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    minutes = 0
    instant = start
    while instant < end:
        minutes += is_working_minute(calendar, instant)
        instant += MINUTE
    return minutes * 60


def weekly_minutes(calendar: BusinessCalendar) -> int:
    return sum(e - s for day in calendar.hours for s, e in day) // 60


@given(business_calendars(), instants_near_clock_changes(), st.data())
def test_adding_working_time_agrees_with_a_minute_by_minute_walk(
    spec: dict[str, Any], start: datetime, data: st.DataObject
) -> None:
    calendar = BusinessCalendar(**spec)
    # At most two weeks' worth, so that the oracle's walk stays short.
    minutes = data.draw(st.integers(0, min(3 * 1440, 2 * weekly_minutes(calendar))))
    expected = oracle_add(calendar, start, minutes)
    assert calendar.add(start, minutes * 60) == expected


@given(business_calendars(), instants_near_clock_changes(), st.integers(0, 6 * 1440))
def test_measuring_working_time_agrees_with_a_minute_by_minute_walk(
    spec: dict[str, Any], start: datetime, span: int
) -> None:
    calendar = BusinessCalendar(**spec)
    end = start + span * MINUTE
    assert calendar.seconds_between(start, end) == oracle_between(calendar, start, end)


@given(business_calendars(), instants_near_clock_changes(), st.integers(1, 30 * 1440))
def test_measuring_what_was_added_gives_it_back(
    spec: dict[str, Any], start: datetime, minutes: int
) -> None:
    calendar = BusinessCalendar(**spec)
    assert calendar.seconds_between(start, calendar.add(start, minutes * 60)) == minutes * 60
