"""Timestamps on the wire: parsing ISO 8601 input, writing RFC 3339 UTC with a ``Z``.

A caller's date-time is taken in the years :data:`EARLIEST_YEAR` to :data:`LATEST_YEAR`
(as written, before conversion to UTC): every computation on it (a week's buckets, an
offset, a day's start) then stays inside what ``datetime`` and SQLite can hold.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from dateutil.parser import isoparse

from .errors import ParameterInvalid

EARLIEST_YEAR = 1970
"""No ticket predates Unix time. (The OpenAPI document states both years as a pattern.)"""
LATEST_YEAR = 9998
"""A year short of ``datetime``'s last: converting to UTC (a day at most) and the
buckets of a metrics window (a week past its end) stay inside it."""


def utc_seconds(value: datetime) -> datetime:
    """The same instant in UTC, truncated to whole seconds (a naive value is UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


@lru_cache(maxsize=4096)  # the same instants are written again and again
def format_time(value: datetime) -> str:
    """``2025-01-15T16:30:00Z``."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def format_optional(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def load_time(text: str) -> datetime:
    """Read a timestamp this engine wrote (fast path, no validation): Python reads the
    ``Z`` as UTC."""
    return datetime.fromisoformat(text)


def load_optional(text: str | None) -> datetime | None:
    return None if text is None else load_time(text)


def parse_time(value: object, param: str) -> datetime:
    """Parse a caller's date-time: an aware or naive ``datetime`` or an ISO 8601 string.

    A value without an offset is taken as UTC. A bare date is refused: a due date
    needs a time of day, and midnight UTC is rarely what was meant.
    """
    if isinstance(value, datetime):
        return utc_seconds(in_range(value, param))
    example = "an ISO 8601 date-time such as 2025-01-16T17:00:00Z"
    if not isinstance(value, str):
        raise ParameterInvalid(f"{param} must be {example}", param=param)
    text = value.strip()
    if "T" not in text.upper() and " " not in text:
        raise ParameterInvalid(f"{param} must be {example}, not a bare date", param=param)
    try:
        parsed = isoparse(text.replace(" ", "T", 1))
    except (ValueError, OverflowError):
        raise ParameterInvalid(f"{param} must be {example}; got {value!r}", param=param) from None
    return utc_seconds(in_range(parsed, param))


def in_range(value: datetime, param: str) -> datetime:
    """The date-time, if its year (as written) is one this engine takes; else a 400
    naming ``param``."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ParameterInvalid(
            f"{param} must be in the years {EARLIEST_YEAR} to {LATEST_YEAR};"
            f" got {value.isoformat()}",
            param=param,
        )
    return value
