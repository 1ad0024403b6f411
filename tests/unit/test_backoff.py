"""The pauses between attempts at a transaction another is in the way of
(``storage/backoff.py``), on a fake clock: jittered, growing to a ceiling, and ending at
the bound."""

from __future__ import annotations

import pytest

from ayra_tickets.storage.backoff import FIRST_PAUSE, LONGEST_PAUSE, Backoff
from tests.conftest import FakeTime


def test_pauses_are_drawn_below_a_ceiling_that_doubles_to_the_longest_until_the_bound() -> None:
    fake = FakeTime()
    waiting = Backoff(30.0, clock=fake.clock, sleep=fake.sleep).start()
    while waiting.pause():
        pass
    assert fake.now == pytest.approx(30.0)  # the last pause is cut to the time left
    ceiling = FIRST_PAUSE
    for pause in fake.slept[:-1]:
        assert ceiling / 2 <= pause <= ceiling
        ceiling = min(ceiling * 2, LONGEST_PAUSE)
    assert max(fake.slept) <= LONGEST_PAUSE
    assert len(set(fake.slept)) > len(fake.slept) / 2  # drawn, not fixed: no lockstep
    assert not waiting.pause()  # past the bound: no more attempts, and no sleep
    assert fake.now == pytest.approx(30.0)


def test_the_bound_starts_when_the_wait_does() -> None:
    fake = FakeTime()
    backoff = Backoff(1.0, clock=fake.clock, sleep=fake.sleep)
    fake.now = 100.0
    waiting = backoff.start()
    assert waiting.pause()
    fake.now = 101.0
    assert not waiting.pause()
    assert backoff.start().pause()  # a new wait has its own bound
