"""Clocks: every "now" the engine uses comes from one of these.

The engine truncates times to whole seconds, the precision of the wire format.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """Reads the system time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class ManualClock:
    """A clock that stands still until told to move, for tests and simulations.

    ``ManualClock(datetime(2025, 1, 15, 9, 0))``: a naive start is taken as UTC. Time
    only moves forward, as it does for the tickets it stamps.
    """

    def __init__(self, start: datetime) -> None:
        if not isinstance(start, datetime):
            raise TypeError(f"ManualClock needs a datetime, not {type(start).__name__}")
        self.start = _aware(start)
        """Where the clock started: where :meth:`restart` puts it back."""
        self._now = self.start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or by ``timedelta(**kwargs)``); returns the new now."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError(f"a clock cannot go back in time (advance by {step})")
        with self._lock:
            self._now = self._now + step
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when``, which may not be earlier than now."""
        target = _aware(when)
        with self._lock:
            if target < self._now:
                raise ValueError(f"a clock cannot go back in time (from {self._now} to {target})")
            self._now = target
            return self._now

    def restart(self, when: datetime | None = None) -> datetime:
        """Put the clock back to where it started, or to ``when``, earlier or later. Only
        for a database just emptied (``/_local/reset``): nothing stamped later is left
        for history to run backwards from."""
        with self._lock:
            self._now = self.start if when is None else _aware(when)
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
