"""Issue 14, point 10: ``list --table`` (and the demo's table) fit the terminal.

The width is the terminal's (``COLUMNS``, 80 in a pipe). Short of room the table drops
the ids (the number is an id too), then shortens the two waiting statuses and cuts
names; the subject takes what is left. Every line fits, on every page of every status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ayra_tickets import Engine, ManualClock
from ayra_tickets.cli import SHORT_STATUS, format_table, main
from ayra_tickets.domain.lifecycle import Status, path_from_new

T0 = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
LONG_NAME = "Maximiliana Featherstonehaugh-Cholmondeley"
LONG_SUBJECT = "Invoices for the third quarter show every line twice after the migration"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A ticket in each of the eight statuses, with a long subject and a long name."""
    path = tmp_path / "t.db"
    with Engine.open(str(path), clock=ManualClock(T0)) as engine:
        engine.agents.add("user_max", LONG_NAME)
        for status in Status:
            ticket = engine.tickets.create(
                subject=f"{status}: {LONG_SUBJECT}",
                description="As reported",
                assigned_to="user_max",
                priority=1,
            )
            for step in path_from_new(status):
                if step is Status.CLOSED:
                    engine.tickets.close(ticket.id)
                else:
                    engine.tickets.update(ticket.id, status=str(step))
    return path


def table(db: Path, columns: int) -> list[str]:
    result = CliRunner().invoke(
        main, ["--db", str(db), "list", "--table"], env={"COLUMNS": str(columns)}
    )
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


@pytest.mark.parametrize("columns", [80, 100])
def test_every_line_of_list_table_fits_the_terminal(db: Path, columns: int) -> None:
    lines = table(db, columns)
    assert max(len(line) for line in lines) <= columns
    rows = [line for line in lines if line.startswith("TICK-")]
    assert sorted(row.split()[0] for row in rows) == [f"TICK-{n}" for n in range(1, 9)]
    shown = {row.split()[1] for row in rows}
    for status in Status:  # each status is there, whole or in its short form
        assert str(status) in shown or SHORT_STATUS.get(status) in shown
    # The subject is cut, not dropped, and the name too, with an ellipsis.
    assert all("…" in row for row in rows)
    assert all(row.split()[2] in ("Critical",) for row in rows)
    assert lines[-1] == "8 tickets, page 1 of 1"


def test_a_wide_terminal_shows_the_ids_and_whole_statuses(db: Path) -> None:
    lines = table(db, 200)
    assert lines[0].split()[:3] == ["NUMBER", "ID", "STATUS"]
    assert "waiting_on_third_party" in "\n".join(lines)
    assert sum(" ticket_" in line for line in lines) == 8
    assert max(len(line) for line in lines) <= 200


def test_columns_stay_aligned_when_cut(db: Path) -> None:
    header, *rows = [line for line in table(db, 80) if line.startswith(("NUMBER", "TICK-"))]
    at = header.index("SUBJECT")
    assert all(row[at - 2 : at] == "  " and row[at] != " " for row in rows)


def test_the_demo_table_fits_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ayra_tickets import demo

    monkeypatch.setattr(demo, "REAL_CLOCK", ManualClock(datetime(2025, 3, 5, 12, tzinfo=UTC)))
    result = CliRunner().invoke(
        main, ["--db", str(tmp_path / "d.db"), "demo"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith(("NUMBER", "TICK-"))]
    assert len(rows) > 30

    # The whole page fits, the summary wrapped, but for what is never cut: the command to
    # copy (one line) and the file's path (one word).
    def too_wide(output: str) -> list[str]:
        return [
            line
            for line in output.splitlines()
            if len(line) > 80 and not line.startswith("Next: ") and str(tmp_path) not in line
        ]

    assert too_wide(result.stdout) == []
    again = CliRunner().invoke(  # the same day again: the note is wrapped too
        main, ["--db", str(tmp_path / "d.db"), "demo"], env={"COLUMNS": "80"}
    )
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("Nothing played:")
    assert too_wide(again.stdout) == []


def test_format_table_never_exceeds_the_width_given(db: Path) -> None:
    with Engine.open(str(db), clock=ManualClock(T0)) as engine:
        tickets = engine.tickets.list(per_page=100).data
    for width in range(80, 161, 7):
        text = format_table(tickets, ids=True, width=width)
        assert max(len(line) for line in text.splitlines()) <= width, width
