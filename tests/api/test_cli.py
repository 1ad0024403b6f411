"""The ``ayra-tickets`` command, driven through click's test runner.

Commands run on a SQLite file in ``tmp_path`` with the system clock, so assertions
here only compare times with each other, never with the wall clock's value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ayra_tickets import Engine, ManualClock, Status, cli, demo
from ayra_tickets.cli import SHORT_STATUS, main
from tests.conftest import START

DEMO_START = "2025-01-15T08:00:00Z"
DEMO_NOW = datetime(2025, 1, 16, 7, 0, tzinfo=UTC)
"""The real clock of the demo tests: the morning after the day from DEMO_START."""


class Cli:
    """Runs ``ayra-tickets --db <file> ...``."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(main, ["--db", str(self.db), *args])

    def json(self, *args: str) -> Any:
        """The command's JSON answer; the command must succeed."""
        result = self(*args)
        assert result.exit_code == 0, (result.output, result.exception)
        assert result.stderr == ""
        return json.loads(result.stdout)

    def error(self, *args: str) -> dict[str, Any]:
        """The error object of a command the API refuses: exit 1, JSON on stderr only."""
        result = self(*args)
        assert result.exit_code == 1, (result.output, result.exception)
        assert result.stdout == ""
        error: dict[str, Any] = json.loads(result.stderr)["error"]
        return error

    def create(self, *args: str) -> dict[str, Any]:
        created: dict[str, Any] = self.json(
            "create", "--subject", "Printer on fire", "--description", "Smoke from tray 2", *args
        )
        return created


@pytest.fixture
def run(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "tickets.db")


