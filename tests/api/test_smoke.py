"""A first pass through every endpoint, as the reference's examples use them."""

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL


def test_the_reference_flow_creates_updates_lists_and_closes_a_ticket(api: Api) -> None:
    created = api.create(priority=2, category="billing", tags=["refund", "urgent"])
    assert created["number"] == "TICK-1"
    assert created["priority_label"] == "High"
    updated = api("PUT", f"/v1/tickets/{created['id']}", {"status": "in_progress"})
    assert updated.status == 200
    assert updated.json["data"]["status"] == "in_progress"
    listed = api("GET", "/v1/tickets?status=in_progress&priority=2")
    assert [t["id"] for t in listed.json["data"]] == [created["id"]]
    closed = api("PUT", f"/v1/tickets/{created['id']}/close", {"customer_satisfaction": 9})
    assert closed.status == 200
    assert closed.json["data"]["status"] == "closed"
    assert closed.json["data"]["resolved_at"] == closed.json["data"]["closed_at"]
    again = api("PUT", f"/v1/tickets/{created['id']}/close", {})
    assert again.status == 409
    assert again.json["error"]["code"] == "ticket_already_closed"


def test_body_fields_named_like_python_parameters_are_unknown_parameters(api: Api) -> None:
    made = api.create()
    for path, method in (
        ("/v1/tickets", "POST"),
        (f"/v1/tickets/{made['id']}", "PUT"),
        (f"/v1/tickets/{made['id']}/close", "PUT"),
    ):
        for name in ("self", "ticket_id", "fields"):
            answer = api(method, path, {name: 1})
            assert answer.status == 400, (path, name, answer.json)
            assert answer.json["error"]["code"] == "parameter_unknown"
            assert answer.json["error"]["param"] == name
    assert api("GET", "/v1/tickets?self=1").json["error"]["param"] == "self"
