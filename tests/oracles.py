"""Slow, obvious oracles that the fast code is checked against.

Working time, minute by minute: a minute counts when its local wall-clock time, in the
calendar's zone, falls inside a working span on a day that is not a holiday. Nothing
here shares code with the engine's calendar arithmetic beyond reading its settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil import tz

from ayra_tickets.domain.calendar import BusinessCalendar

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
