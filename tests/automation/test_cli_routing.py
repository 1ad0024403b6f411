"""The command line's routing: ``agents add/update`` with the routing fields, and
``routing show`` / ``routing set FILE.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ayra_tickets import BusinessCalendar, Engine, ManualClock, RoutingRule
from tests.api.test_cli import Cli, run  # noqa: F401  (the fixture)
from tests.conftest import START


def write(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def test_agents_add_and_update_take_the_routing_fields(run: Cli, tmp_path: Path) -> None:  # noqa: F811
    hours = {"timezone": "Europe/Berlin", "hours": {"mon": "09:00-17:00"}, "holidays": []}
    calendar = write(tmp_path / "hours.json", hours)
    added = run.json(
        "agents", "add", "alice", "Alice", "--groups", "billing,de", "--skills", "sepa",
        "--capacity", "3", "--calendar", calendar, "--away",
    )  # fmt: skip
    assert added == {
        "id": "alice",
        "name": "Alice",
        "groups": ["billing", "de"],
        "skills": ["sepa"],
        "capacity": 3,
        "calendar": BusinessCalendar.from_dict(hours).to_dict(),
        "available": False,
    }
    updated = run.json("agents", "update", "alice", "--available", "--capacity", "none")
    assert updated == {**added, "available": True, "capacity": None}
    cleared = run.json("agents", "update", "alice", "--groups", "", "--calendar", "none")
    assert (cleared["groups"], cleared["calendar"], cleared["skills"]) == ([], None, ["sepa"])
    assert run.json("agents", "list")["data"] == [cleared]


def test_bad_agent_options_are_the_apis_errors_and_change_nothing(
    run: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    run.json("agents", "add", "alice", "Alice", "--capacity", "2")
    not_a_calendar = write(tmp_path / "list.json", [1, 2])
    assert run.error("agents", "update", "alice", "--capacity", "-1")["param"] == "capacity"
    assert run.error("agents", "update", "alice", "--capacity", "many")["param"] == "capacity"
    assert run.error("agents", "update", "alice", "--calendar", not_a_calendar)["param"] == (
        "calendar"
    )
    missing = str(tmp_path / "missing.json")
    assert run.error("agents", "add", "bob", "Bob", "--calendar", missing)["param"] == "calendar"
    assert run.error("agents", "update", "ghost", "--capacity", "1")["param"] == "id"
    assert run.json("agents", "list")["data"] == [
        {
            "id": "alice",
            "name": "Alice",
            "groups": [],
            "skills": [],
            "capacity": 2,
            "calendar": None,
            "available": True,
        }
    ]


def test_routing_set_stores_the_rules_and_show_prints_them_and_the_queue(
    run: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    rules = [
        {"name": "billing", "match": {"category": "billing"}, "group": "billing"},
        {"name": "rest", "group": "support", "strategy": "round_robin"},
    ]
    stored = run.json("routing", "set", write(tmp_path / "rules.json", {"rules": rules}))
    assert [rule["name"] for rule in stored["data"]] == ["billing", "rest"]
    waiting = run.create("--category", "billing")
    assert waiting["assigned_to"] is None
    shown = run.json("routing", "show")
    assert shown == {"data": stored["data"], "queued": [waiting["id"]]}
    with Engine.open(run.db, clock=ManualClock(START)) as engine:
        assert engine.routing.rules == [
            RoutingRule("billing", {"category": "billing"}, "billing"),
            RoutingRule("rest", {}, "support", "round_robin"),
        ]
    run.json("agents", "add", "bea", "Bea", "--groups", "billing")
    assert run.json("get", waiting["id"])["assigned_to"] == "bea"


def test_routing_set_refuses_a_bad_file_naming_what_is_wrong(run: Cli, tmp_path: Path) -> None:  # noqa: F811
    good = [{"name": "rest", "group": "support"}]
    run.json("routing", "set", write(tmp_path / "good.json", good))
    bad = {
        "strategy.json": ([{"name": "x", "group": "g", "strategy": "coin"}], "rules[0].strategy"),
        "match.json": ([{"name": "x", "group": "g", "match": {"status": "new"}}], "rules[0].match"),
        "field.json": ([{"name": "x", "group": "g", "queue": "g"}], "rules[0]"),
        "twice.json": ([good[0], good[0]], "rules[1].name"),
        "object.json": ({"name": "x"}, "rules"),
    }
    for name, (value, param) in bad.items():
        assert run.error("routing", "set", write(tmp_path / name, value))["param"] == param, name
    (tmp_path / "broken.json").write_text("[{")
    assert run.error("routing", "set", str(tmp_path / "broken.json"))["param"] == "rules"
    assert run.json("routing", "show")["data"] == [
        {"name": "rest", "match": {}, "group": "support", "strategy": "least_loaded", "skills": []}
    ]
