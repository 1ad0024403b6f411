"""Issue 14, point 6: the ticket number a table shows first (``TICK-36``) is an id too,
wherever the CLI and the Python API take one; the wire keeps the remote API's ids."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from ayra_tickets import Engine, ManualClock
from ayra_tickets.cli import main
from ayra_tickets.errors import TicketError
from tests.conftest import START, Api


def cli(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def three(tmp_path: Path) -> Path:
    """A file with TICK-1, TICK-2 and TICK-3."""
    path = tmp_path / "tickets.db"
    with Engine.open(path, clock=ManualClock(START)) as engine:
        for n in range(1, 4):
            engine.tickets.create(subject=f"Ticket {n}", description="Numbered")
    return path


def test_the_cli_closes_the_ticket_the_table_shows_as_tick_2(three: Path) -> None:
    code, out, err = cli(three, "close", "TICK-2", "--root-cause", "user_error")
    assert (code, err) == (0, "")
    closed = json.loads(out)
    assert (closed["number"], closed["status"], closed["root_cause"]) == (
        "TICK-2",
        "closed",
        "user_error",
    )
    with Engine.open(three, clock=ManualClock(START)) as engine:
        assert [str(t.status) for t in engine.tickets.list(sort_order="asc")] == [
            "new",
            "closed",
            "new",
        ]


def test_get_update_and_events_take_a_ticket_number_in_the_cli(three: Path) -> None:
    code, out, _ = cli(three, "get", "TICK-3")
    assert code == 0
    assert json.loads(out)["subject"] == "Ticket 3"
    code, out, _ = cli(three, "update", "TICK-3", "--status", "open")
    assert code == 0
    assert json.loads(out)["status"] == "open"
    code, out, _ = cli(three, "events", "TICK-3")
    assert code == 0
    kinds = [e["type"] for e in json.loads(out)["data"]]
    assert kinds[0] == "created"
    assert "status_changed" in kinds


def test_the_cli_help_says_a_ticket_number_is_taken(three: Path) -> None:
    for command in ("get", "update", "close", "events"):
        code, out, _ = cli(three, command, "--help")
        assert code == 0, out
        assert "TICK-36" in out, (command, out)


def test_the_python_api_takes_tick_n_wherever_it_takes_an_id(
    memory_engine: Engine,
) -> None:
    made = [
        memory_engine.tickets.create(subject=f"Ticket {n}", description="Numbered")
        for n in range(1, 4)
    ]
    tickets = memory_engine.tickets
    assert tickets.get("TICK-2").id == made[1].id
    assert tickets.update("TICK-2", status="open").id == made[1].id
    kinds = [e.type for e in tickets.events("TICK-2")]
    assert kinds[0] == "created"
    assert "status_changed" in kinds
    assert tickets.close("TICK-2", expected_version=2).status == "closed"
    assert tickets.get(made[1].id).status == "closed"
    assert tickets.get("TICK-1").status == "new"


@pytest.mark.parametrize(
    "label",
    [
        "TICK-4",  # no such ticket
        "TICK-0",
        "TICK-02",  # the API never writes a leading zero
        "tick-2",  # nor a lower-case label
        "TICK-2 ",
        "TICK-",
        "TICK--2",
        "2",
        "TICK-9223372036854775808",  # above SQLite's largest integer
        "TICK-9999999999999999999",
    ],
)
def test_anything_but_an_existing_tick_n_is_ticket_not_found_and_changes_nothing(
    memory_engine: Engine, label: str
) -> None:
    for n in range(1, 4):
        memory_engine.tickets.create(subject=f"Ticket {n}", description="Numbered")
    before = [t.to_dict() for t in memory_engine.tickets.list()]
    calls = (
        lambda: memory_engine.tickets.get(label),
        lambda: memory_engine.tickets.update(label, priority=1),
        lambda: memory_engine.tickets.close(label),
        lambda: memory_engine.tickets.events(label),
    )
    for call in calls:
        with pytest.raises(TicketError) as caught:
            call()
        assert caught.value.code == "ticket_not_found"
    assert [t.to_dict() for t in memory_engine.tickets.list()] == before


def test_an_unknown_ticket_number_is_a_404_body_on_stderr_in_the_cli(three: Path) -> None:
    code, out, err = cli(three, "close", "TICK-36")
    assert (code, out) == (1, "")
    assert json.loads(err)["error"]["code"] == "ticket_not_found"


def test_a_ticket_number_is_looked_up_by_the_primary_key_not_a_scan(three: Path) -> None:
    with Engine.open(three, clock=ManualClock(START)) as engine:
        statements: list[str] = []
        engine.db.conn.set_trace_callback(statements.append)
        engine.tickets.get("TICK-2")
        engine.db.conn.set_trace_callback(None)
        lookups = [s for s in statements if "FROM tickets t" in s]
        assert len(lookups) == 1, statements
        raw = sqlite3.connect(three)
        plan = " ".join(
            row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + lookups[0]).fetchall()
        )
        raw.close()
    assert "SEARCH t USING INTEGER PRIMARY KEY" in plan, plan
    assert "SCAN t" not in plan, plan


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_the_wire_keeps_the_remote_apis_ids_and_answers_404_for_tick_n(
    api: Api, method: str
) -> None:
    made = api.create()
    assert made["number"] == "TICK-1"
    body = {"priority": 1} if method == "PUT" else None
    for path in ("/v1/tickets/TICK-1", "/v1/tickets/TICK-1/events", "/v1/tickets/TICK%2D1"):
        if method == "PUT" and path.endswith("events"):
            continue
        answer = api(method, path, body)
        assert answer.status == 404, (path, answer.json)
        assert answer.json["error"]["code"] == "ticket_not_found"
    assert api("PUT", "/v1/tickets/TICK-1/close", None).status == 404
    assert api("GET", f"/v1/tickets/{made['id']}").json["data"]["priority"] == 3
