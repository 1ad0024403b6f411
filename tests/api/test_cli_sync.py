"""``ayra-tickets sync``: configured, listed and pushed from the command line, against
``serve`` (``LocalServer``) on loopback as the remote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.server import LocalServer
from tests.api.test_cli import Cli
from tests.conftest import START

KEY_ENV = "AYRA_TEST_REMOTE_KEY"


@pytest.fixture
def run(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "tickets.db")


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, str]]:
    with (
        Engine.open(":memory:", clock=ManualClock(START)) as engine,
        LocalServer(engine, port=0) as server,
    ):
        monkeypatch.setenv(KEY_ENV, engine.keys.create())
        yield engine, server.url


def test_sync_is_configured_listed_and_pushed_from_the_command_line(
    run: Cli, remote: tuple[Engine, str]
) -> None:
    engine, url = remote
    assert run.json("sync", "status")["configured"] is False
    configured = run.json("sync", "configure", "--remote", url, "--key-env", KEY_ENV)
    assert (configured["remote"], configured["key_env"]) == (url, KEY_ENV)
    ticket = run.create("--priority", "1")
    run.json("close", ticket["id"])
    queued = run.json("sync", "commands", "--status", "pending")["data"]
    assert [(c["kind"], c["seq"], c["number"]) for c in queued] == [
        ("create", 1, ticket["number"]), ("close", 2, ticket["number"]),
    ]  # fmt: skip
    assert run.json("sync", "status")["pending"] == 2
    report = run.json("sync", "run")
    assert (report["acknowledged"], report["pending"], report["refused"]) == (2, 0, None)
    (there,) = engine.tickets.list().data
    assert (there.subject, there.priority, str(there.status)) == ("Printer on fire", 1, "closed")
    assert run.json("sync", "conflicts") == {"data": []}
    assert run.json("sync", "commands", "--ticket", ticket["id"])["data"][0]["status"] == "done"


def test_sync_refusals_are_sentences_or_the_apis_errors(
    run: Cli, remote: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = remote
    unconfigured = run("sync", "run")
    assert unconfigured.exit_code == 1
    assert "not configured" in unconfigured.stderr
    bad = run.error("sync", "configure", "--remote", "ftp://x", "--key-env", KEY_ENV)
    assert bad["param"] == "remote"
    run.json("sync", "configure", "--remote", url, "--key-env", KEY_ENV)
    run.create()
    monkeypatch.setenv(KEY_ENV, "sk_test_not_the_remotes_key")
    refused = run("sync", "run")
    assert refused.exit_code == 1
    assert KEY_ENV in refused.stdout  # the report says why
    monkeypatch.delenv(KEY_ENV)
    unset = run("sync", "run")
    assert unset.exit_code == 1
    assert f"{KEY_ENV} that holds" in unset.stderr
    assert run.json("sync", "status")["pending"] == 1
