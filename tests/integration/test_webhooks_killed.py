"""A sender killed mid-send (SIGKILL, a real process) loses nothing: once its hold on
the delivery it was posting lapses, another engine sends it again, with the same
idempotency id, and everything else pending; a receiver deduping by that id sees each
delivery exactly once. Sending is at least once, not exactly once: the test shows which
ids arrived twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.storage.postgres.schema import schema_address
from ayra_tickets.webhooks import LEASE
from tests.conftest import START
from tests.receiver import HOLD, Receiver, receiving

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[2]

SENDER = """
import sys
from datetime import datetime
from ayra_tickets import Engine, ManualClock
engine = Engine.open(sys.argv[1], clock=ManualClock(datetime.fromisoformat(sys.argv[2])))
engine.run_due()
"""
"""A process that sends what is due, at the tests' start instant."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


@pytest.fixture
def address(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return schema_address(
            request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        )
    return str(request.getfixturevalue("db_path"))


def test_a_sender_killed_mid_send_leaves_nothing_unsent_and_nothing_unmarked(
    address: str, receiver: Receiver
) -> None:
    clock = ManualClock(START)
    with Engine.open(address, clock=clock) as engine:
        engine.webhooks.subscribe(receiver.url, events=["*"])
        tickets = [engine.tickets.create(subject=f"t{n}", description="d") for n in range(3)]
        for ticket in tickets:
            engine.tickets.update(ticket.id, priority=1)
        pending = {d.id for d in engine.webhooks.deliveries(status="pending")}
    assert len(pending) == 6
    receiver.plan = [200, 200, HOLD]  # the third request is held until the sender dies
    child = subprocess.Popen(
        [sys.executable, "-c", SENDER, address, START.isoformat()],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert receiver.wait_for(3)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    held = receiver.received[2].id
    receiver.release()
    with Engine.open(address, clock=clock) as engine:
        assert engine.webhooks.delivery(held).status == "pending"
        engine.run_due()  # the held one is still claimed by the dead process: it waits
        assert held not in receiver.ids()[3:]
        clock.advance(LEASE + timedelta(seconds=1))
        engine.run_due()
        assert {d.status for d in engine.webhooks.deliveries()} == {"delivered"}
    arrivals = Counter(receiver.ids())
    assert {each for each, times in arrivals.items() if times > 1} == {held}
    assert set(arrivals) == pending  # deduped by id: each delivery exactly once
