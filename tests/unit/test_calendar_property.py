"""The calendar's arithmetic against a slow, obvious oracle: a minute-by-minute walk.

The oracle asks of each minute only "is the local wall-clock time inside a working span,
on a day that is not a holiday?", with dateutil converting each UTC minute to local
time. The fast code works in UTC spans per local day. They must agree exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ayra_tickets.domain.calendar import BusinessCalendar
from tests.oracles import MINUTE, oracle_add, oracle_between
from tests.strategies import business_calendars, instants_near_clock_changes


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
