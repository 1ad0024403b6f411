"""Many writers on one database, and what must hold after them: the writer (a mix of
every kind of write, on tickets made by anyone), a process that runs one, and the check
of the database they leave. The SQLite and the PostgreSQL tests of concurrency
(``tests/integration/test_concurrency.py``, ``tests/postgres/test_concurrency.py``) both
run these, on their own database.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ayra_tickets import Engine, ManualClock, TicketError
from ayra_tickets.domain.ticket import PERSISTENT_FIELDS, replay
from ayra_tickets.storage.sqlite.rows import StateRow, state_rows, states_from_log
from tests.backends import on_postgres, rows
from tests.conftest import START

Ack = tuple[str, str, int]
"""An acknowledged write: what it was, the ticket's id, the version it left."""


@dataclass
class Outcome:
    """What one writer saw: its acknowledged writes, how many moves the API refused
    because another writer had made them impossible (409, expected), and every other
    failure (none may happen: no raw database error, no ``DatabaseBusy``)."""

    acks: list[Ack] = field(default_factory=list)
    refused: int = 0
    failures: list[str] = field(default_factory=list)
    retried: int = 0
    """How many times the writer's storage had run a transaction again when it finished
    (PostgreSQL's; threads sharing an engine share its count)."""


def mixed_writes(engine: Engine, seed: int, count: int) -> Outcome:
    """``count`` writes of every kind (create, note, priority, status move, close,
    reopen) on tickets made by anyone."""
    rng = random.Random(seed)
    outcome = Outcome()
    for step in range(count):
        try:
            last = engine.tickets.count()
            if last == 0 or rng.random() < 0.3:
                made = engine.tickets.create(
                    subject=f"Writer {seed} step {step}", description="Concurrent",
                    priority=rng.randint(1, 4), tags=[f"w{seed}"],
                )  # fmt: skip
                outcome.acks.append(("create", made.id, made.version))
                continue
            number = rng.randint(1, last)
            target = engine.tickets.list(sort_order="asc", per_page=1, page=number).data[0]
            move = rng.choice(["note", "priority", "status", "close", "reopen"])
            if move == "note":
                after = engine.tickets.update(target.id, internal_note=f"{seed}/{step}")
            elif move == "priority":
                after = engine.tickets.update(target.id, priority=rng.randint(1, 4))
            elif move == "status":
                status = rng.choice(["open", "in_progress", "waiting_on_customer", "resolved"])
                after = engine.tickets.update(target.id, status=status)
            elif move == "close":
                after = engine.tickets.close(target.id, customer_satisfaction=rng.randint(1, 10))
            else:
                after = engine.tickets.update(target.id, status="reopened")
            outcome.acks.append((move, after.id, after.version))
        except TicketError as error:
            if error.status != 409:  # a move another writer made impossible is fine
                outcome.failures.append(f"{type(error).__name__}: {error}")
            else:
                outcome.refused += 1
        except Exception as error:  # a raw database error, DatabaseBusy: never expected
            outcome.failures.append(f"{type(error).__module__}.{type(error).__name__}: {error}")
    outcome.retried = getattr(engine.storage, "retried", 0)
    return outcome


def run_all(jobs: list[Callable[[], object]]) -> None:
    """Run each job in a thread of its own, all at once, and wait for them all."""
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def writer_process(address: str, seed: int, count: int, results: Any, start: Any = None) -> None:
    """A process's writer (``multiprocessing``'s target): its own engine on ``address``;
    it waits at the ``start`` barrier, if given, once the engine is open; its
    :class:`Outcome` goes to the ``results`` queue."""
    with Engine.open(address, clock=ManualClock(START)) as engine:
        if start is not None:
            start.wait()
        results.put(mixed_writes(engine, seed, count))


def check_database(engine: Engine, acks: list[Ack]) -> None:
    """What many writers must leave: numbers unique and gapless, the figures' states
    as the event log says, every ticket's log replaying to its row, and every
    acknowledged write there (its version reached, its events in the log). Every ticket
    must have been made by an acknowledged create of ``acks``."""
    numbers = [number for (number,) in rows(engine, "SELECT number FROM tickets ORDER BY number")]
    assert numbers == list(range(1, len(numbers) + 1))  # unique and gapless
    assert stored_states(engine) == log_states(engine)  # the figures' states: the log's
    created = [ticket_id for kind, ticket_id, _ in acks if kind == "create"]
    assert len(created) == len(set(created)) == len(numbers)
    logged: set[tuple[str, int]] = set()
    final: dict[str, int] = {}
    for ticket_id in created:
        ticket = engine.tickets.get(ticket_id)
        events = engine.tickets.events(ticket_id)
        shown = ticket.to_dict()
        persistent = {name: shown[name] for name in PERSISTENT_FIELDS}
        persistent.update(version=shown["version"], updated_at=shown["updated_at"])
        assert replay(events) == persistent
        final[ticket_id] = ticket.version
        logged.update((ticket_id, event.version) for event in events)
    # Every acknowledged write is in its ticket's history, at the version it left, and
    # no ticket is behind a version it acknowledged.
    assert [ack for ack in acks if (ack[1], ack[2]) not in logged] == []
    assert [ack for ack in acks if final[ack[1]] < ack[2]] == []
    assert engine.check().problems == ()  # and the engine's own checks agree


def stored_states(engine: Engine) -> list[StateRow]:
    """``ticket_states`` by ticket and version, in SQLite's terms (Unix seconds, 0/1)."""
    if not on_postgres(engine):
        return [tuple(row) for row in rows(engine, _STATES)]  # type: ignore[misc]
    return [tuple(row) for row in rows(engine, _PG_STATES)]  # type: ignore[misc]


def log_states(engine: Engine) -> list[StateRow]:
    """``ticket_states`` as the event log says they must be (the adapters' own rule)."""
    if not on_postgres(engine):
        return states_from_log(engine.db.conn)
    return state_rows((*row[:7], row[7].isoformat()) for row in rows(engine, _PG_STATE_EVENTS))


_STATES = "SELECT * FROM ticket_states ORDER BY ticket_number, version"
_PG_STATES = (
    "SELECT ticket_number, version, extract(epoch FROM began)::bigint,"
    " extract(epoch FROM ended)::bigint, status, priority, resolves::int, closes::int"
    " FROM ticket_states ORDER BY ticket_number, version"
)
_PG_STATE_EVENTS = (
    "SELECT ticket_number, version, type, field, old_value::text, new_value::text,"
    " data::text, created_at FROM ticket_events"
    " WHERE type = 'created' OR field IN ('status', 'priority') ORDER BY ticket_number, id"
)
