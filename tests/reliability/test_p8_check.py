"""Issue 13, point 8: ``ayra-tickets check`` finds what is wrong with a file, and
changes nothing in it.

A clean file, made by a realistic history (the demo's day, then tag, subject and
priority changes and a reopen), checks clean. Then each check gets a copy corrupted
with plain SQL the way that check alone can see (a subject changed without an event, a
tag row removed, a search entry altered, a state's end moved, a ticket gone from the
middle, an event deleted), and bits flipped in the bytes of a b-tree page; each is
found, naming the ticket and the check, with exit status 1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from ayra_tickets import Engine, ManualClock, TicketError
from ayra_tickets.cli import main
from ayra_tickets.demo import run as run_demo
from tests import strategies as s

START = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def clean_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's day of support, then a second day of tag, subject, priority and
    status changes (reopening the closed ones) and notes on its tickets."""
    path = tmp_path_factory.mktemp("check") / "tickets.db"
    run_demo(str(path), start=START)
    clock = ManualClock(START + timedelta(days=1))
    with Engine.open(path, clock=clock) as engine:
        tickets = engine.tickets.list(per_page=100, sort_order="asc").data
        for index, ticket in enumerate(tickets[:12]):
            clock.advance(timedelta(minutes=7))
            if ticket.status.value == "closed":
                engine.tickets.update(ticket.id, status="reopened", tags=["recurred"])
                continue
            engine.tickets.update(
                ticket.id,
                tags=[*ticket.tags[:1], f"wave{index % 3}"],
                priority=1 + index % 4,
                subject=f"{ticket.subject} (follow-up)",
                internal_note="Checked again the next morning.",
            )
        for ticket in tickets[12:]:
            if ticket.status.value != "closed":
                clock.advance(timedelta(minutes=3))
                engine.tickets.update(ticket.id, internal_note="The customer called back.")
    return path


@pytest.fixture
def copy(clean_file: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copyfile(clean_file, target)
    return target


def check(path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", str(path), "check", *args])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sql(copy: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to the copy, for corrupting it; committed at the end."""
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    yield conn
    conn.close()


def findings(result: Result, check_name: str) -> list[str]:
    """The printed problem lines of one check."""
    return [
        line for line in result.output.splitlines() if line.split()[:2] == ["problem", check_name]
    ]


def assert_found(result: Result, check_name: str, number: int) -> None:
    assert result.exit_code == 1, result.output
    lines = findings(result, check_name)
    assert any(f" TICK-{number}: " in f" {line.split(maxsplit=2)[2]}" for line in lines), (
        result.output
    )


def one(conn: sqlite3.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0] if len(row) == 1 else row


# -- clean ---------------------------------------------------------------------------


def test_p8_a_file_made_by_a_realistic_history_checks_clean_and_is_left_byte_for_byte(
    clean_file: Path,
) -> None:
    before = digest(clean_file)
    result = check(clean_file)
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output.splitlines()[-1]
    for name in ("integrity", "numbers", "replay", "tags", "states", "search"):
        assert any(line.split()[:2] == [name, "ok"] for line in result.output.splitlines())
    assert digest(clean_file) == before


def test_p8_an_open_engine_checks_its_own_database_clean(clean_file: Path) -> None:
    with Engine.open(clean_file) as engine:
        report = engine.check()
        count = engine.tickets.count()
    assert report.clean, report.findings
    assert report.tickets == count > 30
    assert report.events > report.tickets


def test_p8_a_file_checked_while_an_engine_writes_to_it_is_read_with_its_latest_commits(
    copy: Path,
) -> None:
    with Engine.open(copy, clock=ManualClock(START + timedelta(days=3))) as engine:
        engine.tickets.create(subject="Written after the copy", description="Still in the WAL")
        report = Engine.check_file(copy)
        count = engine.tickets.count()
    assert report.clean, report.findings
    assert report.tickets == count


def test_p8_the_report_names_each_finding_s_check_and_ticket_as_values(
    copy: Path, sql: sqlite3.Connection
) -> None:
    sql.execute("UPDATE tickets SET priority = 5 - priority WHERE number = 3")
    report = Engine.check_file(copy)
    assert not report.clean
    assert {(f.check, f.ticket, f.problem) for f in report.findings} >= {("replay", 3, True)}
    assert report.to_dict()["findings"][0]["ticket"] == "TICK-3"


@settings(max_examples=40, deadline=None)
@given(
    bodies=st.lists(s.create_bodies(), min_size=1, max_size=4),
    steps=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.one_of(
                s.update_bodies.map(lambda body: ("update", body)),
                s.close_bodies.map(lambda body: ("close", body)),
                st.just(("update", {"status": "reopened", "tags": ["again"]})),
            ),
            s.time_steps(),
        ),
        max_size=25,
    ),
)
def test_p8_any_history_of_the_api_checks_clean(
    bodies: list[dict[str, Any]], steps: list[tuple[int, tuple[str, dict[str, Any]], timedelta]]
) -> None:
    clock = ManualClock(START)
    with Engine.open(":memory:", clock=clock) as engine:
        ids = [engine.tickets.create(**body).id for body in bodies]
        for index, (verb, body), step in steps:
            clock.advance(step)
            ticket_id = ids[index % len(ids)]
            with contextlib.suppress(TicketError):  # a forbidden move changes nothing
                if verb == "close":
                    engine.tickets.close(ticket_id, **body)
                else:
                    engine.tickets.update(ticket_id, **body)
        report = engine.check()
    assert report.clean, report.findings
    assert report.tickets == len(bodies)


