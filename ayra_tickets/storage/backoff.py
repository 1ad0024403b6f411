"""How an adapter waits between attempts at a transaction another one is in the way of:
jittered, growing pauses, up to a bound in time.

The SQLite adapter waits so for a file's write lock that another process holds; the
PostgreSQL adapter so runs again a transaction that failed to serialize or met a
deadlock. The pauses start short (most conflicts end within milliseconds), double up to
a ceiling (a long wait polls no faster than ten times a second), and each is drawn at
random between half its ceiling and its ceiling, so that writers that met once do not
meet again in step. Past the bound the adapter gives up and says so
(:class:`~ayra_tickets.storage.errors.DatabaseBusy`).

The clock, the sleep and the random draw are :class:`Backoff`'s fields, so that a test
can run the whole bound without waiting for it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import attrs

FIRST_PAUSE = 0.002
"""Seconds: the ceiling of the first pause."""
LONGEST_PAUSE = 0.1
"""Seconds: the ceiling no pause goes past."""


@attrs.frozen
class Backoff:
    """How long to keep trying (``wait``, in seconds) and how to pause between tries.
    :meth:`start` begins one wait."""

    wait: float
    first: float = FIRST_PAUSE
    longest: float = LONGEST_PAUSE
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    draw: Callable[[float, float], float] = random.uniform
    """A number between its two arguments (the jitter)."""

    def start(self) -> Waiting:
        """A wait that begins now: its bound is ``wait`` seconds from this moment."""
        return Waiting(self)


class Waiting:
    """One wait of a :class:`Backoff`, from the first attempt to the last."""

    def __init__(self, backoff: Backoff) -> None:
        self._backoff = backoff
        self._deadline = backoff.clock() + backoff.wait
        self._ceiling = backoff.first

    def pause(self) -> bool:
        """Sleep before the next attempt and say True; or say False, without sleeping,
        once the bound has passed (the caller gives up)."""
        backoff = self._backoff
        left = self._deadline - backoff.clock()
        if left <= 0:
            return False
        backoff.sleep(min(left, backoff.draw(self._ceiling / 2, self._ceiling)))
        self._ceiling = min(self._ceiling * 2, backoff.longest)
        return True
