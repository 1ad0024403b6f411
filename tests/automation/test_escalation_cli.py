"""``ayra-tickets escalations show`` and ``set FILE``: the policy as JSON, from a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ayra_tickets import Engine
from ayra_tickets.cli import main
from ayra_tickets.domain.escalation import policy_to_dict
from tests.backends import schema_address

POLICY = {
    "1": [
        {
            "on": "response_due",
            "after": {"seconds": -900},
            "actions": [
                {"action": "add_tag", "tag": "at-risk"},
                {"action": "notify", "event": "ticket.at_risk"},
            ],
        },
        {
            "on": "resolution_due",
            "after": {"fraction": 0.75},
            "actions": [{"action": "raise_priority"}],
        },
    ]
}


def test_set_stores_the_policy_of_a_json_file_and_show_prints_it(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    source = tmp_path / "policy.json"
    source.write_text(json.dumps(POLICY))
    runner = CliRunner()
    stored = runner.invoke(main, ["--db", db, "escalations", "set", str(source)])
    assert stored.exit_code == 0, stored.output
    assert json.loads(stored.output) == POLICY
    shown = runner.invoke(main, ["escalations", "show", "--db", db])
    assert json.loads(shown.output) == POLICY
    with Engine.open(db) as engine:
        assert [len(levels) for levels in engine.escalations.policy.values()] == [2]
    removed = runner.invoke(main, ["--db", db, "escalations", "set", "-"], input="{}")
    assert json.loads(removed.output) == {}


def test_a_bad_policy_file_is_refused_with_the_reason_and_changes_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    runner = CliRunner()
    runner.invoke(main, ["--db", db, "escalations", "set", "-"], input=json.dumps(POLICY))
    bad = {"1": [{"on": "resolution_due", "after": {"fraction": 11}, "actions": []}]}
    refused = runner.invoke(main, ["--db", db, "escalations", "set", "-"], input=json.dumps(bad))
    assert refused.exit_code == 1
    assert "at most 10" in json.loads(refused.stderr)["error"]["message"]
    not_json = runner.invoke(main, ["--db", db, "escalations", "set", "-"], input="{1: NaN}")
    assert not_json.exit_code == 1
    assert "is not JSON" in not_json.stderr
    shown = runner.invoke(main, ["--db", db, "escalations", "show"])
    assert json.loads(shown.output) == POLICY


@pytest.mark.both_backends
def test_a_policy_set_from_the_command_line_is_seen_by_an_engine_already_open(
    engine: Engine, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    address = str(request.getfixturevalue("db_path"))
    if backend == "postgres":
        address = schema_address(
            request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        )
    assert engine.escalations.policy == {}
    stored = CliRunner().invoke(
        main, ["--db", address, "escalations", "set", "-"], input=json.dumps(POLICY)
    )
    assert stored.exit_code == 0, stored.output
    assert policy_to_dict(engine.escalations.policy) == POLICY
