"""The transports on PostgreSQL: the HTTP server (in-process, and ``ayra-tickets serve
--db postgresql://...`` in a process of its own) with its control plane, ``mock_api`` on
an engine opened by URL, and every command of the CLI given a URL by ``--db`` and by
``AYRA_TICKETS_DB``; and what each says, in one line and without the password, when the
database refuses the login or cannot be reached.

The contract suite runs on PostgreSQL through ``engine.request`` (tests/backends.py);
these show that the transports around it work there too, on the reference's examples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner, Result

from ayra_tickets import Engine, ManualClock
from ayra_tickets.cli import main
from ayra_tickets.engine import redacted
from ayra_tickets.server import LocalServer
from ayra_tickets.testing import mock_api
from tests.backends import schema_address, table_counts
from tests.conftest import START
from tests.integration.test_offline_kit import (
    SECRET,
    TICKET_ID,
    check_reference_outcome,
    reference_python,
    seed_reference_state,
    serving,
)

PASSWORD = "hunter2-not-this-one"
"""A wrong password, which no message may show."""
DESCRIBED = {"ayra_migrations", "settings", "ticket_counter"}
"""The tables a reset keeps rows in: they describe the database, not its tickets."""


@pytest.fixture
def address(postgres_url: str, pg_schema: str) -> str:
    """The URL of this test's (empty) schema, password and all."""
    return schema_address(postgres_url, pg_schema)


@pytest.fixture
def engine(address: str) -> Iterator[Engine]:
    with Engine.open(address, clock=ManualClock(START)) as opened:
        yield opened


def secret_of(url: str) -> str:
    """The URL's password, as a message would show it after the user name."""
    password = urlsplit(url).password
    assert password, "the test database's URL has a password"
    return f":{password}@"


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port or 5432}"
    return parts._replace(netloc=netloc).geturl()


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username}:{PASSWORD}@127.0.0.1:{port}").geturl()


# -- the server and mock_api ------------------------------------------------------------


@pytest.fixture
def server(engine: Engine) -> Iterator[LocalServer]:
    with LocalServer(engine, port=0, control=True) as serving:
        yield serving


def test_the_reference_python_examples_run_against_the_server_on_postgresql(
    server: LocalServer,
) -> None:
    engine = server.app.engine
    seed_reference_state(engine)
    outcome = reference_python(server.url)["run_all"]()
    check_reference_outcome(engine, outcome, satisfaction=10)


def test_the_reference_python_examples_run_through_mock_api_on_postgresql(
    engine: Engine,
) -> None:
    seed_reference_state(engine)
    with mock_api(engine, key=SECRET):
        outcome = reference_python()["run_all"]()
    check_reference_outcome(engine, outcome, satisfaction=10)


def test_the_control_plane_seeds_moves_the_clock_and_resets_a_postgresql_schema(
    server: LocalServer,
) -> None:
    engine = server.app.engine

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, server.url + path, timeout=10, **kwargs)

    assert call("POST", "/_local/keys", json={"secret": SECRET}).status_code == 201
    lines = [{"id": TICKET_ID, "subject": "Seeded", "description": "From a file"},
             {"subject": "Second", "description": "Also seeded", "status": "open", "tags": ["a"]}]  # fmt: skip
    seeded = call("POST", "/_local/seed", data="\n".join(map(json.dumps, lines)).encode())
    assert seeded.json()["data"]["imported"] == 2, seeded.json()
    assert call("POST", "/_local/clock/advance", json={"seconds": 30 * 86400}).status_code == 200
    auth = {"Authorization": f"Bearer {SECRET}"}
    breached = call("GET", "/v1/tickets?sla_breach=true", headers=auth).json()
    assert breached["meta"]["total"] == 2
    engine.agents.add("user_jane", "Jane")

    reset = call("POST", "/_local/reset").json()
    assert reset == {"data": {"reset": True, "now": "2025-01-15T09:00:00Z"}}
    assert call("GET", "/v1/tickets", headers=auth).status_code == 401  # the key is gone
    left = {name for name, n in table_counts(engine).items() if n}
    assert left <= DESCRIBED, left
    key = call("POST", "/_local/keys", json={}).json()["data"]["key"]
    made = call(
        "POST", "/v1/tickets", json={"subject": "After reset", "description": "Again"},
        headers={"Authorization": f"Bearer {key}"},
    ).json()["data"]  # fmt: skip
    assert (made["number"], made["created_at"]) == ("TICK-1", "2025-01-15T09:00:00Z")


def test_serve_on_a_postgresql_url_answers_resets_and_never_shows_the_password(
    address: str,
) -> None:
    with serving(address) as served:
        found = re.search(r"serving (\S+) on ", served.banner)
        assert found, served.banner
        assert found.group(1).startswith("postgresql://")
        assert secret_of(address) not in served.banner
        url = served.url
        body = {"subject": "Over HTTP", "description": "On PostgreSQL"}
        for _ in range(2):  # a reset between: numbers start again
            key = requests.post(f"{url}/_local/keys", json={}, timeout=10).json()["data"]["key"]
            auth = {"Authorization": f"Bearer {key}"}
            made = requests.post(f"{url}/v1/tickets", json=body, headers=auth, timeout=10)
            assert made.json()["data"]["number"] == "TICK-1"
            assert requests.post(f"{url}/_local/reset", timeout=10).status_code == 200
        served.process.terminate()
        assert served.process.wait(timeout=10) == 0
        rest = served.output.rest()
        assert "Traceback" not in rest
        assert secret_of(address) not in rest