# -- one corruption a check ----------------------------------------------------------


def test_p8_a_subject_changed_without_an_event_is_found_by_the_replay(
    copy: Path, sql: sqlite3.Connection
) -> None:
    sql.execute("UPDATE tickets SET subject = 'Changed behind the log' WHERE number = 7")
    result = check(copy)
    assert_found(result, "replay", 7)
    assert "subject" in " ".join(findings(result, "replay"))
    as_json = check(copy, "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["clean"] is False
    assert {"check": "replay", "ticket": "TICK-7"}.items() <= report["findings"][0].items()


def test_p8_a_removed_tag_row_is_found_by_the_tags_check(
    copy: Path, sql: sqlite3.Connection
) -> None:
    number, tag = one(sql, "SELECT ticket_number, tag FROM ticket_tags ORDER BY 1 DESC LIMIT 1")
    sql.execute("DELETE FROM ticket_tags WHERE ticket_number = ? AND tag = ?", (number, tag))
    result = check(copy)
    assert_found(result, "tags", number)
    assert tag in " ".join(findings(result, "tags"))


def test_p8_a_tag_row_left_with_an_old_status_is_found_by_the_tags_check(
    copy: Path, sql: sqlite3.Connection
) -> None:
    number = one(sql, "SELECT ticket_number FROM ticket_tags ORDER BY 1 LIMIT 1")
    sql.execute(
        "UPDATE ticket_tags SET status = CASE status WHEN 'new' THEN 'open' ELSE 'new' END"
        " WHERE ticket_number = ?",
        (number,),
    )
    assert_found(check(copy), "tags", number)


def test_p8_an_altered_search_entry_is_found_by_the_search_check(
    copy: Path, sql: sqlite3.Connection
) -> None:
    number, subject, description, status = one(
        sql, "SELECT number, subject, description, status FROM tickets WHERE number = 11"
    )
    facets = "s" + status.replace("_", "")
    sql.execute(
        "INSERT INTO tickets_fts (tickets_fts, rowid, subject, description, facets)"
        " VALUES ('delete', ?, ?, ?, ?)",
        (number, subject, description, facets),
    )
    sql.execute(
        "INSERT INTO tickets_fts (rowid, subject, description, facets) VALUES (?, ?, ?, ?)",
        (number, subject.replace(subject.split()[0], "Unrelated"), description, facets),
    )
    result = check(copy)
    assert_found(result, "search", number)
    assert findings(result, "replay") == []  # the row and its log still agree


def test_p8_a_state_whose_end_moved_is_found_by_the_states_check(
    copy: Path, sql: sqlite3.Connection
) -> None:
    number, version = one(
        sql,
        "SELECT ticket_number, version FROM ticket_states WHERE ended IS NOT NULL"
        " ORDER BY ticket_number LIMIT 1",
    )
    sql.execute(
        "UPDATE ticket_states SET ended = ended + 600 WHERE ticket_number = ? AND version = ?",
        (number, version),
    )
    result = check(copy)
    assert_found(result, "states", number)
    assert "ended" in " ".join(findings(result, "states"))


def test_p8_a_ticket_gone_from_the_middle_is_a_gap_in_the_numbers(
    copy: Path, sql: sqlite3.Connection
) -> None:
    number, subject, description, status = one(
        sql, "SELECT number, subject, description, status FROM tickets WHERE number = 20"
    )
    for table in ("ticket_states", "ticket_events", "ticket_tags"):
        sql.execute(f"DELETE FROM {table} WHERE ticket_number = 20")
    sql.execute(
        "INSERT INTO tickets_fts (tickets_fts, rowid, subject, description, facets)"
        " VALUES ('delete', ?, ?, ?, ?)",
        (number, subject, description, "s" + status.replace("_", "")),
    )
    sql.execute("DELETE FROM tickets WHERE number = 20")
    result = check(copy)
    assert_found(result, "numbers", 20)
    assert "jump to TICK-21" in " ".join(findings(result, "numbers"))
    assert [line for line in result.output.splitlines() if line.startswith("problem")] == (
        findings(result, "numbers")
    )


def test_p8_a_deleted_event_is_found_by_the_replay(copy: Path, sql: sqlite3.Connection) -> None:
    number, event_id = one(
        sql,
        "SELECT ticket_number, MAX(id) FROM ticket_events WHERE type = 'status_changed'"
        " GROUP BY ticket_number ORDER BY ticket_number LIMIT 1",
    )
    sql.execute("DELETE FROM ticket_events WHERE id = ?", (event_id,))
    result = check(copy)
    assert_found(result, "replay", number)
    assert "a change between them is missing" in " ".join(findings(result, "replay"))


def test_p8_a_deleted_note_leaves_its_version_without_an_event(
    copy: Path, sql: sqlite3.Connection
) -> None:
    number, version = one(
        sql,
        "SELECT ticket_number, version FROM ticket_events GROUP BY ticket_number, version"
        " HAVING COUNT(*) = 1 AND MIN(type) = 'note_added' ORDER BY 1 LIMIT 1",
    )
    sql.execute(
        "DELETE FROM ticket_events WHERE ticket_number = ? AND version = ?", (number, version)
    )
    result = check(copy)
    assert_found(result, "replay", number)
    assert f"no event of version {version}" in " ".join(findings(result, "replay"))


def test_p8_a_stored_breach_time_that_is_not_the_sla_clock_s_is_found_by_the_sla_check(
    copy: Path, sql: sqlite3.Connection
) -> None:
    sql.execute("UPDATE tickets SET sla_breach_at = '2000-01-01T00:00:00Z' WHERE number = 5")
    result = check(copy)
    assert_found(result, "sla", 5)
    assert [
        line.split()[1] for line in result.output.splitlines() if line.startswith("problem")
    ] == ["sla"]


def test_p8_a_row_that_does_not_read_as_a_ticket_is_a_finding_not_a_traceback(
    copy: Path, sql: sqlite3.Connection
) -> None:
    sql.execute("UPDATE tickets SET status = 'limbo' WHERE number = 4")
    sql.execute("UPDATE tickets SET custom_fields = '{not json' WHERE number = 9")
    result = check(copy)
    assert_found(result, "rows", 4)
    assert_found(result, "rows", 9)
    assert isinstance(result.exception, SystemExit)


def test_p8_many_findings_are_capped_with_a_count_and_all_prints_them(
    copy: Path, sql: sqlite3.Connection
) -> None:
    tagged = one(sql, "SELECT COUNT(DISTINCT ticket_number) FROM ticket_tags")
    tickets = one(sql, "SELECT COUNT(*) FROM tickets")
    sql.execute("DELETE FROM ticket_tags")
    sql.execute("DELETE FROM ticket_states")
    total = tagged + tickets
    assert total > 50
    capped = check(copy)
    assert capped.exit_code == 1
    shown = [line for line in capped.output.splitlines() if line.startswith("problem")]
    assert len(shown) == 50
    assert f"... and {total - 50} more (--all prints every one)" in capped.output
    assert f"{total} problems in {tickets} tickets" in capped.output.splitlines()[-1]
    every = check(copy, "--all")
    assert len(findings(every, "tags")) == tagged
    assert len(findings(every, "states")) == tickets


def test_p8_an_import_that_left_its_indexes_to_rebuild_is_a_note_not_a_problem(
    copy: Path, sql: sqlite3.Connection
) -> None:
    sql.execute(
        "INSERT INTO settings (key, value) VALUES ('deferred_indexes', ?)",
        ('[["tickets_by_due_order", "CREATE INDEX tickets_by_due_order ON tickets (due_date)"]]',),
    )
    result = check(copy)
    assert result.exit_code == 0, result.output
    assert any(line.startswith("note     imports") for line in result.output.splitlines())


# -- damaged bytes ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough tickets for the tickets table to span many pages, checkpointed into the
    file (no WAL left beside it)."""
    path = tmp_path_factory.mktemp("flip") / "big.db"
    rows = [
        {"subject": f"Printer {n} jams", "description": "Tray 2 " * 20, "tags": ["hw"]}
        for n in range(3_000)
    ]
    with Engine.open(path, clock=ManualClock(START)) as engine:
        engine.tickets.import_many(rows)
    assert not Path(f"{path}-wal").exists()
    return path


def test_p8_bits_flipped_in_a_page_of_the_tickets_table_are_caught(
    big_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "flipped.db"
    shutil.copyfile(big_file, target)
    with sqlite3.connect(target) as conn:
        page_size = one(conn, "PRAGMA page_size")
        leaves = [
            page
            for (page,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'tickets' AND pagetype = 'leaf'"
                " ORDER BY pageno"
            )
        ]
    conn.close()
    assert len(leaves) > 100
    page = leaves[len(leaves) // 2]  # a leaf in the middle of the file
    data = bytearray(target.read_bytes())
    start = (page - 1) * page_size
    content = int.from_bytes(data[start + 5 : start + 7], "big")  # the first cell
    for offset in range(start + content, start + content + 8):
        data[offset] ^= 0b1010_0101
    target.write_bytes(bytes(data))
    result = check(target)
    assert result.exit_code == 1, result.output
    assert findings(result, "integrity") or findings(result, "replay"), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_p8_bits_flipped_in_a_page_of_an_index_are_caught(big_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "flipped.db"
    shutil.copyfile(big_file, target)
    with sqlite3.connect(target) as conn:
        page_size = one(conn, "PRAGMA page_size")
        page = one(
            conn,
            "SELECT pageno FROM dbstat WHERE name = 'tickets_by_status'"
            " AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 3",
        )
    conn.close()
    data = bytearray(target.read_bytes())
    start = (page - 1) * page_size
    content = int.from_bytes(data[start + 5 : start + 7], "big")
    for offset in range(start + content, start + content + 8):
        data[offset] ^= 0xFF
    target.write_bytes(bytes(data))
    result = check(target)
    assert result.exit_code == 1, result.output
    assert findings(result, "integrity"), result.output


# -- what cannot be checked -------------------------------------------------------------


def test_p8_a_file_that_is_not_a_database_is_refused_clearly_and_left_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = digest(path)
    result = check(path)
    assert result.exit_code == 2
    assert "not a SQLite database" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_p8_a_missing_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    result = check(path)
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert not path.exists()


def test_p8_a_file_of_an_older_schema_says_so_and_is_not_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURES / "schema-05.db", path)
    before = digest(path)
    result = check(path)
    assert result.exit_code == 1, result.output
    assert "older release" in " ".join(findings(result, "schema"))
    assert any(line.split()[:2] == ["replay", "skipped"] for line in result.output.splitlines())
    assert digest(path) == before