@pytest.fixture(autouse=True)
def real_clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The demo's real clock: its days end before this now (no test reads the wall's)."""
    clock = ManualClock(DEMO_NOW)
    monkeypatch.setattr(demo, "REAL_CLOCK", clock)
    return clock


@pytest.fixture
def stored(run: Cli) -> Iterator[Engine]:
    """The same file opened through the Python API, to check what the CLI wrote."""
    with Engine.open(run.db, clock=ManualClock(START)) as engine:
        yield engine


# -- output ---------------------------------------------------------------------------


def test_create_prints_the_ticket_as_one_line_of_json_in_a_pipe(run: Cli) -> None:
    result = run("create", "--subject", "Printer on fire", "--description", "Smoke")
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1
    ticket = json.loads(result.stdout)
    assert ticket["number"] == "TICK-1"
    assert ticket["subject"] == "Printer on fire"
    assert ticket["id"].startswith("ticket_")
    assert "data" not in ticket


def test_output_is_indented_on_a_terminal(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_is_terminal", lambda stream: True)
    result = run("create", "--subject", "Printer on fire", "--description", "Smoke")
    assert result.exit_code == 0
    assert '\n  "number": "TICK-1",\n' in result.stdout
    assert json.loads(result.stdout)["number"] == "TICK-1"


def test_errors_are_indented_on_a_terminal_too(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_is_terminal", lambda stream: True)
    result = run("get", "ticket_nope")
    assert result.exit_code == 1
    assert '\n  "error": {\n' in result.stderr


# -- create, get, update --------------------------------------------------------------


def test_create_passes_every_field_option_to_the_api(run: Cli) -> None:
    ticket = run.create(
        "--priority", "2",
        "--status", "open",
        "--category", "billing",
        "--contact-id", "contact_xyz789",
        "--conversation-id", "conv_abc123xyz789",
        "--assigned-to", "user_billing_specialist",
        "--due-date", "2025-01-16T17:00:00Z",
        "--tag", "refund",
        "--tag", "urgent",
        "--custom-field", "order_id=12345",
        "--custom-field", "plan=pro",
        "--custom-field", 'limits={"seats": 5}',
        "--custom-field", "vip=true",
        "--custom-field", "code=\"0042\"",
        "--metadata", "channel=email",
        "--metadata", "attempts=2",
    )  # fmt: skip
    assert ticket["priority"] == 2
    assert ticket["priority_label"] == "High"
    assert ticket["status"] == "open"
    assert ticket["category"] == "billing"
    assert ticket["contact_id"] == "contact_xyz789"
    assert ticket["conversation_id"] == "conv_abc123xyz789"
    assert ticket["assigned_to"] == "user_billing_specialist"
    assert ticket["due_date"] == "2025-01-16T17:00:00Z"
    assert ticket["tags"] == ["refund", "urgent"]
    assert ticket["custom_fields"] == {
        "order_id": 12345,
        "plan": "pro",
        "limits": {"seats": 5},
        "vip": True,
        "code": "0042",
    }
    assert ticket["metadata"] == {"channel": "email", "attempts": 2}


def test_a_value_that_only_python_reads_as_json_stays_text(run: Cli) -> None:
    ticket = run.create("--custom-field", "ratio=NaN", "--custom-field", "empty=")
    assert ticket["custom_fields"] == {"ratio": "NaN", "empty": ""}


def test_options_left_out_are_left_out_of_the_call(run: Cli) -> None:
    ticket = run.create()
    assert ticket["priority"] == 3
    assert ticket["status"] == "new"
    assert ticket["category"] is None
    assert ticket["assigned_to"] is None
    assert ticket["tags"] == []
    assert ticket["custom_fields"] == {}
    assert ticket["metadata"] == {}


def test_a_missing_description_is_the_apis_validation_error(run: Cli) -> None:
    error = run.error("create", "--subject", "Printer on fire")
    assert error["code"] == "parameter_missing"
    assert error["param"] == "description"


def test_a_malformed_key_value_pair_is_a_usage_error(run: Cli) -> None:
    result = run("create", "--subject", "S", "--description", "D", "--custom-field", "plan")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr


def test_get_prints_the_stored_ticket(run: Cli) -> None:
    created = run.create("--priority", "1")
    fetched = run.json("get", created["id"])
    assert fetched["id"] == created["id"]
    assert fetched["priority_label"] == "Critical"
    assert fetched["created_at"] == created["created_at"]


def test_update_changes_only_the_given_fields(run: Cli) -> None:
    created = run.create("--tag", "a", "--tag", "b", "--custom-field", "plan=pro")
    updated = run.json(
        "update", created["id"],
        "--priority", "1",
        "--status", "in_progress",
        "--assigned-to", "user_jane_smith",
        "--tag", "c",
        "--custom-field", "seats=10",
    )  # fmt: skip
    assert updated["priority"] == 1
    assert updated["status"] == "in_progress"
    assert updated["assigned_to"] == "user_jane_smith"
    assert updated["tags"] == ["c"]
    assert updated["custom_fields"] == {"plan": "pro", "seats": 10}
    assert updated["subject"] == created["subject"]
    assert updated["description"] == created["description"]
    assert updated["version"] == created["version"] + 1


def test_a_null_custom_field_value_removes_the_key(run: Cli) -> None:
    created = run.create("--custom-field", "plan=pro", "--custom-field", "seats=3")
    updated = run.json("update", created["id"], "--custom-field", "plan=null")
    assert updated["custom_fields"] == {"seats": 3}


def test_clear_empties_a_field(run: Cli) -> None:
    created = run.create(
        "--assigned-to", "user_jane_smith", "--category", "bug", "--tag", "x",
        "--due-date", "2030-01-01T00:00:00Z",
    )  # fmt: skip
    updated = run.json(
        "update", created["id"],
        "--clear", "assigned-to", "--clear", "category", "--clear", "tags", "--clear", "due-date",
    )  # fmt: skip
    assert updated["assigned_to"] is None
    assert updated["category"] is None
    assert updated["tags"] == []
    assert updated["due_date"] is None


def test_setting_and_clearing_the_same_field_is_a_usage_error(run: Cli) -> None:
    created = run.create()
    result = run("update", created["id"], "--assigned-to", "user_a", "--clear", "assigned-to")
    assert result.exit_code == 2
    assert "contradict" in result.stderr


def test_an_internal_note_goes_to_the_history_not_the_ticket(run: Cli) -> None:
    created = run.create()
    updated = run.json("update", created["id"], "--internal-note", "Called the customer.")
    assert "internal_note" not in updated
    history = run.json("events", created["id"])["data"]
    assert history[-1]["type"] == "note_added"
    assert history[-1]["data"] == {"note": "Called the customer."}


def test_an_invalid_move_is_the_apis_conflict(run: Cli) -> None:
    created = run.create()
    error = run.error("update", created["id"], "--status", "reopened")
    assert error["code"] == "invalid_status_transition"
    assert (error["from"], error["to"]) == ("new", "reopened")


def test_an_unknown_ticket_is_not_found(run: Cli) -> None:
    for command in (["get"], ["update", "--priority", "1"], ["close"], ["events"]):
        error = run.error(command[0], "ticket_doesnotexist00", *command[1:])
        assert error["type"] == "not_found"
        assert error["code"] == "ticket_not_found"


# -- errors leave no trace ------------------------------------------------------------


def test_a_subject_too_long_is_refused_and_nothing_is_stored(run: Cli, stored: Engine) -> None:
    error = run.error("create", "--subject", "x" * 201, "--description", "Smoke")
    assert error == {
        "type": "validation_error",
        "message": error["message"],
        "code": "parameter_too_long",
        "param": "subject",
    }
    assert stored.tickets.count() == 0


def test_closing_twice_prints_the_conflict_on_stderr_and_exits_1(run: Cli) -> None:
    created = run.create()
    closed = run.json("close", created["id"])
    error = run.error("close", created["id"])
    assert error["type"] == "conflict"
    assert error["code"] == "ticket_already_closed"
    assert error["closed_at"] == closed["closed_at"]


def test_a_closed_ticket_only_reopens(run: Cli) -> None:
    created = run.create()
    run.json("close", created["id"])
    assert run.error("update", created["id"], "--priority", "1")["code"] == "ticket_closed"
    reopened = run.json("update", created["id"], "--status", "reopened")
    assert reopened["status"] == "reopened"
    assert reopened["reopened_count"] == 1


# -- close and events -----------------------------------------------------------------


def test_close_records_the_resolution_details(run: Cli) -> None:
    created = run.create("--status", "in_progress")
    closed = run.json(
        "close", created["id"],
        "--resolution-note", "Refund processed.",
        "--customer-satisfaction", "9",
        "--resolution-time", "45",
        "--root-cause", "billing_error",
    )  # fmt: skip
    assert closed["status"] == "closed"
    assert closed["resolution_note"] == "Refund processed."
    assert closed["customer_satisfaction"] == 9
    assert closed["resolution_time"] == 45
    assert closed["root_cause"] == "billing_error"
    assert closed["resolved_at"] == closed["closed_at"]
    assert closed["sla"]["resolution_met"] is True


def test_a_satisfaction_out_of_range_is_the_apis_validation_error(run: Cli) -> None:
    created = run.create()
    error = run.error("close", created["id"], "--customer-satisfaction", "11")
    assert error["code"] == "parameter_invalid"
    assert error["param"] == "customer_satisfaction"
    assert run.json("get", created["id"])["status"] == "new"


def test_events_list_the_history_oldest_first(run: Cli) -> None:
    created = run.create()
    run.json("update", created["id"], "--status", "open", "--internal-note", "Triaged.")
    run.json("close", created["id"], "--root-cause", "user_error")
    answer = run.json("events", created["id"])
    assert list(answer) == ["data"]
    history = answer["data"]
    assert [(event["type"], event["version"]) for event in history] == [
        ("created", 1),
        ("sla_applied", 1),
        ("status_changed", 2),
        ("note_added", 2),
        ("sla_fulfilled", 2),
        ("closed", 3),
        ("sla_paused", 3),
        ("sla_fulfilled", 3),
    ]
    assert {event["ticket_id"] for event in history} == {created["id"]}
    stamps = [event["created_at"] for event in history]
    assert stamps == sorted(stamps)


# -- list -----------------------------------------------------------------------------


@pytest.fixture
def three(run: Cli) -> list[dict[str, Any]]:
    """Three tickets: critical billing, high bug, low product."""
    return [
        run.create("--priority", "1", "--category", "billing", "--tag", "refund",
                   "--tag", "urgent", "--contact-id", "contact_a",
                   "--due-date", "2030-01-03T00:00:00Z"),
        run.create("--priority", "2", "--category", "bug", "--tag", "urgent",
                   "--assigned-to", "user_jane_smith", "--due-date", "2030-01-01T00:00:00Z",
                   "--subject", "Search ignores accents"),
        run.create("--priority", "4", "--category", "product", "--status", "open"),
    ]  # fmt: skip


def _numbers(page: dict[str, Any]) -> list[str]:
    return [ticket["number"] for ticket in page["data"]]


def test_list_prints_data_and_meta(run: Cli, three: list[dict[str, Any]]) -> None:
    page = run.json("list")
    assert _numbers(page) == ["TICK-3", "TICK-2", "TICK-1"]
    assert page["meta"] == {
        "total": 3, "page": 1, "per_page": 25, "total_pages": 1, "next_cursor": None,
    }  # fmt: skip


def test_list_filters_by_every_kind_of_option(run: Cli, three: list[dict[str, Any]]) -> None:
    assert _numbers(run.json("list", "--priority", "1", "--priority", "2")) == ["TICK-2", "TICK-1"]
    assert _numbers(run.json("list", "--priority", "1,4")) == ["TICK-3", "TICK-1"]
    assert _numbers(run.json("list", "--status", "open")) == ["TICK-3"]
    assert _numbers(run.json("list", "--status", "new,open")) == ["TICK-3", "TICK-2", "TICK-1"]
    assert _numbers(run.json("list", "--category", "bug")) == ["TICK-2"]
    assert _numbers(run.json("list", "--assigned-to", "user_jane_smith")) == ["TICK-2"]
    assert _numbers(run.json("list", "--contact-id", "contact_a")) == ["TICK-1"]
    assert _numbers(run.json("list", "--tags", "urgent")) == ["TICK-2", "TICK-1"]
    assert _numbers(run.json("list", "--tags", "urgent,refund")) == ["TICK-1"]
    assert _numbers(run.json("list", "--tag", "urgent", "--tag", "refund")) == ["TICK-1"]
    assert _numbers(run.json("list", "--search", "accent")) == ["TICK-2"]
    assert _numbers(run.json("list", "--due-after", "2030-01-02T00:00:00Z")) == ["TICK-1"]
    assert _numbers(run.json("list", "--due-before", "2030-01-02T00:00:00Z")) == ["TICK-2"]
    assert _numbers(run.json("list", "--sla-breach")) == []


def test_no_sla_breach_lists_the_tickets_within_their_sla(
    run: Cli, three: list[dict[str, Any]]
) -> None:
    assert _numbers(run.json("list", "--no-sla-breach")) == ["TICK-3", "TICK-2", "TICK-1"]


def test_list_filters_by_creation_time(run: Cli, three: list[dict[str, Any]]) -> None:
    first = three[0]["created_at"]
    assert len(run.json("list", "--created-after", first)["data"]) == 3
    assert run.json("list", "--created-before", first)["data"] == []


def test_list_sorts_and_pages(run: Cli, three: list[dict[str, Any]]) -> None:
    by_priority = run.json("list", "--sort-by", "priority", "--sort-order", "asc")
    assert _numbers(by_priority) == ["TICK-1", "TICK-2", "TICK-3"]
    by_due = run.json("list", "--sort-by", "due_date", "--sort-order", "asc")
    assert _numbers(by_due) == ["TICK-2", "TICK-1", "TICK-3"]
    second = run.json("list", "--per-page", "2", "--page", "2")
    assert _numbers(second) == ["TICK-1"]
    assert second["meta"] == {
        "total": 3, "page": 2, "per_page": 2, "total_pages": 2, "next_cursor": None,
    }  # fmt: skip


def test_a_bad_list_option_is_the_apis_validation_error(run: Cli) -> None:
    assert run.error("list", "--sort-by", "subject")["param"] == "sort_by"
    assert run.error("list", "--per-page", "101")["param"] == "per_page"
    assert run.error("list", "--status", "bogus")["param"] == "status"


def test_list_table_shows_number_status_priority_assignee_sla_and_subject(
    run: Cli, three: list[dict[str, Any]]
) -> None:
    run.json("agents", "add", "user_jane_smith", "Jane Smith")
    long_subject = "A very long subject " * 5
    run.create("--subject", long_subject, "--assigned-to", "user_nobody_knows")
    wide = {"COLUMNS": "200"}  # room for the ids (tests/front_door: narrower terminals)
    result = run.runner.invoke(
        main, ["--db", str(run.db), "list", "--table", "--sort-order", "asc"], env=wide
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NUMBER", "ID", "STATUS", "PRIORITY", "ASSIGNEE", "SLA", "SUBJECT"]
    rows = dict(zip(["TICK-1", "TICK-2", "TICK-3", "TICK-4"], lines[1:5], strict=True))
    assert rows["TICK-1"].split()[:6] == ["TICK-1", three[0]["id"], "new", "Critical", "-", "ok"]
    assert "Jane Smith" in rows["TICK-2"]
    assert "Printer on fire" in rows["TICK-1"]
    assert "user_nobody_knows" in rows["TICK-4"]
    assert "…" in rows["TICK-4"]
    assert long_subject.strip() not in rows["TICK-4"]
    # Columns line up: every row starts its status where the header does.
    column = lines[0].index("STATUS")
    assert {row[column - 2 : column] for row in lines[1:5]} == {"  "}
    assert lines[-1] == "4 tickets, page 1 of 1"


def test_list_table_of_nothing_says_so(run: Cli) -> None:
    result = run("list", "--table")
    assert result.exit_code == 0
    assert result.stdout == "0 tickets, no pages\n"


def test_sla_states_read_as_ok_paused_met_and_breached() -> None:
    with Engine.open(":memory:", clock=(clock := ManualClock(START))) as engine:
        running = engine.tickets.create(subject="a", description="b", priority=1)
        waiting = engine.tickets.create(subject="a", description="b", status="open")
        engine.tickets.update(waiting.id, status="waiting_on_customer")
        closed = engine.tickets.create(subject="a", description="b", status="open")
        engine.tickets.close(closed.id)
        assert cli.sla_state(engine.tickets.get(running.id)) == "ok"
        assert cli.sla_state(engine.tickets.get(waiting.id)) == "paused"
        assert cli.sla_state(engine.tickets.get(closed.id)) == "met"
        clock.advance(hours=2)
        assert cli.sla_state(engine.tickets.get(running.id)) == "breached"


# -- agents and keys ------------------------------------------------------------------


def test_agents_add_gives_assigned_tickets_a_name(run: Cli) -> None:
    added = run.json("agents", "add", "user_jane_smith", "Jane Smith")
    assert {"id": "user_jane_smith", "name": "Jane Smith"}.items() <= added.items()
    ticket = run.create("--assigned-to", "user_jane_smith")
    assert ticket["assigned_name"] == "Jane Smith"
    run.json("agents", "add", "user_jane_smith", "Jane Doe")
    assert run.json("get", ticket["id"])["assigned_name"] == "Jane Doe"
    (listed,) = run.json("agents", "list")["data"]
    assert (listed["id"], listed["name"]) == ("user_jane_smith", "Jane Doe")


def test_an_agent_with_a_blank_name_is_refused(run: Cli) -> None:
    assert run.error("agents", "add", "user_x", " ")["param"] == "name"


def test_keys_create_defaults_to_both_scopes_and_the_key_works(run: Cli, stored: Engine) -> None:
    key = run.json("keys", "create")
    assert key["key"].startswith("sk_test_")
    assert key["key"].startswith(key["prefix"])
    assert key["scopes"] == ["tickets:read", "tickets:write"]
    assert key["name"] is None
    headers = {"Authorization": f"Bearer {key['key']}"}
    created = stored.request(
        "POST", "/v1/tickets", headers=headers, json={"subject": "a", "description": "b"}
    )
    assert created.status == 201


def test_keys_create_with_one_scope_and_a_name(run: Cli, stored: Engine) -> None:
    key = run.json("keys", "create", "--scope", "tickets:read", "--name", "dashboard")
    assert key["scopes"] == ["tickets:read"]
    assert key["name"] == "dashboard"
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert stored.request("GET", "/v1/tickets", headers=headers).status == 200
    refused = stored.request("POST", "/v1/tickets", headers=headers, json={})
    assert refused.status == 403


def test_an_unknown_scope_is_refused(run: Cli, stored: Engine) -> None:
    assert run.error("keys", "create", "--scope", "tickets:admin")["param"] == "scopes"
    assert stored.keys.list() == []


# -- where the database is ------------------------------------------------------------


def test_the_database_comes_from_the_environment_when_db_is_not_given(tmp_path: Path) -> None:
    path = tmp_path / "from-env.db"
    result = CliRunner().invoke(
        main, ["create", "--subject", "S", "--description", "D"],
        env={"AYRA_TICKETS_DB": str(path)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with Engine.open(path) as engine:
        assert engine.tickets.count() == 1


def test_db_wins_over_the_environment(tmp_path: Path) -> None:
    chosen, ignored = tmp_path / "chosen.db", tmp_path / "ignored.db"
    result = CliRunner().invoke(
        main, ["--db", str(chosen), "create", "--subject", "S", "--description", "D"],
        env={"AYRA_TICKETS_DB": str(ignored)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert chosen.exists()
    assert not ignored.exists()


def test_without_db_or_environment_the_file_is_tickets_db_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["create", "--subject", "S", "--description", "D"], env={"AYRA_TICKETS_DB": None}
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tickets.db").exists()


def test_a_file_that_is_not_a_database_is_a_plain_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database " * 100)
    result = CliRunner().invoke(main, ["--db", str(path), "list"])
    assert result.exit_code == 1
    assert "cannot use the database" in result.stderr


# -- demo -----------------------------------------------------------------------------

_HEADLINE = re.compile(r"(\d+) tickets \(TICK-(\d+) to TICK-(\d+)\)")


def _demo(run: Cli, *args: str) -> str:
    result = run("demo", *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def _headline(output: str) -> tuple[int, int, int]:
    """How many tickets the run made, and its first and last number."""
    found = _HEADLINE.search(output)
    assert found is not None, output
    count, low, high = map(int, found.groups())
    return count, low, high


def _summary(output: str) -> dict[str, str]:
    """The ``Label:  value`` lines after the table, a value wrapped over several lines
    read whole."""
    unwrapped = re.sub(r"\n {4,}", " ", output)
    found = re.findall(r"^([A-Z][A-Za-z ]+):\s+(.+)$", unwrapped, flags=re.MULTILINE)
    return dict(found)


def _counts(line: str) -> dict[str, int]:
    return {name: int(n) for name, n in re.findall(r"(\w+) (\d+)", line)}


def test_the_demo_runs_twice_and_numbers_continue_without_gaps(
    run: Cli, stored: Engine, real_clock: ManualClock
) -> None:
    first = _demo(run)
    real_clock.advance(timedelta(days=1))
    second = _demo(run)
    count_1, low_1, high_1 = _headline(first)
    count_2, low_2, high_2 = _headline(second)
    assert (low_1, high_1) == (1, count_1)
    assert (low_2, high_2) == (count_1 + 1, count_1 + count_2)
    tickets = stored.tickets.list(per_page=100, sort_by="created_at", sort_order="asc").data
    assert [t.number for t in tickets] == list(range(1, count_1 + count_2 + 1))
    # The second day starts after everything the first one did.
    last_of_first = max(t.updated_at for t in tickets[:count_1])
    assert min(t.created_at for t in tickets[count_1:]) > last_of_first
    assert f"({count_1 + count_2} tickets in all)" in second


def test_the_demo_table_lists_every_ticket_of_the_run(run: Cli) -> None:
    output = _demo(run, "--start", DEMO_START)
    count, low, high = _headline(output)
    rows = [line for line in output.splitlines() if line.startswith("TICK-")]
    assert [row.split()[0] for row in rows] == [f"TICK-{n}" for n in range(low, high + 1)]
    assert len(rows) == count
    shown = {status.value for status in Status} | set(SHORT_STATUS.values())
    assert {row.split()[1] for row in rows} <= shown
    assert {"breached", "met", "ok", "paused"} <= {word for row in rows for word in row.split()[3:]}


def test_the_demo_summary_counts_add_up(run: Cli) -> None:
    output = _demo(run, "--start", DEMO_START)
    count, _, _ = _headline(output)
    summary = _summary(output)
    statuses = _counts(summary["Status"])
    priorities = _counts(summary["Priority"])
    assert sum(statuses.values()) == count
    assert sum(priorities.values()) == count
    assert set(priorities) == {"Critical", "High", "Normal", "Low"}
    assert {"new", "closed", "resolved"} <= set(statuses)
    assert int(summary["SLA breached"]) >= 2
    assert int(summary["Reopened"]) >= 1
    assert re.fullmatch(r"\d+/\d+ \(\d+%\)", summary["SLA response met"])
    assert re.fullmatch(r"\d+/\d+ \(\d+%\)", summary["SLA resolution met"])
    mean = float(summary["Mean CSAT"].split(" / ")[0])
    assert 1 <= mean <= 10
    assert len(_counts(summary["Top root causes"])) == 3
    assert summary["Database"] == f"{run.db} ({count} tickets in all)"


def test_the_demo_plays_the_whole_lifecycle(run: Cli, stored: Engine) -> None:
    _demo(run, "--start", DEMO_START)
    tickets = stored.tickets.list(per_page=100).data
    assert {t.category for t in tickets} >= {
        "technical",
        "billing",
        "account",
        "product",
        "bug",
        "feature_request",
    }
    assert len({t.contact_id for t in tickets}) >= 5
    statuses = {str(t.status) for t in tickets}
    assert {"waiting_on_customer", "waiting_on_third_party"} & statuses
    closed = [t for t in tickets if t.status == "closed"]
    assert closed
    assert all(t.root_cause for t in closed)
    assert any(t.customer_satisfaction for t in closed)
    assert {t.root_cause for t in closed} >= {"system_error"}
    assert len(stored.agents.list()) >= 4
    assert all(t.assigned_name for t in tickets if t.assigned_to)
    kinds = {e.type for t in tickets for e in stored.tickets.events(t.id)}
    assert {"created", "status_changed", "note_added", "closed", "reopened"} <= kinds


def test_the_demo_is_deterministic_given_its_start(tmp_path: Path) -> None:
    one, two = Cli(tmp_path / "one.db"), Cli(tmp_path / "two.db")
    first = _demo(one, "--start", DEMO_START).replace(str(one.db), "DB")
    again = _demo(two, "--start", DEMO_START).replace(str(two.db), "DB")
    assert first == again
    assert _demo(Cli(tmp_path / "three.db"), "--start", DEMO_START, "--seed", "7") != first


def test_a_demo_start_before_the_latest_activity_moves_after_it(run: Cli, stored: Engine) -> None:
    _demo(run, "--start", DEMO_START)
    _demo(run, "--start", DEMO_START)
    tickets = stored.tickets.list(per_page=100, sort_by="created_at", sort_order="asc").data
    half = len(tickets) // 2
    assert min(t.created_at for t in tickets[half:]) > max(t.updated_at for t in tickets[:half])


def test_a_malformed_demo_start_is_a_usage_error(run: Cli) -> None:
    result = run("demo", "--start", "tomorrow")
    assert result.exit_code == 2
    assert "ISO 8601" in result.stderr
