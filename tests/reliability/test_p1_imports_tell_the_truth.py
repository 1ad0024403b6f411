"""Point 1: an import's answer never lies about what it wrote.

Its report counts what was committed; a failure part-way says which rows the committed
chunks held; running the same input again with ``resume`` makes nothing twice (after a
failure or a kill); and what ``export`` writes imports back with every ticket's id.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ayra_tickets import Engine, ImportStopped, ManualClock, StorageFull, service
from ayra_tickets.domain.lifecycle import Status
from ayra_tickets.storage.sqlite import locking
from tests.conftest import START


def rows(count: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"subject": f"Row {i % 97}", "description": "imported", "tags": [f"t{i % 5}"]}
        for i in range(start, start + count)
    ]  # identical rows recur: row i and row i + 97 * 5 are the same


def test_p1_a_lock_held_after_the_last_chunk_does_not_turn_a_committed_import_into_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "held.db"
    monkeypatch.setattr(locking, "WRITE_WAIT", 0.3)
    holder = sqlite3.connect(path, isolation_level=None)
    total = service.ANALYZE_AFTER
    with Engine.open(path, clock=ManualClock(START)) as engine:

        def after_each_chunk(done: int) -> None:
            if engine.tickets.count() == total:  # the last chunk is in: hold the lock now
                holder.execute("BEGIN IMMEDIATE")

        try:
            report = engine.tickets.import_many(
                rows(total), chunk_size=250, progress=after_each_chunk
            )
        finally:
            if holder.in_transaction:
                holder.execute("ROLLBACK")
            holder.close()
        assert (report.imported, report.first_number, report.last_number) == (total, 1, total)
        assert engine.tickets.count() == total


def test_p1_an_import_stopped_by_a_full_disk_says_what_it_committed_and_resumes_without_doubles(
    tmp_path: Path,
) -> None:
    given = rows(1_000)
    with Engine.open(tmp_path / "full.db", clock=ManualClock(START)) as engine:

        def fill_the_disk_after_two_chunks(done: int) -> None:
            if engine.tickets.count() == 200:
                (pages,) = engine.db.execute("PRAGMA page_count").fetchone()
                engine.db.execute(f"PRAGMA max_page_count = {pages}")

        with pytest.raises(ImportStopped, match="stopped at row 200") as stopped:
            engine.tickets.import_many(
                given, chunk_size=100, resume=True, progress=fill_the_disk_after_two_chunks
            )
        assert isinstance(stopped.value.__cause__, StorageFull)
        assert stopped.value.rows_done == 200
        assert (stopped.value.report.imported, stopped.value.report.last_number) == (200, 200)
        assert engine.tickets.count() == 200  # what it said, no more, no less

        engine.db.execute("PRAGMA max_page_count = 1073741823")
        again = engine.tickets.import_many(given, chunk_size=100, resume=True)
        assert (again.imported, len(again.skipped)) == (800, 200)
        assert again.skipped == list(range(200))
        assert engine.tickets.count() == 1_000
        once_more = engine.tickets.import_many(given, chunk_size=100, resume=True)
        assert (once_more.imported, len(once_more.skipped)) == (0, 1_000)


def test_p1_resuming_finds_identical_rows_by_their_place_among_their_twins(
    memory_engine: Engine,
) -> None:
    twins = [{"subject": "Same", "description": "same"}] * 3
    first = memory_engine.tickets.import_many([*twins[:2]], resume=True)
    assert first.imported == 2
    # The file grew: a third twin and a new row; the first two are found, not made again.
    second = memory_engine.tickets.import_many(
        [*twins, {"subject": "New", "description": "row"}], resume=True
    )
    assert (second.imported, second.skipped) == (2, [0, 1])
    assert memory_engine.tickets.count() == 4
    # Without resume the same rows are new tickets each time, as before.
    assert memory_engine.tickets.import_many(twins).imported == 3


WRITER = """
import sys
from ayra_tickets.cli import main
sys.argv = ["ayra-tickets", "--db", sys.argv[1], "import", "--resume", "--chunk-size", "500",
            sys.argv[2]]
