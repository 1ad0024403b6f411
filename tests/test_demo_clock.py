"""Issue 14, point 5: the demo never writes the future.

It plays the last working day that has ended by the real clock, on any run count, and
never leaves a timestamp after the real clock's now; its summary and its "Next:" hint
agree (same instant), and the hint runs as printed. The real clock is a
:class:`ManualClock` put in ``ayra_tickets.demo.REAL_CLOCK``: nothing here reads the wall
clock's value.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ayra_tickets import Engine, ManualClock, demo
from ayra_tickets.cli import main

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
"""A Wednesday noon: the last working day that has ended is Tuesday 4 March."""

STAMPS = (
    "SELECT created_at FROM tickets UNION ALL SELECT updated_at FROM tickets"
    " UNION ALL SELECT first_response_at FROM tickets UNION ALL SELECT resolved_at FROM tickets"
    " UNION ALL SELECT closed_at FROM tickets UNION ALL SELECT sla_paused_since FROM tickets"
    " UNION ALL SELECT created_at FROM ticket_events"
)
"""Every instant the file says something happened at (deadlines are not stamps)."""


@pytest.fixture
def real_clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    clock = ManualClock(NOW)
    monkeypatch.setattr(demo, "REAL_CLOCK", clock, raising=False)
    return clock


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own, as a new user's checkout."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def play(db: Path | str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", str(db), "demo", *args])


def latest_stamp(db: Path) -> datetime:
    conn = sqlite3.connect(db)
    try:
        values = [row[0] for row in conn.execute(STAMPS) if row[0] is not None]
        states = conn.execute("SELECT MAX(began), MAX(ended) FROM ticket_states").fetchone()
    finally:
        conn.close()
    instants = [datetime.fromisoformat(value.replace("Z", "+00:00")) for value in values]
    instants += [datetime.fromtimestamp(n, UTC) for n in states if n is not None]
    return max(instants)


def held(db: Path) -> list[str]:
    """What the file holds, as SQL, but SQLite's planner statistics (which closing an
    engine may refresh after a read: ``PRAGMA optimize``)."""
    conn = sqlite3.connect(db)
    try:
        return [line for line in conn.iterdump() if "sqlite_stat" not in line]
    finally:
        conn.close()


def headline_day(output: str) -> str:
    found = re.search(r"A day of support: (\w{3} \d\d \w{3} \d{4}, \d\d:\d\d) to", output)
    assert found is not None, output
    return found.group(1)


def test_no_run_of_the_demo_leaves_a_timestamp_after_the_real_clock(
    tmp_path: Path, real_clock: ManualClock
) -> None:
    db = tmp_path / "tickets.db"
    played = set()
    for run in range(10):  # every 7 hours: some runs find no new day that has ended
        result = play(db)
        assert result.exit_code == 0, (result.output, result.exception)  # any run count
        played.add(headline_day(result.stdout))
        assert latest_stamp(db) <= real_clock.now(), f"run {run + 1}"
        real_clock.advance(hours=7)
    assert len(played) >= 3
    # The next ticket created for real is stamped now, not after the demo's last stamp.
    with Engine.open(db, clock=real_clock) as engine:
        made = engine.tickets.create(subject="A real one", description="After the demo")
    assert made.created_at == real_clock.now()


def test_the_first_run_plays_yesterday_before_six_pm_and_today_after(
    tmp_path: Path,
) -> None:
    before = demo.run(str(tmp_path / "a.db"), now=datetime(2025, 3, 5, 17, 59, 59, tzinfo=UTC))
    after = demo.run(str(tmp_path / "b.db"), now=datetime(2025, 3, 5, 18, 0, tzinfo=UTC))
    assert (before.start, before.end) == (
        datetime(2025, 3, 4, 8, tzinfo=UTC),
        datetime(2025, 3, 4, 18, tzinfo=UTC),
    )
    assert (after.start, after.end) == (
        datetime(2025, 3, 5, 8, tzinfo=UTC),
        datetime(2025, 3, 5, 18, tzinfo=UTC),
    )
    assert before.as_of == datetime(2025, 3, 5, 17, 59, 59, tzinfo=UTC)


def test_a_second_run_the_same_day_writes_nothing_and_shows_that_day_again(
    tmp_path: Path, real_clock: ManualClock
) -> None:
    db = tmp_path / "tickets.db"
    first = play(db)
    assert first.exit_code == 0, first.output
    assert headline_day(first.stdout) == "Tue 04 Mar 2025, 08:00"
    before = held(db)
    real_clock.advance(hours=5)  # 17:00: Wednesday has not ended yet
    for _ in range(3):  # any run count
        again = play(db)
        assert again.exit_code == 0, again.output
        message = " ".join(again.stdout.split())
        assert message.startswith("Nothing played: ")
        assert "already holds" in message
        assert "The next day can be played from Wed 05 Mar 2025, 18:00 UTC" in message
        assert "--db" in message
        assert headline_day(again.stdout) == "Tue 04 Mar 2025, 08:00"
        # The same tickets, their SLA states read as of this run's now.
        numbers = [row.split()[0] for row in list_rows(again.stdout)]
        assert numbers == [row.split()[0] for row in list_rows(first.stdout)]
        assert "As of: 2025-03-05T17:00:00Z" in message
        assert "--as-of 2025-03-05T17:00:00Z" in message
        assert "Traceback" not in again.output
        assert held(db) == before


def test_a_file_whose_later_activity_is_not_a_demo_day_is_refused(
    tmp_path: Path, real_clock: ManualClock
) -> None:
    db = tmp_path / "tickets.db"
    with Engine.open(str(db), clock=real_clock) as engine:  # today, by hand
        engine.tickets.create(subject="A real one", description="Made this morning")
    before = held(db)
    refused = play(db)
    assert refused.exit_code == 1
    assert "already holds activity up to" in " ".join(refused.stderr.split())
    assert held(db) == before


def test_the_next_run_after_the_day_ends_plays_it_and_numbers_go_on(
    tmp_path: Path, real_clock: ManualClock
) -> None:
    db = tmp_path / "tickets.db"
    first = play(db)
    real_clock.set(datetime(2025, 3, 5, 18, 30, tzinfo=UTC))
    second = play(db)
    real_clock.set(datetime(2025, 3, 10, 9, 0, tzinfo=UTC))  # days later: the last day
    third = play(db)
    assert [r.exit_code for r in (first, second, third)] == [0, 0, 0]
    assert [headline_day(r.stdout) for r in (first, second, third)] == [
        "Tue 04 Mar 2025, 08:00",
        "Wed 05 Mar 2025, 08:00",
        "Sun 09 Mar 2025, 08:00",
    ]
    assert "(TICK-37 to TICK-72)" in second.stdout
    assert "(TICK-73 to TICK-108)" in third.stdout
    assert latest_stamp(db) <= real_clock.now()


@pytest.mark.parametrize(
    ("start", "sentence"),
    [
        ("2025-03-05T09:00:00Z", "after the real clock's now"),  # today, not over
        ("2025-03-06T08:00:00Z", "after the real clock's now"),  # tomorrow
    ],
)
def test_a_start_whose_day_has_not_ended_is_refused_and_writes_nothing(
    tmp_path: Path, real_clock: ManualClock, start: str, sentence: str
) -> None:
    db = tmp_path / "tickets.db"
    result = play(db, "--start", start)
    assert result.exit_code == 1
    assert sentence in " ".join(result.stderr.split())
    with Engine.open(db, clock=real_clock) as engine:
        assert engine.tickets.count() == 0


def test_a_start_moved_after_the_files_activity_into_the_future_is_refused(
    tmp_path: Path, real_clock: ManualClock
) -> None:
    db = tmp_path / "tickets.db"
    assert play(db, "--start", "2025-03-04T20:00:00Z").exit_code == 0  # ends 06:00 today
    before = db.read_bytes()
    again = play(db, "--start", "2025-03-04T20:00:00Z")
    assert again.exit_code == 1
    assert "moved after the file's latest activity" in " ".join(again.stderr.split())
    assert db.read_bytes() == before


# -- the summary and the hint ---------------------------------------------------------


def hint_of(output: str) -> list[str]:
    (line,) = [line for line in output.splitlines() if line.startswith("Next: ")]
    return shlex.split(line.removeprefix("Next: "))


def sla_column(table: str) -> dict[str, str]:
    """Ticket number -> SLA state, from a table with or without the id column."""
    header, *rows = [line for line in table.splitlines() if line.startswith(("NUMBER", "TICK-"))]
    at = header.index(" SLA ") + 1  # the columns are aligned; names hold spaces
    return {row.split()[0]: row[at:].split()[0] for row in rows}


def list_rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("NUMBER", "TICK-"))]


@pytest.fixture
def played(here: Path, real_clock: ManualClock) -> str:
    """The demo's output on ./tickets.db, the clock moved on after it."""
    result = play("tickets.db")
    assert result.exit_code == 0, result.output
    real_clock.advance(days=3)  # whatever happens later, the hint is pinned
    return result.stdout


