"""The PostgreSQL adapter beneath the contract suite: opening by URL (the engine, the
CLI, the environment), what it refuses, its transactions under concurrency (retried,
never refused) and what it shares between engines. Many writers at once, failures the
database raises, and reads beside writes: ``test_concurrency.py``.

The contract itself runs on PostgreSQL in tests/api (modules marked ``both_backends``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from ayra_tickets import Engine, ManualClock, NewerSchema, SlaPolicy, Targets
from ayra_tickets.cli import main
from ayra_tickets.domain.ticket import replay
from ayra_tickets.engine import redacted
from ayra_tickets.storage.errors import NotSupported, StorageUnavailable
from tests.backends import rows, schema_address
from tests.conftest import START


@pytest.fixture
def address(postgres_url: str, pg_schema: str) -> str:
    """The URL of this test's (empty) schema."""
    return schema_address(postgres_url, pg_schema)


@pytest.fixture
def engine(address: str) -> Iterator[Engine]:  # this module's engines are PostgreSQL's
    with Engine.open(address, clock=ManualClock(START)) as opened:
        yield opened


def with_password(url: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    user_part, _, host = rest.rpartition("@")
    return f"{scheme}://{user_part.partition(':')[0]}:{password}@{host}"


# -- opening ---------------------------------------------------------------------------


def test_an_address_shows_no_password() -> None:
    assert (
        redacted("postgresql://ann:s3cret@db.example:5432/tickets?password=x&sslmode=require")
        == "postgresql://ann@db.example:5432/tickets?sslmode=require"
    )
    assert redacted("tickets.db") == "tickets.db"


def test_the_engine_names_its_database_without_the_password(engine: Engine) -> None:
    assert "ayra_test@" in engine.path or "@" in engine.path
    assert ":ayra_test@" not in engine.path
    assert ":ayra_test@" not in repr(engine)


def test_a_newer_schema_is_refused_by_the_engine_and_left_untouched(
    engine: Engine, address: str
) -> None:
    engine.tickets.create(subject="kept", description="as it was")
    with psycopg.connect(address, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ayra_migrations (migration_set, name, applied_at)"
            " VALUES ('ayra_tickets', '0099_from_the_future', now())"
        )
    with pytest.raises(NewerSchema, match="0099_from_the_future"):
        Engine.open(address)
    assert engine.tickets.count() == 1


def test_a_server_that_refuses_the_login_is_unavailable_and_the_password_is_not_shown(
    postgres_url: str, pg_schema: str
) -> None:
    wrong = schema_address(with_password(postgres_url, "not-the-password"), pg_schema)
    with pytest.raises(StorageUnavailable) as refused:
        Engine.open(wrong)
    assert "not-the-password" not in str(refused.value)


def test_a_backup_is_pg_dumps_and_says_so(engine: Engine, tmp_path: Any) -> None:
    with pytest.raises(NotSupported, match="pg_dump"):
        engine.backup(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_the_cli_takes_a_postgresql_url_in_db_and_in_the_environment(address: str) -> None:
    runner = CliRunner()
    made = runner.invoke(
        main,
        ["--db", address, "create", "--subject", "Printer", "--description", "on fire",
         "--custom-field", "zeta=1", "--custom-field", "alpha=2"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert list(created["custom_fields"]) == ["zeta", "alpha"]  # as sent, not jsonb's order
    listed = runner.invoke(main, ["list"], env={"AYRA_TICKETS_DB": address})
    assert listed.exit_code == 0, listed.output
    assert [t["id"] for t in json.loads(listed.stdout)["data"]] == [created["id"]]
    after = runner.invoke(main, ["get", created["number"], "--db", address])
    assert json.loads(after.stdout)["id"] == created["id"]


def test_the_cli_never_prints_the_password(postgres_url: str, pg_schema: str) -> None:
    wrong = schema_address(with_password(postgres_url, "hunter2-secret"), pg_schema)
    for command in (["list"], ["check"]):
        result = CliRunner().invoke(main, ["--db", wrong, *command])
        assert result.exit_code != 0
        assert "hunter2-secret" not in result.output
        assert "cannot" in result.output


# -- transactions ----------------------------------------------------------------------


def test_writers_racing_for_one_ticket_are_retried_not_refused(engine: Engine) -> None:
    """Threads update the same ticket at once: at REPEATABLE READ all but one of each
    round fail to serialize, and the adapter runs them again; every update lands, the
    versions have no gaps and the log replays to the row."""
    ticket = engine.tickets.create(subject="contended", description="many writers")
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                engine.tickets.update(ticket.id, custom_fields={f"w{n}": i})
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert getattr(engine.storage, "retried", 0) > 0  # serialization failures, run again
    final = engine.tickets.get(ticket.id)
    assert final.version == 1 + 40
    assert final.custom_fields == {f"w{n}": 9 for n in range(4)}
    assert (
        replay(engine.tickets.events(ticket.id))["custom_fields"]
        == final.to_dict()["custom_fields"]
    )


def test_creates_from_threads_and_engines_take_gapless_numbers(
    engine: Engine, address: str
) -> None:
    failures: list[BaseException] = []

    def create(target: Engine) -> None:
        try:
            for _ in range(15):
                target.tickets.create(subject="numbered", description="gapless")
        except BaseException as error:
            failures.append(error)

    with Engine.open(address, clock=ManualClock(START)) as other:
        threads = [threading.Thread(target=create, args=(e,)) for e in (engine, other) * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    numbers = [number for (number,) in rows(engine, "SELECT number FROM tickets ORDER BY 1")]
    assert numbers == list(range(1, 61))


def test_a_policy_configured_by_another_engine_is_seen_on_the_next_call(
    engine: Engine, address: str
) -> None:
    assert engine.sla.policy.name == "default"
    with Engine.open(address, clock=ManualClock(START)) as other:
        gold = {1: Targets(timedelta(minutes=30), timedelta(hours=2))}
        other.sla.configure(SlaPolicy(name="gold", targets=gold))
    assert engine.sla.policy.name == "gold"
    assert engine.tickets.create(subject="s", description="d").to_dict()["sla"]["policy"] == "gold"


def test_a_reset_empties_everything_and_numbers_start_again(engine: Engine) -> None:
    engine.agents.add("user_ann", "Ann")
    engine.keys.create()
    engine.tickets.create(subject="one", description="first", tags=["x"])
    engine.reset()
    assert engine.tickets.count() == 0
    assert engine.agents.list() == {}
    assert engine.keys.list() == []
    assert engine.tickets.create(subject="again", description="first").number == 1


def test_an_import_writes_with_copy_and_keeps_numbers_gapless(engine: Engine) -> None:
    engine.tickets.create(subject="before", description="the import")
    report = engine.tickets.import_many(
        (
            {"subject": f"row {n}", "description": "imported", "tags": ["bulk"],
             "custom_fields": {"z": n, "a": "x"}, "status": "resolved" if n % 3 else "new"}
            for n in range(2_500)
        ),
        chunk_size=1_000,
    )  # fmt: skip
    assert report.imported == 2_500
    assert (report.first_number, report.last_number) == (2, 2_501)
    assert engine.tickets.list(tags="bulk").meta["total"] == 2_500
    last = engine.tickets.get("TICK-2501")
    assert list(last.custom_fields) == ["z", "a"]
    assert replay(engine.tickets.events(last.id))["status"] == str(last.status)
    assert engine.tickets.create(subject="after", description="it").number == 2_502
