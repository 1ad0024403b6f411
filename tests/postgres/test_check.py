"""``ayra-tickets check`` on a PostgreSQL database: a database made through the API
checks clean, each rule finds the damage only it can see (made with plain SQL), an older
or newer schema is said and left as it is, and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from ayra_tickets import Engine, ManualClock
from ayra_tickets.cli import main
from tests.backends import schema_address, table_counts
from tests.conftest import START
from tests.postgres.conftest import connect
from tests.postgres.test_adapter import with_password

TICKETS = 24


@pytest.fixture
def address(postgres_url: str, pg_schema: str) -> str:
    """This test's schema, holding a history made through the API: creates with tags,
    then subject, priority, tag and status changes, notes, closes and reopens."""
    url = schema_address(postgres_url, pg_schema)
    clock = ManualClock(START)
    with Engine.open(url, clock=clock) as engine:
        made = []
        for index in range(TICKETS):
            clock.advance(timedelta(minutes=5))
            made.append(
                engine.tickets.create(
                    subject=f"Printer {index} jams",
                    description="Tray two jams on invoices; the café's printer ÆØÅ too",
                    priority=1 + index % 4,
                    tags=["printer", f"site{index % 3}"],
                )
            )
        for index, ticket in enumerate(made):
            clock.advance(timedelta(minutes=3))
            if index % 4 == 0:
                engine.tickets.update(ticket.id, status="in_progress", priority=1 + (index + 1) % 4)
                engine.tickets.close(ticket.id, customer_satisfaction=8)
                if index % 8 == 0:
                    engine.tickets.update(ticket.id, status="reopened", tags=["recurred"])
            elif index % 4 == 1:
                engine.tickets.update(
                    ticket.id,
                    subject=f"{ticket.subject} (follow-up)",
                    internal_note="Checked again.",
                    tags=["printer"],
                )
            elif index % 4 == 2:
                engine.tickets.update(ticket.id, status="waiting_on_customer")
        clock.advance(timedelta(days=3))  # some deadlines pass: breach times are set
    return url


@pytest.fixture
def sql(address: str, postgres_url: str, pg_schema: str) -> Iterator[psycopg.Connection[Any]]:
    """A plain connection to the schema, for damaging it (each statement commits)."""
    with connect(postgres_url, pg_schema, autocommit=True) as conn:
        yield conn


def check(address: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", address, "check", *args])


def problems(result: Result, name: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.split()[:2] == ["problem", name]]


def assert_found(result: Result, name: str, number: int | None = None) -> list[str]:
    assert result.exit_code == 1, result.output
    lines = problems(result, name)
    assert lines, result.output
    if number is not None:
        assert any(f" TICK-{number}: " in f" {line.split(maxsplit=2)[2]}" for line in lines), (
            result.output
        )
    return lines


def number_where(sql: psycopg.Connection[Any], condition: str) -> int:
    row = sql.execute(f"SELECT min(number) FROM tickets WHERE {condition}").fetchone()
    assert row is not None, condition
    assert row[0] is not None, condition
    return int(row[0])


# -- clean ------------------------------------------------------------------------------


def test_a_history_made_through_the_api_checks_clean_on_every_rule(address: str) -> None:
    result = check(address)
    assert result.exit_code == 0, result.output
    for name in ("schema", "numbers", "replay", "sla", "tags", "states", "search"):
        assert name in result.output
    report = json.loads(check(address, "--json").output)
    assert report["clean"], report
    assert report["tickets"] == TICKETS
    assert report["events"] > 2 * TICKETS
    assert "ayra_test:" not in result.output  # the URL shows no password


def test_an_open_engine_checks_its_own_database_and_the_check_writes_nothing(
    address: str,
) -> None:
    with Engine.open(address, clock=ManualClock(START + timedelta(days=5))) as engine:
        before = table_counts(engine)
        report = engine.check()
        assert report.clean, report.findings
        assert (report.tickets, table_counts(engine)) == (TICKETS, before)


# -- each rule finds its damage -----------------------------------------------------------


def test_a_subject_changed_without_an_event_is_found_by_the_replay(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    sql.execute("UPDATE tickets SET subject = 'Changed behind the log' WHERE number = 3")
    lines = assert_found(check(address), "replay", 3)
    assert any("subject" in line for line in lines)


def test_a_deleted_event_is_found_by_the_replay(address: str, sql: psycopg.Connection[Any]) -> None:
    sql.execute(
        "DELETE FROM ticket_events WHERE id = (SELECT max(id) FROM ticket_events"
        " WHERE ticket_number = 2 AND field = 'subject')"
    )
    assert_found(check(address), "replay", 2)


def test_a_removed_tag_row_and_a_stale_one_are_found_by_the_tags_check(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    sql.execute("DELETE FROM ticket_tags WHERE ticket_number = 4 AND tag = 'site0'")
    sql.execute("UPDATE ticket_tags SET status = 'new' WHERE ticket_number = 3")
    result = check(address)
    assert_found(result, "tags", 4)
    assert_found(result, "tags", 3)


def test_a_state_whose_end_moved_is_found_by_the_states_check(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    number = number_where(sql, "number IN (SELECT ticket_number FROM ticket_states"
                               " WHERE ended IS NOT NULL)")  # fmt: skip
    sql.execute(
        "UPDATE ticket_states SET ended = ended + interval '10 minutes'"
        " WHERE ticket_number = %s AND ended IS NOT NULL",
        (number,),
    )
    lines = assert_found(check(address), "states", number)
    assert any("ended" in line for line in lines)


def test_a_stored_breach_time_off_the_sla_clock_is_found_by_the_sla_check(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    sql.execute("UPDATE tickets SET sla_breach_at = '2001-01-01T00:00:00Z' WHERE number = 6")
    assert_found(check(address), "sla", 6)


def test_an_altered_search_column_is_found_by_the_search_check(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    sql.execute("UPDATE tickets SET search = 'printer jams'::tsvector WHERE number = 7")
    assert_found(check(address), "search", 7)


def test_a_ticket_gone_from_the_middle_is_a_gap_and_a_lowered_counter_is_found(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    for table in ("ticket_states", "ticket_events", "ticket_tags"):
        sql.execute(f"DELETE FROM {table} WHERE ticket_number = 10")
    sql.execute("DELETE FROM tickets WHERE number = 10")
    sql.execute("UPDATE ticket_counter SET last_number = last_number - 2")
    result = check(address)
    assert_found(result, "numbers", 10)
    assert any("counter is at" in line for line in problems(result, "numbers")), result.output


def test_rows_of_a_ticket_that_does_not_exist_are_named(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    # (the foreign key keeps them out; a database restored without it may not)
    sql.execute("ALTER TABLE ticket_tags DROP CONSTRAINT ticket_tags_ticket_number_fkey")
    sql.execute(
        "INSERT INTO ticket_tags (tag, ticket_number, status) VALUES ('ghost', %s, 'new')",
        (TICKETS + 5,),
    )
    lines = assert_found(check(address), "tags", TICKETS + 5)
    assert any("does not exist" in line for line in lines)


# -- what is not checked, and why ---------------------------------------------------------


def test_an_older_schema_is_said_and_not_upgraded(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    sql.execute("DELETE FROM ayra_migrations WHERE id = (SELECT max(id) FROM ayra_migrations)")
    (before,) = sql.execute("SELECT count(*) FROM ayra_migrations").fetchone() or (0,)
    result = check(address)
    assert result.exit_code == 1, result.output
    assert "older release" in result.output
    assert sql.execute("SELECT count(*) FROM ayra_migrations").fetchone() == (before,)


def test_a_newer_schema_is_said_and_left_as_it_is(
    address: str, sql: psycopg.Connection[Any]
) -> None:
    sql.execute(
        "INSERT INTO ayra_migrations (migration_set, name, applied_at)"
        " SELECT migration_set, '9999_from_the_future', applied_at FROM ayra_migrations"
        " ORDER BY id DESC LIMIT 1"
    )
    result = check(address)
    assert result.exit_code == 1, result.output
    assert "newer release" in result.output


def test_a_database_that_cannot_be_reached_is_one_line_without_its_password(
    postgres_url: str, pg_schema: str
) -> None:
    wrong = schema_address(with_password(postgres_url, "not-the-password"), pg_schema)
    result = check(wrong)
    assert result.exit_code == 2, result.output
    assert "not-the-password" not in result.output
    assert "cannot check" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_schema_without_tickets_is_not_a_ticket_database(
    postgres_url: str, pg_schema: str
) -> None:
    result = check(schema_address(postgres_url, pg_schema))
    assert result.exit_code == 2, result.output
    assert "no tickets table" in result.output
