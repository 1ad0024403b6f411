"""The PostgreSQL schema: made at the SQLite schema's version in one step, with the same
logical tables; upgrades that are safe to run again and from several processes at once;
a newer or foreign schema refused untouched; ticket numbers without gaps however many
writers take them."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from ayra_tickets import Engine, ManualClock, NewerSchema, NotATicketDatabase
from ayra_tickets.storage.postgres import schema
from ayra_tickets.storage.postgres.schema import NEXT_NUMBER, upgrade
from tests.conftest import START
from tests.postgres.conftest import connect, insert_ticket

SQLITE_ONLY = {"_sqlite_migrations", "sqlite_stat1"}
"""SQLite's own bookkeeping (the search index is its ``tickets_fts`` tables)."""
POSTGRES_ONLY = {"ayra_migrations", "ticket_counter"}
EXTRA_COLUMNS = {"tickets": {"search"}, "api_keys": {"seq"}}
"""Columns PostgreSQL keeps in the table where SQLite has another place: the search
words (SQLite's ``tickets_fts``), the order keys were made in (SQLite's rowid)."""


def sqlite_columns(tmp_path: Path) -> dict[str, set[str]]:
    """Every table and view of a new SQLite file, with its columns."""
    path = tmp_path / "tickets.db"
    Engine.open(path, clock=ManualClock(START)).close()
    conn = sqlite3.connect(path)
    names = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
            " AND name NOT LIKE 'tickets_fts%'"
        )
    ]
    found = {
        name: {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')} for name in names
    }
    conn.close()
    return found


def postgres_columns(conn: psycopg.Connection[Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
    ):
        found.setdefault(table, set()).add(column)
    return found


def sqlite_schema_version() -> int:
    from ayra_tickets.storage.sqlite.schema import SCHEMA_VERSION

    return int(SCHEMA_VERSION)


def test_a_new_database_starts_at_the_sqlite_schema_version_in_one_migration(
    tickets_db: psycopg.Connection[Any],
) -> None:
    # the baseline, then the migrations numbered after it on both backends
    assert schema.applied_migrations(tickets_db) == schema.known_migrations()
    assert schema.known_migrations()[0] == "0014_postgres_baseline"
    assert sqlite_schema_version() == schema.SCHEMA_VERSION
    (latest,) = schema.known_migrations()[-1:]
    assert int(latest[:4]) == schema.SCHEMA_VERSION


def test_the_tables_and_views_are_the_sqlite_files_with_the_same_columns(
    tickets_db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    ours = postgres_columns(tickets_db)
    theirs = sqlite_columns(tmp_path)
    assert set(ours) - POSTGRES_ONLY == set(theirs) - SQLITE_ONLY
    for table, columns in theirs.items():
        if table not in SQLITE_ONLY:
            assert ours[table] - EXTRA_COLUMNS.get(table, set()) == columns, table


def test_instants_are_timestamptz_and_objects_json_as_written(
    tickets_db: psycopg.Connection[Any],
) -> None:
    types = dict(
        tickets_db.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        ).fetchall()
    )
    for column in ("created_at", "due_date", "sla_breach_at", "first_response_at"):
        assert types[f"tickets.{column}"] == "timestamp with time zone", column
    # json, not jsonb: the API answers a ticket's objects with their keys in the order
    # they were sent (see test_jsonb_keeps_values_but_not_their_spelling)
    for column in (
        "tickets.custom_fields", "tickets.metadata", "ticket_events.old_value",
        "ticket_events.new_value", "ticket_events.data", "idempotency_keys.ticket_row",
    ):  # fmt: skip
        assert types[column] == "json", column
    assert types["sla_policies.targets"] == "jsonb"
    assert types["tickets.search"] == "tsvector"
    assert types["tickets.tags"] == "ARRAY"
    (gin,) = tickets_db.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'tickets_by_search'"
        " AND schemaname = current_schema()"
    ).fetchone() or (None,)
    assert gin is not None
    assert "USING gin (search)" in gin


def test_upgrading_again_changes_nothing(tickets_db: psycopg.Connection[Any]) -> None:
    salt = tickets_db.execute("SELECT value FROM settings WHERE key = 'api_key_salt'").fetchone()
    upgrade(tickets_db)
    assert schema.applied_migrations(tickets_db) == schema.known_migrations()
    again = tickets_db.execute("SELECT value FROM settings WHERE key = 'api_key_salt'").fetchone()
    assert again == salt


def test_a_newer_schema_is_refused_and_left_untouched(tickets_db: psycopg.Connection[Any]) -> None:
    with tickets_db.transaction():
        tickets_db.execute(
            "INSERT INTO ayra_migrations (migration_set, name, applied_at)"
            " VALUES ('ayra_tickets', '0099_from_the_future', now())"
        )
    before = postgres_columns(tickets_db)
    with pytest.raises(NewerSchema, match="0099_from_the_future"):
        upgrade(tickets_db)
    with pytest.raises(NewerSchema):
        schema.refuse_newer(tickets_db)
    assert postgres_columns(tickets_db) == before
    assert schema.applied_migrations(tickets_db)[-1] == "0099_from_the_future"


def test_another_applications_schema_is_refused_and_left_untouched(
    pg: psycopg.Connection[Any],
) -> None:
    with pg.transaction():
        pg.execute("CREATE TABLE invoices (id integer PRIMARY KEY)")
    with pytest.raises(NotATicketDatabase, match="invoices"):
        upgrade(pg)
    assert set(postgres_columns(pg)) == {"invoices"}


def test_several_processes_upgrading_at_once_apply_each_migration_once(
    postgres_url: str, pg_schema: str
) -> None:
    failures: list[BaseException] = []

    def open_and_upgrade() -> None:
        try:
            with connect(postgres_url, pg_schema) as conn:
                upgrade(conn)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_and_upgrade) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with connect(postgres_url, pg_schema) as conn:
        assert schema.applied_migrations(conn) == schema.known_migrations()