def test_the_hinted_command_shows_the_breaches_the_summary_counts_at_its_instant(
    played: str,
) -> None:
    _, *args = hint_of(played)
    assert args[-2:] == ["--as-of", "2025-03-05T12:00:00Z"]
    assert re.search(r"^As of:\s+2025-03-05T12:00:00Z", played, flags=re.MULTILINE)
    listed = CliRunner().invoke(main, args)
    assert listed.exit_code == 0, listed.output
    breached = {number for number, state in sla_column(played).items() if state == "breached"}
    shown = sla_column(listed.stdout)
    (count,) = re.findall(r"^SLA breached:\s+(\d+)$", played, flags=re.MULTILINE)
    assert set(shown) == breached
    assert len(shown) == int(count) > 0
    assert set(shown.values()) == {"breached"}
    # Every ticket's SLA state reads the same at that instant, not only the breaches.
    everything = [a for a in args if a != "--sla-breach"] + ["--per-page", "100"]
    all_rows = CliRunner().invoke(main, everything)
    assert sla_column(all_rows.stdout) == sla_column(played)


def test_the_hint_runs_as_printed_with_the_script_of_this_install(played: str, here: Path) -> None:
    words = hint_of(played)
    script = Path(sys.executable).parent / "ayra-tickets"
    found = shutil.which(words[0])
    assert found is not None, words[0]
    assert Path(found).samefile(script)
    shown = subprocess.run(words, capture_output=True, text=True, check=False, cwd=here)
    assert shown.returncode == 0, shown.stderr
    assert list_rows(shown.stdout) == list_rows(CliRunner().invoke(main, words[1:]).stdout)
    assert set(sla_column(shown.stdout).values()) == {"breached"}


