"""Bulk paths: import many tickets at once, export them all in flat memory."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ayra_tickets import Engine, ImportStopped, service
from ayra_tickets.cli import main
from ayra_tickets.domain.ticket import replay
from tests.conftest import table_counts


def body(i: int, **extra: Any) -> dict[str, Any]:
    return {"subject": f"Ticket {i}", "description": f"Body {i}", **extra}


def test_an_import_reports_bad_rows_and_keeps_the_good_ones(engine: Engine) -> None:
    rows: list[Any] = [body(i, tags=["bulk"]) for i in range(7)]
    rows[2] = {"subject": "x" * 201, "description": "too long"}
    rows[4] = "not an object"
    rows[5] = {"subject": "ok", "description": "ok", "sla": "no such field"}
    report = engine.tickets.import_many(rows, chunk_size=3)
    assert report.imported == 4
    assert [(r.index, r.error["code"], r.error.get("param")) for r in report.rejected] == [
        (2, "parameter_too_long", "subject"),
        (4, "invalid_json", None),
        (5, "parameter_invalid", "sla"),  # an export writes an object there
    ]
    assert (report.first_number, report.last_number) == (1, 4)
    # Numbers run on without gaps; the good rows are there, in input order.
    listed = engine.tickets.list(sort_order="asc", per_page=100).data
    assert [(t.number, t.subject) for t in listed] == [
        (1, "Ticket 0"), (2, "Ticket 1"), (3, "Ticket 3"), (4, "Ticket 6"),
    ]  # fmt: skip
    assert engine.tickets.create(**body(99)).number == 5


def test_imported_tickets_are_whole_tickets_with_their_history(engine: Engine) -> None:
    engine.tickets.import_many([body(1, priority=1, status="open", tags=["a", "b"])])
    (ticket,) = engine.tickets.list().data
    assert ticket.status == "open"
    assert ticket.first_response_at == ticket.created_at
    assert engine.tickets.list(tags="a,b").meta["total"] == 1
    assert engine.tickets.list(search="ticket").meta["total"] == 1
    history = engine.tickets.events(ticket.id)
    state = replay(history)
    assert state == {k: v for k, v in ticket.to_dict().items() if k in state}


def test_an_import_of_only_bad_rows_changes_nothing(engine: Engine) -> None:
    before = table_counts(engine)
    report = engine.tickets.import_many([{}, {"subject": "no description"}, 42])
    assert report.imported == 0
    assert len(report.rejected) == 3
    assert table_counts(engine) == before


def test_an_export_streams_every_matching_ticket_in_number_order(engine: Engine) -> None:
    engine.tickets.import_many(
        [body(i, tags=["even"] if i % 2 == 0 else ["odd"]) for i in range(25)]
    )
    everything = list(engine.tickets.export(chunk_size=4))
    assert [t["number"] for t in everything] == [f"TICK-{n}" for n in range(1, 26)]
    assert everything[0] == engine.tickets.get(everything[0]["id"]).to_dict()
    evens = [t["subject"] for t in engine.tickets.export(tags="even", chunk_size=5)]
    assert evens == [f"Ticket {i}" for i in range(0, 25, 2)]


def test_an_export_refuses_paging_and_sorting(engine: Engine) -> None:
    import pytest

    from ayra_tickets.errors import ParameterUnknown

    with pytest.raises(ParameterUnknown) as caught:
        next(engine.tickets.export(page=2))
    assert caught.value.param == "page"


def test_the_cli_imports_and_exports_json_lines(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    source = tmp_path / "in.jsonl"
    lines = [json.dumps(body(i, tags=["cli"])) for i in range(5)]
    lines.insert(2, "{broken")
    source.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    imported = runner.invoke(main, ["--db", db, "import", str(source)])
    assert imported.exit_code == 1
    report = json.loads(imported.stdout)
    assert report["imported"] == 5
    assert [(r["line"], r["error"]["code"]) for r in report["rejected"]] == [(3, "invalid_json")]
    exported = runner.invoke(main, ["--db", db, "export", "--tag", "cli"])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["subject"] for r in rows] == [f"Ticket {i}" for i in range(5)]
    clean = runner.invoke(main, ["--db", db, "import", "-"], input=lines[0] + "\n")
    assert clean.exit_code == 0
    assert json.loads(clean.stdout)["first_number"] == "TICK-6"


def test_an_import_leaves_garbage_collection_as_it_found_it(engine: Engine) -> None:
    import gc

    assert gc.isenabled()
    rows: list[Any] = [body(i) for i in range(5)]

    def broken() -> Any:
        yield from rows[:2]
        raise RuntimeError("the source broke")

    with pytest.raises(ImportStopped, match="the source broke") as stopped:
        engine.tickets.import_many(broken(), chunk_size=2)
    assert (stopped.value.report.imported, stopped.value.rows_done) == (2, 2)
    assert gc.isenabled()
    gc.disable()
    try:
        assert engine.tickets.import_many(rows).imported == 5
        assert not gc.isenabled()  # the caller's choice stands
    finally:
        gc.enable()
    assert engine.tickets.count() == 2 + 5  # the chunk before the failure was kept


def index_sql(engine: Engine) -> list[tuple[str, str]]:
    return engine.db.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
    ).fetchall()


@pytest.fixture
def defer_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """Big-import behaviour from the third ticket on."""
    monkeypatch.setattr(service, "DEFER_INDEXES_AFTER", 3)


def test_a_big_import_builds_the_list_indexes_once_at_the_end(
    engine: Engine, defer_early: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = index_sql(engine)
    seen: list[int] = []

    def counting_progress(rows: int) -> None:  # the indexes, as each chunk is done
        seen.append(len(index_sql(engine)))

    report = engine.tickets.import_many(
        [body(i, tags=["bulk"], priority=1 + i % 4) for i in range(10)],
        chunk_size=2,
        progress=counting_progress,
    )
    assert report.imported == 10
    # Two chunks with every index, then without the tickets' list indexes, then back.
    tickets_indexes = [name for name, sql in before if " ON tickets " in sql]
    assert len(tickets_indexes) >= 10
    assert seen[:2] == [len(before)] * 2
    assert seen[2:] == [len(before) - len(tickets_indexes)] * 3
    assert index_sql(engine) == before
    assert (
        engine.db.conn.execute(
            "SELECT value FROM settings WHERE key = 'deferred_indexes'"
        ).fetchone()
        is None
    )
    assert engine.db.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert engine.tickets.list(priority=2, sort_order="asc").meta["total"] == 3
    assert engine.tickets.list(tags="bulk").meta["total"] == 10


def test_an_import_stopped_without_its_indexes_gets_them_back_when_the_file_is_opened(
    db_path: str, clock: Any
) -> None:
    with Engine.open(db_path, clock=clock) as engine:
        before = index_sql(engine)
        engine.tickets.import_many([body(i) for i in range(4)])
        storage = engine.storage
        storage.atomic(storage.tickets.defer_indexes, write=True)  # as an import, then "crashes"
        assert len(index_sql(engine)) < len(before)
        # Meanwhile the figures are read without the indexes they would use, the same.
        window = (clock.now() - timedelta(days=1), clock.now() + timedelta(days=1))
        for filters in ({}, {"priority": "3"}):
            without = engine.metrics(*window, **filters)
            assert sum(bucket.created for bucket in without.volume) == 4
            storage.atomic(storage.tickets.restore_indexes, write=True)
            assert engine.metrics(*window, **filters) == without
            storage.atomic(storage.tickets.defer_indexes, write=True)
    with Engine.open(db_path, clock=clock) as engine:
        assert index_sql(engine) == before
        assert engine.db.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert engine.tickets.list(status="new").meta["total"] == 4


def test_a_failed_big_import_still_rebuilds_its_indexes(engine: Engine, defer_early: None) -> None:
    before = index_sql(engine)

    def rows() -> Any:
        yield from [body(i) for i in range(6)]
        raise RuntimeError("the source broke")

    with pytest.raises(ImportStopped, match="the source broke"):
        engine.tickets.import_many(rows(), chunk_size=2)
    assert index_sql(engine) == before
    assert engine.tickets.count() == 6


def test_an_import_smaller_than_what_the_database_holds_keeps_its_indexes(
    engine: Engine, defer_early: None
) -> None:
    engine.tickets.import_many([body(i) for i in range(20)])  # deferred: nothing was there
    before = index_sql(engine)
    seen: list[int] = []
    engine.tickets.import_many(
        [body(i) for i in range(10)],
        chunk_size=2,
        progress=lambda _: seen.append(len(index_sql(engine))),
    )
    assert seen == [len(before)] * 5
