"""A process killed (SIGKILL, a real process) between queuing its commands and pushing
them, or in the middle of a push with a request the remote committed but never
answered, loses nothing: once the engine is opened again (and the killed push's hold
has lapsed), a push sends every command, and the remote holds each ticket once and each
change once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.sync import LEASE
from tests.conftest import START
from tests.faults import HOLD, FaultProxy

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[2]
KEY_ENV = "AYRA_TEST_REMOTE_KEY"
TICKETS = 5

QUEUER = """
import sys
from datetime import datetime
from ayra_tickets import Engine, ManualClock
engine = Engine.open(sys.argv[1], clock=ManualClock(datetime.fromisoformat(sys.argv[2])))
for n in range(int(sys.argv[3])):
    ticket = engine.tickets.create(subject=f"Offline {n}", description="Made on a train")
    engine.tickets.update(ticket.id, priority=1)
    engine.tickets.update(ticket.id, tags=["train"], internal_note="Still offline")
print("queued", flush=True)
if sys.argv[4] == "wait":
    sys.stdin.readline()
engine.sync.run()
print("pushed", flush=True)
"""
"""A process that queues three commands a ticket, then (``wait``: once told to) pushes."""


@pytest.fixture
def configured(
    engine_address: str, remote: Engine, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The local database, configured to sync with the remote through the proxy; the
    environment a process pushing it needs (this one's has the key too)."""
    with Engine.open(engine_address, clock=ManualClock(START)) as engine:
        engine.sync.configure(remote=proxy.url, key_env=KEY_ENV)
    monkeypatch.setenv(KEY_ENV, remote.keys.create())
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def start(address: str, environment: dict[str, str], after: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", QUEUER, address, START.isoformat(), str(TICKETS), after],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.communicate()  # waits, and closes its pipes
    assert child.returncode == -signal.SIGKILL


def push_until_done(address: str) -> None:
    """Open the database again after the hold lapsed, and push until nothing is left
    (a retry waits for its backoff on the engine's clock)."""
    clock = ManualClock(START + LEASE + timedelta(minutes=1))
    with Engine.open(address, clock=clock) as engine:
        for _ in range(5):
            report = engine.sync.run()
            if report.pending == 0:
                break
            clock.advance(timedelta(minutes=1))
        status = engine.sync.status()
        assert (status.pending, status.dead, status.conflicts) == (0, 0, 0)
        commands = engine.sync.commands(limit=1000)
        assert len(commands) == 3 * TICKETS
        assert {c.status for c in commands} == {"done"}


def assert_each_change_once(remote: Engine) -> None:
    tickets = remote.tickets.list(per_page=100).data
    assert sorted(t.subject for t in tickets) == [f"Offline {n}" for n in range(TICKETS)]
    for ticket in tickets:
        assert (ticket.priority, ticket.tags, ticket.version) == (1, ("train",), 3)
        kinds = [e.type for e in remote.tickets.events(ticket.id) if not e.type.startswith("sla_")]
        assert kinds == ["created", "field_changed", "field_changed", "note_added"]


def test_a_process_killed_after_queuing_pushes_everything_once_it_runs_again(
    engine_address: str, configured: dict[str, str], remote: Engine, proxy: FaultProxy
) -> None:
    child = start(engine_address, configured, "wait")
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "queued"
    finally:
        kill(child)
    assert proxy.seen == []  # killed before its push
    push_until_done(engine_address)
    assert_each_change_once(remote)


def test_a_process_killed_mid_push_with_an_answer_unheard_pushes_nothing_twice(
    engine_address: str, configured: dict[str, str], remote: Engine, proxy: FaultProxy
) -> None:
    proxy.add(HOLD, lambda method, path, headers: method == "PUT")  # the remote commits it
    child = start(engine_address, configured, "push")
    try:
        assert proxy.wait_until(lambda seen: any(s.action == HOLD for s in seen))
    finally:
        kill(child)
    proxy.release()
    held = next(s for s in proxy.seen if s.action == HOLD)
    assert held.status == 200  # applied by the remote; its answer never reached the pusher
    push_until_done(engine_address)
    assert_each_change_once(remote)
    sent = [s for s in proxy.seen if s.method == "PUT" and s.path == held.path]
    assert sent[0].headers["If-Match"] == sent[1].headers["If-Match"]  # sent again: 412
    assert sent[1].status == 412
