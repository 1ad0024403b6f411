"""Random local edits pushed through random faults (requests dropped, answers dropped
after the remote committed, requests delivered twice, 429 with ``Retry-After``, 5xx),
then fault-free rounds: every local ticket is on the remote once, with the same fields
and notes; nothing is dead, in conflict or pending. The runs are seeded, so each is the
same every time."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from ayra_tickets import TRANSITIONS, Engine, ManualClock, Status
from tests.faults import DROP_ANSWER, DROP_REQUEST, DUPLICATE, FaultProxy

pytestmark = pytest.mark.both_backends

KEY_ENV = "AYRA_TEST_REMOTE_KEY"
FAULTS: list[Any] = [
    DROP_REQUEST, DROP_ANSWER, DUPLICATE, (429, {"Retry-After": "3"}), (503, {}), (502, {}),
]  # fmt: skip
COMPARED = (
    "subject", "priority", "status", "tags", "custom_fields", "category",
    "resolution_note", "customer_satisfaction", "reopened_count",
)  # fmt: skip


def edit(engine: Engine, rng: random.Random, ticket_id: str) -> None:
    """One random edit a desk could make of the ticket."""
    ticket = engine.tickets.get(ticket_id)
    if ticket.status is Status.CLOSED:
        engine.tickets.update(ticket_id, status="reopened", priority=rng.randint(1, 4))
        return
    kind = rng.randrange(6)
    if kind == 0:
        engine.tickets.update(ticket_id, priority=rng.randint(1, 4), tags=[f"t{rng.randrange(5)}"])
    elif kind == 1:
        key = f"k{rng.randrange(3)}"
        engine.tickets.update(ticket_id, custom_fields={key: rng.choice([None, 1, "two"])})
    elif kind == 2:
        engine.tickets.update(ticket_id, internal_note=f"note {rng.randrange(1000)}")
    elif kind == 3:
        moves = sorted(str(s) for s in TRANSITIONS[ticket.status] if s is not Status.CLOSED)
        if moves:
            engine.tickets.update(ticket_id, status=rng.choice(moves), category="c")
    elif kind == 4:
        engine.tickets.close(ticket_id, resolution_note=f"r{rng.randrange(9)}",
                             customer_satisfaction=rng.randint(1, 10))  # fmt: skip
    else:
        engine.tickets.update(ticket_id, subject=f"Subject {rng.randrange(1000)}")


def notes(engine: Engine, ticket_id: str) -> list[Any]:
    return [(e.data or {}).get("note") for e in engine.tickets.events(ticket_id)
            if e.type == "note_added"]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_faults_lose_no_edit_and_apply_none_twice(
    seed: int,
    engine: Engine,
    remote: Engine,
    proxy: FaultProxy,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(seed)
    monkeypatch.setenv(KEY_ENV, remote.keys.create())
    engine.sync.configure(remote=proxy.url, key_env=KEY_ENV)
    made: list[str] = []
    for _ in range(12):
        for _ in range(rng.randint(1, 4)):
            if not made or rng.random() < 0.3:
                made.append(engine.tickets.create(subject="New", description="d").id)
            else:
                edit(engine, rng, rng.choice(made))
        for _ in range(rng.randint(0, 4)):
            proxy.add(rng.choice(FAULTS), lambda method, path, headers: method != "GET")
        engine.sync.run()
        clock.advance(timedelta(seconds=rng.randint(0, 20)))
    proxy.faults.clear()
    for _ in range(12):  # fault-free rounds, each after the longest wait so far
        clock.advance(timedelta(minutes=20))
        if engine.sync.run().pending == 0:
            break
    status = engine.sync.status()
    assert (status.pending, status.dead, status.conflicts) == (0, 0, 0)
    assert remote.tickets.count() == len(made)
    for local_id in made:
        remote_id = engine.sync.remote_id(local_id)
        assert remote_id is not None
        here, there = engine.tickets.get(local_id), remote.tickets.get(remote_id)
        assert {f: getattr(there, f) for f in COMPARED} == {f: getattr(here, f) for f in COMPARED}
        assert notes(remote, remote_id) == notes(engine, local_id)
    assert {c.status for c in engine.sync.commands(limit=1000)} == {"done"}