RETRIED = (errors.SerializationFailure, errors.DeadlockDetected)  # 40001, 40P01


@pytest.mark.parametrize("isolation", list(psycopg.IsolationLevel)[1:], ids=lambda i: i.name)
def test_ticket_numbers_stay_gapless_with_concurrent_writers_and_rollbacks(
    tickets_db: psycopg.Connection[Any],
    postgres_url: str,
    pg_schema: str,
    isolation: psycopg.IsolationLevel,
) -> None:
    """Writers at each isolation level take numbers from the counter in the transaction that
    inserts the ticket; some roll back, conflicts are retried. The numbers left are
    1..N without a gap, and creation times never go down as numbers go up, though each
    writer's clock is skewed."""
    writers, creates = 4, 25
    committed: list[int] = []
    retries = [0]
    lock = threading.Lock()
    failures: list[BaseException] = []

    def write(seed: int) -> None:
        rng = random.Random(seed)
        skew = timedelta(seconds=rng.randint(-30, 30))  # this app server's clock
        try:
            with connect(postgres_url, pg_schema) as conn:
                conn.isolation_level = isolation
                for _ in range(creates):
                    for attempt in range(100):
                        rejected = rng.random() < 0.2  # a rejected call leaves no trace
                        try:
                            with conn.transaction():
                                row = conn.execute(NEXT_NUMBER, {"now": START + skew}).fetchone()
                                assert row is not None
                                number, created = row
                                insert_ticket(conn, number, "Printer", "jam", created_at=created)
                                if rejected:
                                    raise psycopg.Rollback
                            if not rejected:
                                with lock:
                                    committed.append(number)
                            break
                        except RETRIED:
                            with lock:
                                retries[0] += 1
                            time.sleep(rng.uniform(0, 0.002 * 2 ** min(attempt, 6)))
                    else:
                        raise AssertionError("no progress after 100 attempts")
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rows = tickets_db.execute("SELECT number, created_at FROM tickets ORDER BY number").fetchall()
    numbers = [number for number, _ in rows]
    assert numbers == list(range(1, len(numbers) + 1))
    assert sorted(committed) == numbers
    assert 0 < len(numbers) < writers * creates  # some rolled back, their numbers reused
    times = [created for _, created in rows]
    assert times == sorted(times)
    (last,) = tickets_db.execute("SELECT last_number FROM ticket_counter").fetchone() or (0,)
    assert last == len(numbers)
    print(f"{retries[0]} serialization failures retried")


def test_jsonb_keeps_values_but_not_their_spelling(tickets_db: psycopg.Connection[Any]) -> None:
    """Why a ticket's objects are ``json`` (see the package's notes): ``jsonb`` gives the
    same JSON values back, in another key order, some numbers spelled otherwise."""
    sent = {"zeta": 1, "a": 2.5, "big": 1e20, "minus_zero": -0.0, "nested": {"b": [1, "x"]}}
    row = tickets_db.execute("SELECT %s::jsonb", (Jsonb(sent),)).fetchone()
    assert row is not None
    (back,) = row
    assert back == sent  # equal as values (1e20 == 10**20, -0.0 == 0.0)
    assert list(back) == ["a", "big", "zeta", "nested", "minus_zero"]  # shorter keys first
    assert json.dumps(back) != json.dumps(sent)
    assert back["big"] == 10**20
    assert isinstance(back["big"], int)
