"""Many writers on one PostgreSQL database, and the transactions that meet: several
processes and several threads sharing one engine write at once and lose nothing;
serialization failures (SQLSTATE 40001) and deadlocks (40P01) that the database itself
raises are run again, never shown, and past the bound are ``DatabaseBusy`` with nothing
written; reads never wait for writes, neither for a row lock nor for a connection.

The writer and the checks of what they leave are the SQLite test's
(``tests/writers.py``, ``tests/integration/test_concurrency.py``).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from ayra_tickets import DatabaseBusy, Engine, ManualClock, SlaPolicy, Targets
from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.storage.backoff import Backoff
from ayra_tickets.storage.postgres.adapter import RETRY_WAIT, PostgresStorage
from tests.backends import schema_address, table_counts
from tests.conftest import START, FakeTime
from tests.writers import Outcome, check_database, mixed_writes, run_all, writer_process

PROCESSES = 4
WRITES = 500
"""Each process's writes."""
THREADS = 8
THREAD_WRITES = WRITES // 4
"""Each thread's writes (the SQLite test's threads write as many)."""
HANG = 60
"""Seconds after which a call that should have returned long before is taken to hang."""


@pytest.fixture
def address(postgres_url: str, pg_schema: str) -> str:
    """The URL of this test's schema; its connections are named after it, so that the
    test can find them among the server's."""
    return f"{schema_address(postgres_url, pg_schema)}&application_name={pg_schema}"


@pytest.fixture
def engine(address: str) -> Iterator[Engine]:
    with Engine.open(address, clock=ManualClock(START)) as opened:
        yield opened