def test_from_the_checkout_the_hint_names_the_venvs_script_by_its_relative_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_clock: ManualClock
) -> None:
    # The README installs into .venv in the checkout and runs .venv/bin/ayra-tickets there.
    venv_home = Path(sys.executable).parent.parent.parent
    monkeypatch.chdir(venv_home)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv not activated
    db = tmp_path / "tickets.db"
    result = play(db)
    assert result.exit_code == 0, result.output
    program = hint_of(result.stdout)[0]
    expected = Path(sys.executable).parent.relative_to(venv_home) / "ayra-tickets"
    assert program == str(expected)
    assert Path(program).is_file()


def test_the_as_of_of_a_list_cannot_read_before_the_files_latest_change(
    played: str, real_clock: ManualClock
) -> None:
    result = CliRunner().invoke(
        main, ["--db", "tickets.db", "list", "--table", "--as-of", "2025-03-04T12:00:00Z"]
    )
    assert result.exit_code == 2
    assert "before the latest change in the file" in " ".join(result.stderr.split())


def test_the_demo_help_says_what_a_second_run_does() -> None:
    result = CliRunner().invoke(main, ["demo", "--help"])
    text = " ".join(result.stdout.split())
    assert "the last working day (08:00 to 18:00 UTC) that has ended" in text
    assert "the same day it writes nothing, shows the day it played again" in text
    assert "real clock" in text
