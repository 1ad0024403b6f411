"""Issue 14, point 7: no silent loss in the CLI.

``--db ""`` and ``--db :memory:`` would lose what the command writes the moment it ends:
they are refused with a sentence, and nothing is written anywhere. ``--db`` is taken
after the command as well as before it, and after it wins.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from ayra_tickets import Engine
from ayra_tickets.cli import NAMES_ITS_DATABASES, main
from ayra_tickets.storage.errors import NotATicketDatabase

CREATE = ["create", "--subject", "Printer on fire", "--description", "Third floor"]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AYRA_TICKETS_DB", raising=False)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def count(path: Path) -> int:
    with Engine.open(str(path)) as engine:
        return engine.tickets.count()


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize(("value", "sentence"), [("", "names no file"), (":memory:", "gone")])
def test_a_database_that_would_not_outlive_the_command_is_refused(
    here: Path, where: str, value: str, sentence: str
) -> None:
    args = ["--db", value, *CREATE] if where == "before" else [*CREATE, "--db", value]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "--db" in result.stderr
    assert sentence in result.stderr
    assert "name a file" in " ".join(result.stderr.split())
    assert result.stdout == ""  # no ticket was printed as if it had been kept
    assert list(here.iterdir()) == []  # and no file was made in its place


def test_the_environment_cannot_name_memory_either(here: Path) -> None:
    result = run(*CREATE, env={"AYRA_TICKETS_DB": ":memory:"})
    assert result.exit_code == 2
    assert ":memory: would be gone when create ends" in " ".join(result.stderr.split())


def test_serve_may_keep_its_database_in_memory(here: Path) -> None:
    # The option is accepted: the refusal that follows is serve's own, about --start.
    result = run("--db", ":memory:", "serve", "--start", "2025-01-15T09:00:00Z")
    assert result.exit_code == 2
    assert "--start sets the manual clock of --control" in result.stderr
    assert ":memory:" not in result.stderr


def test_db_after_the_command_is_the_file_written(here: Path) -> None:
    made = run(*CREATE, "--db", "after.db")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["number"] == "TICK-1"
    assert count(here / "after.db") == 1
    assert not (here / "tickets.db").exists()


def test_db_after_the_command_wins_over_the_one_before(here: Path) -> None:
    assert run("--db", "a.db", *CREATE, "--db", "b.db").exit_code == 0
    assert count(here / "b.db") == 1
    assert not (here / "a.db").exists()
    listed = run("--db", "a.db", "list", "--db", "b.db")
    assert json.loads(listed.stdout)["meta"]["total"] == 1


def test_db_after_a_nested_command_and_after_check(here: Path) -> None:
    added = run("agents", "add", "user_jane", "Jane Smith", "--db", "team.db")
    assert added.exit_code == 0, added.output
    with Engine.open(str(here / "team.db")) as engine:
        assert engine.agents.list() == {"user_jane": "Jane Smith"}
    checked = run("check", "--db", "team.db")
    assert checked.exit_code == 0, checked.output
    assert not (here / "tickets.db").exists()


def test_every_command_lists_db_in_its_help() -> None:
    def commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, [*prefix, name])
            else:
                found.append([*prefix, name])
        return found

    paths = commands(main, [])
    assert len(paths) >= 12
    for path in paths:
        if path[-1] in NAMES_ITS_DATABASES:  # its arguments name them
            continue
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert "--db" in result.stdout, path


@pytest.mark.parametrize(
    "value",
    [
        "host=127.0.0.1 dbname=support user=ann password=s3cret-pw",
        " PASSWORD = s3cret-pw host=db.internal",
        "dbname=support password=s3cret-pw",
    ],
)
def test_a_libpq_connection_string_is_refused_not_made_a_file_named_after_it(
    here: Path, value: str
) -> None:
    for args, env in (
        (["--db", value, *CREATE], None),
        (["list"], {"AYRA_TICKETS_DB": value}),
        (["serve", "--db", value, "--port", "0"], None),
    ):
        result = run(*args, env=env)
        assert result.exit_code != 0, result.output
        assert "postgresql:// URL" in result.output, result.output
        assert "s3cret-pw" not in result.output
    assert list(here.iterdir()) == []
    with pytest.raises(NotATicketDatabase, match="connection string"):
        Engine.open(value)
    assert list(here.iterdir()) == []
