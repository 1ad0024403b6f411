"""The README's Python examples run as written, in order, and say what they claim."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


TEST_FILE = "# test_support_flow.py"
"""The first line of the README's pytest example, a test file of its own."""


def python_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return [block for block in blocks if not block.startswith(TEST_FILE)]


def test_the_readme_pytest_example_passes_as_pasted(pytester: pytest.Pytester) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (example,) = [block for block in blocks if block.startswith(TEST_FILE)]
    pytester.makepyfile(test_support_flow=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_readme_python_examples_run_in_order_and_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert len(blocks) == 10
    scope: dict[str, Any] = {}
    for block in blocks:
        exec(block.replace("engine.close()", ""), scope)
    engine = scope["engine"]
    assert scope["ticket"].to_dict()["number"] == "TICK-1"
    assert (scope["closed"].sla.response_met, scope["closed"].sla.resolution_met) == (True, True)
    history = engine.tickets.events(scope["ticket"].id)
    assert [e.type for e in history if not e.type.startswith("sla_")] == [
        "created", "field_changed", "status_changed", "note_added", "closed",
    ]  # fmt: skip
    figures = scope["figures"]  # the first ticket: priority 2, created and closed that day
    assert (figures.volume[0].created, figures.volume[0].closed) == (1, 1)
    assert figures.sla[2].response_rate == 1.0
    assert scope["report"].imported == 1
    assert [r.error["param"] for r in scope["report"].rejected] == ["description"]
    assert capsys.readouterr().out == "409 ticket_already_closed\n"
    assert (scope["response"].status, scope["response"].json["data"]["number"]) == (201, "TICK-3")
    assert engine.sla.policy.name == "berlin-business-hours"
    desk, urgent = scope["desk"], scope["urgent"]  # the escalation example
    assert (scope["at_risk"], scope["missed"]) == (1, 2)
    assert [
        (e.data["level"], e.data["action"])
        for e in desk.tickets.events(urgent.id)
        if e.type == "escalated"
    ] == [(1, "add_tag"), (1, "notify"), (2, "raise_priority"), (1, "reassign")]
    assert desk.tickets.get(urgent.id).assigned_to == "user_lead"
    pushed, laptop = scope["pushed"], scope["laptop"]  # sync (push)
    assert (pushed.acknowledged, pushed.pending) == (2, 0)
    assert scope["head_office"].tickets.get(scope["there"]).priority == 1
    assert laptop.sync.local_id(scope["there"]) == scope["offline"].id
    assert laptop.sync.status().to_dict()["last_success_at"] == "2025-01-15T09:00:00Z"
    support, outage = scope["support"], scope["outage"]  # routing, escalation, webhooks
    assert scope["routed"] == ("bea", "oli")
    assert [kind for kind, number in scope["heard"] if number == "TICK-2"] == [
        "ticket.created", "ticket.assigned", "ticket.at_risk", "ticket.assigned",
    ]  # fmt: skip
    assert sorted(scope["heard"]) == sorted(
        [("ticket.created", "TICK-1"), ("ticket.assigned", "TICK-1"),
         ("ticket.created", "TICK-2"), ("ticket.assigned", "TICK-2"),
         ("ticket.at_risk", "TICK-2"), ("ticket.assigned", "TICK-2")]
    )  # fmt: skip
    escalated = support.tickets.get(outage.id)
    assert (escalated.assigned_to, escalated.tags) == ("ona", ("at-risk",))
    delivered = support.webhooks.deliveries(status="delivered", limit=1000)
    assert len(delivered) == 6  # every one verified by the receiver (else a 400, a retry)
    weekly = scope["weekly"]  # the notebook: five demo days of 36 tickets
    assert repr(weekly).splitlines()[2:5] == [
        "  created / resolved / closed: 180 / 118 / 88",
        "  first response (median, p90): 0.9 h, 1.8 h (164)",
        "  resolution (median, p90): 3.2 h, 4.9 h (118)",
    ]
    assert repr(weekly.first_response) == (
        "Durations(count=164, mean=3546.2195121951218, median=3120, p90=6600)"
    )
    assert weekly.to_dicts()["sla"]["1"] == {
        "response_met": 20, "response_missed": 5, "resolution_met": 18, "resolution_missed": 5,
        "response_rate": 0.8, "resolution_rate": 0.782608695652174,
    }  # fmt: skip
    frames = scope["frames"]
    assert frames["volume"].to_dict("list") == {
        "created": [36] * 5, "resolved": [23, 23, 22, 25, 25], "closed": [17, 17, 19, 15, 20],
    }  # fmt: skip
    agents = frames["agents"]
    assert agents.loc["user_billing_specialist", "resolution_median"] == 6660
    assert agents.index[-1] is None
    assert agents.loc[None, "breaches"] == 14
    engine.close()


def test_the_readme_route_table_lists_every_route_that_is_served() -> None:
    from ayra_tickets import wire

    rows = re.findall(r"^\| `(GET|POST|PUT|DELETE|PATCH) (/\S*)` \|", README.read_text(), re.M)
    served = {("GET", "/openapi.json")} | {
        (method, pattern.pattern.replace("(?P<id>[^/]+)", "{id}"))
        for pattern, methods in wire.ROUTES
        for method in methods
    }
    assert sorted(rows) == sorted(served)


def test_the_readme_links_and_images_name_files_the_project_has() -> None:
    text = README.read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    for target in targets:
        assert not target.startswith(("http://", "https://")), target  # nothing outside
        if not target.startswith("#"):
            assert (README.parent / target.split("#")[0]).is_file(), target
