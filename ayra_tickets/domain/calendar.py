"""Business calendars: weekly working hours in a time zone, with holidays.

Working time is the set of instants whose local wall-clock time, in the calendar's time
zone, falls inside one of that weekday's working intervals, on a day that is not a
holiday. On the day clocks go back an hour, a working interval that spans the repeated
hour holds that hour twice; on the day they go forward, the skipped hour holds nothing.
Adding working time and measuring it between two instants are exact to the second.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import attrs
from dateutil import rrule, tz

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_SEARCH_DAYS = 366 * 5
"""How far ahead a deadline is looked for before the calendar is judged to have no time."""

Interval = tuple[int, int]  # seconds after local midnight: [start, end)


def _parse_intervals(day: str, spec: Any) -> tuple[Interval, ...]:
    parts: list[str]
    if isinstance(spec, str):
        parts = [p for p in spec.split(",") if p.strip()]
    elif isinstance(spec, Sequence):
        parts = list(spec)
    else:
        raise ValueError(f"hours for {day} must be like '09:00-17:00', not {spec!r}")
    intervals: list[Interval] = []
    for part in parts:
        match = _INTERVAL.match(part) if isinstance(part, str) else None
        if match is None:
            raise ValueError(f"hours for {day} must be like '09:00-17:00', not {part!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        if m1 > 59 or m2 > 59 or not 0 <= start < end <= 86400:
            raise ValueError(f"hours for {day}: {part!r} is not a span within one day")
        intervals.append((start, end))
    intervals.sort()
    for (_, end), (start, _) in itertools.pairwise(intervals):
        if start < end:
            raise ValueError(f"hours for {day} overlap: {spec!r}")
    return tuple(intervals)


Week = tuple[tuple[Interval, ...], ...]  # seven days, Monday first


def _parse_hours(hours: Mapping[str, Any] | Week) -> Week:
    if isinstance(hours, tuple) and len(hours) == 7:
        return hours
    if not isinstance(hours, Mapping):
        raise ValueError("hours must map weekdays to spans, like {'mon': '09:00-17:00'}")
    week: list[tuple[Interval, ...]] = [() for _ in WEEKDAYS]
    for key, spec in hours.items():
        name = str(key).lower()[:3]
        if name not in WEEKDAYS:
            raise ValueError(f"unknown weekday {key!r}; use mon, tue, wed, thu, fri, sat, sun")
        week[WEEKDAYS.index(name)] = _parse_intervals(name, spec)
    if not any(week):
        raise ValueError("a business calendar needs some working hours")
    return tuple(week)


def _format_hours(week: Week) -> dict[str, str]:
    def hhmm(seconds: int) -> str:
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"

    return {
        WEEKDAYS[day]: ",".join(f"{hhmm(s)}-{hhmm(e)}" for s, e in spans)
        for day, spans in enumerate(week)
        if spans
    }


_OFFICE_HOURS = {name: "09:00-17:00" for name in WEEKDAYS[:5]}


def _holiday_spec(value: Any) -> str:
    """A holiday as stored: an ISO date, or an RFC 5545 recurrence rule."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, rrule.rrule):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            date.fromisoformat(text)
            return text
        if "FREQ=" in text.upper():
            _rule(text)  # fails early on a bad rule
            return text
    raise ValueError(
        f"a holiday is a date ('2025-12-25') or a recurrence rule "
        f"('RRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25'), not {value!r}"
    )


def _holiday_specs(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_holiday_spec(value) for value in values))


@functools.lru_cache(maxsize=256)
def _rule(text: str) -> rrule.rrule | rrule.rruleset:
    return rrule.rrulestr(text, dtstart=datetime(1970, 1, 1), forceset=False)


def _zone(name: str) -> tzinfo:
    zone = tz.gettz(name)
    if zone is None:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like 'Europe/Berlin'")
    return zone