@pytest.fixture
def admin(address: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection of the test's own to its schema, beside the engine's (autocommit)."""
    with psycopg.connect(address, autocommit=True) as conn:
        yield conn


# -- many writers ----------------------------------------------------------------------


def test_four_processes_and_eight_threads_writing_one_database_lose_nothing(
    engine: Engine, address: str
) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Barrier(PROCESSES + 1)  # the processes' engines open, then all go
    writers = [
        context.Process(target=writer_process, args=(address, seed, WRITES, results, start))
        for seed in range(PROCESSES)
    ]
    for writer in writers:
        writer.start()
    outcomes: list[Outcome] = []
    start.wait(timeout=120)
    run_all(
        [
            lambda seed=seed: outcomes.append(mixed_writes(engine, seed, THREAD_WRITES))
            for seed in range(PROCESSES, PROCESSES + THREADS)
        ]
    )
    outcomes += [results.get(timeout=600) for _ in writers]
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    failures = [failure for outcome in outcomes for failure in outcome.failures]
    assert failures == []  # no raw psycopg error, no 40001 or 40P01, no DatabaseBusy
    acks = [ack for outcome in outcomes for ack in outcome.acks]
    refused = sum(outcome.refused for outcome in outcomes)
    assert len(acks) + refused == PROCESSES * WRITES + THREADS * THREAD_WRITES
    assert len(acks) > (PROCESSES * WRITES + THREADS * THREAD_WRITES) * 0.5
    check_database(engine, acks)


# -- failures the database raises ------------------------------------------------------


def force(conn: psycopg.Connection[Any], sqlstate: str, failures: int) -> None:
    """Make the next ``failures`` writes of a ticket row (an insert or an update) fail
    with ``sqlstate``, raised by the database inside the engine's transaction; count
    every attempt in the sequence ``attempts`` (a sequence, which no rollback undoes)."""
    conn.execute("CREATE SEQUENCE IF NOT EXISTS attempts")
    conn.execute("ALTER SEQUENCE attempts RESTART")
    conn.execute(
        f"""
        CREATE OR REPLACE FUNCTION fail_first_attempts() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF nextval('attempts') <= {int(failures)} THEN
                RAISE EXCEPTION 'forced by the test' USING ERRCODE = '{sqlstate}';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    conn.execute(
        "CREATE OR REPLACE TRIGGER fail_first_attempts BEFORE INSERT OR UPDATE ON tickets"
        " FOR EACH STATEMENT EXECUTE FUNCTION fail_first_attempts()"
    )


def attempts(conn: psycopg.Connection[Any]) -> int:
    """How many writes of a ticket row were tried since :func:`force`."""
    last, called = conn.execute("SELECT last_value, is_called FROM attempts").fetchone()
    return int(last) if called else 0


def test_a_create_that_fails_to_serialize_is_run_again_and_made_once(
    engine: Engine, admin: psycopg.Connection[Any]
) -> None:
    force(admin, "40001", failures=3)
    made = engine.tickets.create(subject="Printer", description="on fire", tags=["x"])
    assert attempts(admin) == 4  # three failures, then the one that committed
    assert getattr(engine.storage, "retried", None) == 3
    assert made.number == 1
    events = engine.tickets.events(made.id)
    assert [event.type for event in events] == ["created", "sla_applied"]
    counts = table_counts(engine)
    assert [counts[table] for table in ("tickets", "ticket_events", "ticket_states")] == [1, 2, 1]
    assert engine.tickets.create(subject="Next", description="one").number == 2  # no gap


def test_an_update_that_meets_a_deadlock_is_run_again_and_made_once(
    engine: Engine, admin: psycopg.Connection[Any]
) -> None:
    ticket = engine.tickets.create(subject="Printer", description="on fire", priority=3)
    force(admin, "40P01", failures=2)
    after = engine.tickets.update(ticket.id, priority=1, internal_note="escalated")
    assert attempts(admin) == 3
    assert after.version == ticket.version + 1 == engine.tickets.get(ticket.id).version
    changes = [
        (event.type, event.field, event.version) for event in engine.tickets.events(ticket.id)
    ]
    assert changes == [
        ("created", None, 1),
        ("sla_applied", None, 1),
        ("field_changed", "priority", 2),  # once: the failed attempts left nothing
        ("note_added", None, 2),
        ("sla_applied", None, 2),
    ]


def test_failures_that_never_stop_are_database_busy_after_the_bound_and_write_nothing(
    engine: Engine, admin: psycopg.Connection[Any]
) -> None:
    key = engine.keys.create(scopes=["tickets:write"])
    engine.tickets.create(subject="Before", description="the failures")
    before = table_counts(engine)
    fake = FakeTime()
    storage: Any = engine.storage
    storage.backoff = Backoff(RETRY_WAIT, clock=fake.clock, sleep=fake.sleep)
    force(admin, "40001", failures=10**9)
    with pytest.raises(DatabaseBusy, match="kept meeting others'"):
        engine.tickets.create(subject="Never", description="made")
    # The whole bound was waited (on the fake clock), a pause before each new attempt.
    assert fake.now == pytest.approx(RETRY_WAIT)
    assert attempts(admin) == len(fake.slept) + 1 > 300  # pauses of 0.1 s at most
    # On the wire: 503 database_busy, to be tried again later.
    storage.backoff = Backoff(0.5, clock=fake.clock, sleep=fake.sleep)
    answer = engine.request(
        "POST", "/v1/tickets", headers={"Authorization": f"Bearer {key}"},
        json={"subject": "Never", "description": "made either"},
    )  # fmt: skip
    assert (answer.status, answer.json["error"]["code"]) == (503, "database_busy")
    assert answer.headers["Retry-After"] == "1"
    assert table_counts(engine) == before  # nothing written, no number used
    force(admin, "40001", failures=0)
    assert engine.tickets.create(subject="After", description="them").number == 2


def test_new_policies_are_used_when_a_transaction_fails_between_seeing_and_loading_them(
    engine: Engine, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where reads too may fail to serialize (distributed engines), an attempt that
    noticed new SLA policies and failed before loading them must not leave them
    noticed: the attempt run again loads them."""
    engine.tickets.create(subject="Before", description="the new policy")
    with Engine.open(address, clock=ManualClock(START)) as other:
        gold = {3: Targets(timedelta(minutes=30), timedelta(hours=2))}
        other.sla.configure(SlaPolicy(name="gold", targets=gold))
    policies: Any = engine.storage.policies
    load, failed = policies.load, []

    def fails_once() -> Any:
        if not failed:
            failed.append("40001")
            raise psycopg.errors.SerializationFailure("forced by the test")
        return load()

    monkeypatch.setattr(policies, "load", fails_once)
    made = engine.tickets.create(subject="After", description="the new policy")
    assert failed == ["40001"]
    assert made.to_dict()["sla"]["policy"] == "gold"


# -- reads beside writes ---------------------------------------------------------------


def in_thread(call: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``call`` in a thread; the returned function waits for its result (or
    raises what it raised), failing if it has not returned within :data:`HANG`."""
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["value"] = call()
        except BaseException as error:
            done["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def result() -> Any:
        thread.join(HANG)
        assert not thread.is_alive(), "it waited (for a write)"
        if "error" in done:
            raise done["error"]
        return done["value"]

    return result


def test_a_read_does_not_wait_for_a_write_holding_the_row_and_sees_what_was_committed(
    engine: Engine, admin: psycopg.Connection[Any]
) -> None:
    ticket = engine.tickets.create(subject="Committed", description="first", tags=["a"])
    history = engine.tickets.events(ticket.id)
    with admin.transaction():  # another writer, mid-transaction, holding the row
        admin.execute(
            "UPDATE tickets SET subject = 'Uncommitted', priority = 1 WHERE id = %s",
            (ticket.id,),
        )
        read = in_thread(
            lambda: (
                engine.tickets.get(ticket.id),
                engine.tickets.list(priority=1).meta["total"],
                engine.tickets.events(ticket.id),
            )
        )
        seen, urgent, events = read()
        assert (seen.subject, seen.priority, seen.version) == ("Committed", 3, 1)
        assert urgent == 0
        assert events == history
        raise psycopg.Rollback()  # the other writer gives up
    assert engine.tickets.get(ticket.id).subject == "Committed"


def waiting_for_locks(admin: psycopg.Connection[Any], application: str, count: int) -> None:
    """Wait until ``count`` of the engine's connections wait for a lock (or fail)."""
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        admin.execute("SELECT pg_stat_clear_snapshot()")  # a transaction keeps its first
        (waiting,) = admin.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND wait_event_type = 'Lock'",
            (application,),
        ).fetchone()
        if waiting >= count:
            return
        time.sleep(0.01)
    pytest.fail(f"{count} writers never came to wait for the lock")


def test_a_read_does_not_wait_for_a_connection_while_writers_wait_for_a_lock(
    address: str, pg_schema: str, admin: psycopg.Connection[Any]
) -> None:
    """Every connection an engine may open for writes is taken by a writer waiting for
    a row lock: a read still gets a connection of its own, and answers."""
    storage = PostgresStorage.open(address, location=pg_schema, pool_size=2)
    with Engine(storage, ManualClock(START), pg_schema) as engine:
        ticket = engine.tickets.create(subject="Contended", description="row")
        with admin.transaction():
            admin.execute("SELECT 1 FROM tickets WHERE id = %s FOR UPDATE", (ticket.id,))
            writes = [
                in_thread(lambda n=n: engine.tickets.update(ticket.id, internal_note=f"{n}"))
                for n in range(2)
            ]
            waiting_for_locks(admin, pg_schema, 2)
            assert in_thread(lambda: engine.tickets.get(ticket.id))().version == 1
        assert sorted(write().version for write in writes) == [2, 3]


def test_two_keys_made_at_once_with_one_secret_are_one_key_and_a_refusal(
    engine: Engine, admin: psycopg.Connection[Any], pg_schema: str
) -> None:
    """Each finds no key with the secret in its snapshot; the second to insert meets
    the first's row (a unique key): run again, it sees that row and refuses, as it would
    have one after the other, never with the database's unique violation."""
    secret = "sk_live_abc123xyz789"
    digest = engine.storage.keys.digest(secret)
    with admin.transaction():  # another engine, storing a key with this secret
        admin.execute(
            "INSERT INTO api_keys (id, prefix, secret_hash, scopes, created_at)"
            " VALUES ('key_first', 'key_first', %s, ARRAY['tickets:read'], now())",
            (digest,),
        )
        made = in_thread(lambda: engine.keys.create(secret=secret))
        waiting_for_locks(admin, pg_schema, 1)  # for the first's row, not yet committed
    with pytest.raises(ParameterInvalid, match="another key already has this secret"):
        made()
    assert [key.id for key in engine.keys.list()] == ["key_first"]