main()
"""


def test_p1_an_import_killed_part_way_and_run_again_with_resume_makes_each_line_once(
    tmp_path: Path,
) -> None:
    path, source = tmp_path / "killed.db", tmp_path / "tickets.jsonl"
    lines = rows(20_000)
    source.write_text("".join(json.dumps(row) + "\n" for row in lines))
    with Engine.open(path):
        pass
    with subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(source)]) as writer:
        watcher = sqlite3.connect(path)
        deadline = time.monotonic() + 60
        while watcher.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] < 1_500:
            assert writer.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        writer.send_signal(signal.SIGKILL)
        watcher.close()
    assert writer.returncode == -signal.SIGKILL
    with Engine.open(path) as engine:
        committed = engine.tickets.count()
    assert 1_500 <= committed < 20_000
    assert committed % 500 == 0  # whole chunks only
    again = subprocess.run(
        [sys.executable, "-c", WRITER, str(path), str(source)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["imported"] == 20_000 - committed
    assert report["skipped_lines"] == list(range(1, committed + 1))
    with Engine.open(path) as engine:
        assert engine.tickets.count() == 20_000
        (distinct,) = engine.db.execute("SELECT COUNT(DISTINCT id) FROM tickets").fetchone()
        assert distinct == 20_000


def test_p1_what_export_writes_imports_into_a_fresh_file_with_every_id_field_and_status(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    with Engine.open(tmp_path / "source.db", clock=clock) as source:
        source.agents.add("user_ann", "Ann Lee")
        for n, status in enumerate(Status):
            made = source.tickets.create(
                subject=f"In {status.value}", description="moved", priority=1 + n % 4,
                category="billing", contact_id=f"contact_{n}", assigned_to="user_ann",
                tags=["moved", status.value], custom_fields={"n": n}, metadata={"src": "x"},
                due_date="2025-02-01T00:00:00Z",
            )  # fmt: skip
            if status is Status.CLOSED:
                source.tickets.close(
                    made.id, resolution_note="Done.", customer_satisfaction=8,
                    resolution_time=30, root_cause="user_error",
                )  # fmt: skip
            elif status is Status.REOPENED:
                source.tickets.update(made.id, status="resolved")
                source.tickets.update(made.id, status="reopened")
            elif status is not Status.NEW:
                source.tickets.update(made.id, status=status.value)
        exported = list(source.tickets.export())
    assert len(exported) == len(Status)
    with Engine.open(tmp_path / "fresh.db", clock=clock) as fresh:
        fresh.agents.add("user_ann", "Ann Lee")
        report = fresh.tickets.import_many(exported)
        assert (report.imported, report.rejected) == (len(exported), [])
        kept = (
            "id", "subject", "description", "priority", "status", "category", "contact_id",
            "conversation_id", "assigned_to", "assigned_name", "due_date", "tags",
            "custom_fields", "metadata", "resolution_note", "customer_satisfaction",
            "resolution_time", "root_cause",
        )  # fmt: skip
        for before in exported:
            after = fresh.tickets.get(before["id"]).to_dict()
            assert {name: after[name] for name in kept} == {name: before[name] for name in kept}
        # Run again, resuming: every line is found by its id, nothing is made twice.
        again = fresh.tickets.import_many(exported, resume=True)
        assert (again.imported, len(again.skipped)) == (0, len(exported))


def test_p1_an_exported_line_with_a_computed_field_of_the_wrong_shape_is_refused(
    memory_engine: Engine,
) -> None:
    report = memory_engine.tickets.import_many(
        [
            {"subject": "a", "description": "b", "version": "two"},
            {"subject": "a", "description": "b", "status": "archived"},
            {"subject": "a", "description": "b", "resolution_note": "only when closed"},
        ]
    )
    assert report.imported == 0
    assert [r.error["param"] for r in report.rejected] == ["version", "status", "resolution_note"]
    assert memory_engine.tickets.count() == 0


def test_p1_a_seed_the_disk_cannot_hold_writes_nothing_and_says_so(tmp_path: Path) -> None:
    from ayra_tickets.local import control

    with Engine.open(tmp_path / "seed.db", clock=ManualClock(START)) as engine:
        (pages,) = engine.db.execute("PRAGMA page_count").fetchone()
        engine.db.execute(f"PRAGMA max_page_count = {pages + 20}")  # room for a few rows
        body = "".join(
            json.dumps({"subject": f"Seed {i}", "description": "x" * 2_000}) + "\n"
            for i in range(300)
        ).encode()
        answer = control(engine, "POST", "/_local/seed", {"Host": "127.0.0.1"}, body)
        assert answer.status == 507
        assert answer.json["error"]["code"] == "storage_full"
        assert engine.tickets.count() == 0  # not the first rows that fitted