@attrs.frozen
class BusinessCalendar:
    """Weekly working hours in an IANA time zone, minus holidays.

    ``hours`` maps weekday names (``mon`` ... ``sun``) to spans such as
    ``"09:00-17:00"``, several per day allowed (``"09:00-12:00,13:00-17:00"`` or a list);
    a day left out is not a working day. ``holidays`` are dates (``datetime.date`` or
    ``"2025-12-25"``) or recurrence rules (a ``dateutil.rrule.rrule`` or an RFC 5545
    string such as ``"RRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"``): whole local days off.
    """

    timezone: str = "UTC"
    hours: Week = attrs.field(default=_OFFICE_HOURS, converter=_parse_hours)
    holidays: tuple[str, ...] = attrs.field(default=(), converter=_holiday_specs)
    _zone: tzinfo = attrs.field(init=False, eq=False, repr=False)
    _fixed_days: frozenset[date] = attrs.field(init=False, eq=False, repr=False)
    _rules: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_zone", _zone(self.timezone))
        fixed = frozenset(date.fromisoformat(h) for h in self.holidays if "=" not in h)
        object.__setattr__(self, "_fixed_days", fixed)
        object.__setattr__(self, "_rules", tuple(h for h in self.holidays if "=" in h))

    # -- persistence ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "hours": _format_hours(self.hours),
            "holidays": list(self.holidays),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        return cls(timezone=data["timezone"], hours=data["hours"], holidays=data["holidays"])

    # -- days ----------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return day in self._fixed_days or day in self._rule_days(day.year)

    def _rule_days(self, year: int) -> frozenset[date]:
        return _rule_days(self._rules, year)

    def _offset(self, instant: datetime) -> timedelta:
        offset = instant.astimezone(self._zone).utcoffset()
        assert offset is not None
        return offset

    def _transition(self, low: datetime, high: datetime) -> datetime:
        """The first instant after ``low`` whose offset differs from ``low``'s (to the
        second), given that ``high``'s does."""
        before = self._offset(low)
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            middle = middle.replace(microsecond=0)
            if self._offset(middle) == before:
                low = middle
            else:
                high = middle
        return high

    def working_pieces(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The UTC spans of working time whose local date is ``day``, in order."""
        return _pieces(self, day)

    def _compute_pieces(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        intervals = self.hours[day.weekday()]
        if not intervals or self.is_holiday(day):
            return ()
        midnight = datetime.combine(day, time(0), tzinfo=UTC)  # local midnight, as if UTC
        early = midnight - timedelta(hours=30)
        late = midnight + timedelta(hours=54)
        first, last = self._offset(early), self._offset(late)
        spans: list[tuple[datetime, datetime]] = []
        if first == last:
            regimes = [(first, early, late)]
        else:
            switch = self._transition(early, late)
            regimes = [(first, early, switch), (last, switch, late)]
        for offset, valid_from, valid_to in regimes:
            for start, end in intervals:
                lo = max(midnight + timedelta(seconds=start) - offset, valid_from)
                hi = min(midnight + timedelta(seconds=end) - offset, valid_to)
                if lo < hi:
                    spans.append((lo, hi))
        spans.sort()
        merged: list[tuple[datetime, datetime]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return tuple(merged)

    def _days_from(self, instant: datetime) -> Iterator[date]:
        day = instant.astimezone(self._zone).date()
        for _ in range(_SEARCH_DAYS):
            yield day
            day += timedelta(days=1)
        raise ValueError(
            f"this calendar has no working time within {_SEARCH_DAYS} days of {instant}"
        )

    # -- arithmetic ----------------------------------------------------------------

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant at which ``seconds`` of working time have passed since ``start``.

        Adding nothing gives ``start`` itself, even outside working hours.
        """
        if seconds < 0:
            raise ValueError("cannot add negative working time")
        if seconds == 0:
            return start
        remaining = timedelta(seconds=seconds)
        for day in self._days_from(start):
            for lo, hi in self.working_pieces(day):
                if hi <= start:
                    continue
                lo = max(lo, start)
                if hi - lo >= remaining:
                    return lo + remaining
                remaining -= hi - lo
        raise AssertionError("unreachable")  # pragma: no cover

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Working seconds from ``start`` to ``end``; 0 when ``end`` is not after ``start``."""
        if end <= start:
            return 0
        total = timedelta(0)
        last_day = end.astimezone(self._zone).date()
        for day in self._days_from(start):
            if day > last_day:
                break
            for lo, hi in self.working_pieces(day):
                lo, hi = max(lo, start), min(hi, end)
                if lo < hi:
                    total += hi - lo
        return int(total.total_seconds())


@functools.lru_cache(maxsize=4096)
def _pieces(calendar: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    return calendar._compute_pieces(day)


@functools.lru_cache(maxsize=1024)
def _rule_days(rules: tuple[str, ...], year: int) -> frozenset[date]:
    days: set[date] = set()
    for text in rules:
        rule = _rule(text)
        found = rule.between(datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59), inc=True)
        days.update(moment.date() for moment in found)
    return frozenset(days)


def holidays_in(calendar: BusinessCalendar, years: Iterable[int]) -> list[date]:
    """Every holiday of the calendar in the given years, sorted (for display and tests)."""
    days = {
        d
        for year in years
        for d in (*_rule_days(calendar._rules, year), *calendar._fixed_days)
        if d.year == year
    }
    return sorted(days)