# -- the command line -------------------------------------------------------------------


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env)


def succeeded(result: Result, address: str) -> str:
    """What the command printed; it ran without a traceback or the password."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    assert secret_of(address) not in result.output
    return result.stdout


def answered(result: Result, address: str) -> Any:
    """The command's JSON answer (see :func:`succeeded`)."""
    return json.loads(succeeded(result, address))


def test_every_command_runs_on_postgresql_by_db_and_by_the_environment(
    address: str, tmp_path: Path
) -> None:
    env = {"AYRA_TICKETS_DB": address}

    def by_db(*args: str) -> Any:  # --db after the command, as before it for the others
        return answered(run([*args, "--db", address]), address)

    def by_env(*args: str) -> Any:
        return answered(run(list(args), env=env), address)

    ann = {
        "id": "user_ann",
        "name": "Ann",
        "groups": ["billing"],
        "skills": [],
        "capacity": 2,
        "calendar": None,
        "available": True,
    }
    added = run(["--db", address, "agents", "add", "user_ann", "Ann", "--groups", "billing"])
    assert answered(added, address) == {**ann, "capacity": None}
    assert by_env("agents", "update", "user_ann", "--capacity", "2") == ann
    assert by_env("agents", "list")["data"] == [ann]
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"name": "all", "group": "billing"}]))
    assert by_db("routing", "set", str(rules))["data"][0]["name"] == "all"
    assert by_env("routing", "show")["data"][0]["group"] == "billing"
    made = by_db("create", "--subject", "Printer", "--description", "On fire", "--tag", "hw")
    assert made["number"] == "TICK-1"
    assert by_env("get", made["id"])["number"] == "TICK-1"
    updated = by_db("update", "TICK-1", "--status", "in_progress", "--assigned-to", "user_ann")
    assert (updated["status"], updated["assigned_name"]) == ("in_progress", "Ann")
    listed = by_env("list", "--status", "in_progress", "--tag", "hw")
    assert [t["number"] for t in listed["data"]] == ["TICK-1"]
    closed = by_db("close", "TICK-1", "--customer-satisfaction", "9")
    assert closed["status"] == "closed"
    types = [e["type"] for e in by_env("events", "TICK-1")["data"]]
    assert types[0] == "created"
    assert "closed" in types

    source = tmp_path / "tickets.jsonl"
    source.write_text(
        json.dumps({"subject": "Imported", "description": "From a file"}) + "\n", "utf-8"
    )
    report = by_db("import", "--resume", str(source))
    assert (report["imported"], report["first_number"]) == (1, "TICK-2")
    assert by_env("import", "--resume", str(source))["imported"] == 0  # found, skipped
    exported = succeeded(run(["export"], env=env), address)
    assert succeeded(run(["export", "--db", address]), address) == exported
    assert [json.loads(line)["number"] for line in exported.splitlines()] == ["TICK-1", "TICK-2"]

    key = by_env("keys", "create", "--scope", "tickets:read", "--name", "reader")
    assert key["key"] not in run(["keys", "list"], env=env).output
    assert [k["name"] for k in by_db("keys", "list")["data"]] == ["reader"]
    assert by_env("keys", "revoke", key["id"])["revoked_at"] is not None

    tables = tmp_path / "tables"
    succeeded(run(["report", "--csv", str(tables), "--db", address]), address)
    assert (tables / "volume.csv").read_text("utf-8").count("\n") >= 2

    for checked in (run(["check", "--db", address]), run(["check"], env=env)):
        assert "no problems" in succeeded(checked, address)


COMMANDS = [
    ["list"],
    ["create", "--subject", "s", "--description", "d"],
    ["get", "TICK-1"],
    ["update", "TICK-1", "--priority", "1"],
    ["close", "TICK-1"],
    ["events", "TICK-1"],
    ["import", "-"],
    ["export"],
    ["keys", "list"],
    ["keys", "create"],
    ["agents", "list"],
    ["report", "--csv", "{tmp}/tables"],
    ["check"],
    ["serve", "--port", "0"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_refused_login_or_an_unreachable_server_is_one_line_without_the_password(
    postgres_url: str, pg_schema: str, command: list[str], tmp_path: Path
) -> None:
    command = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    wrong = schema_address(with_password(postgres_url, PASSWORD), pg_schema)
    closed_port = with_port(postgres_url, 1)  # nothing listens on port 1 here
    for url, how in ((wrong, "by --db"), (closed_port, "by the environment")):
        if how == "by --db":
            result = CliRunner().invoke(main, ["--db", url, *command], input="")
        else:
            result = CliRunner().invoke(main, command, input="", env={"AYRA_TICKETS_DB": url})
        assert result.exit_code in (1, 2), (how, result.output)
        assert isinstance(result.exception, SystemExit), (how, result.exception)
        (line,) = result.output.strip().splitlines()
        assert PASSWORD not in line
        assert line.count(repr(redacted(url))) == 1, line  # named once, without the password
        assert "cannot" in line, line
    assert not (tmp_path / "tables").exists()
