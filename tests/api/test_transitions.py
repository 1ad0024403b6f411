"""Every cell of the lifecycle's 8x8 transition table, through ``PUT /v1/tickets/{id}``.

The expected table is the spec's, written out here by hand (not imported from the
package), so that a wrong table in the package makes these tests fail. Each cell gets a
ticket into its ``from`` status by allowed moves, then asks for ``{"status": to}``.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest

from ayra_tickets import ManualClock
from tests import contract
from tests.conftest import Api, table_counts

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL

SPEC_TRANSITIONS = contract.TRANSITIONS
STATUSES = list(SPEC_TRANSITIONS)
CELLS = list(product(STATUSES, STATUSES))

SAME = [(a, b) for a, b in CELLS if a == b]
ALLOWED = [(a, b) for a, b in CELLS if a != b and b in SPEC_TRANSITIONS[a]]
FORBIDDEN = [(a, b) for a, b in CELLS if a != b and b not in SPEC_TRANSITIONS[a]]

# Allowed moves that bring a new ticket into each status; "close" is the close endpoint.
ROUTE_TO: dict[str, list[str]] = {
    "new": [],
    "open": ["open"],
    "in_progress": ["in_progress"],
    "waiting_on_customer": ["waiting_on_customer"],
    "waiting_on_third_party": ["waiting_on_third_party"],
    "resolved": ["in_progress", "resolved"],
    "closed": ["close"],
    "reopened": ["close", "reopened"],
}


def _ids(cells: list[tuple[str, str]]) -> list[str]:
    return [f"{a}->{b}" for a, b in cells]


def ticket_in(api: Api, clock: ManualClock, status: str) -> str:
    """A new ticket brought into ``status`` by allowed moves; the clock then moves on."""
    ticket_id: str = api.create()["id"]
    for step in ROUTE_TO[status]:
        if step == "close":
            response = api("PUT", f"/v1/tickets/{ticket_id}/close")
        else:
            response = api("PUT", f"/v1/tickets/{ticket_id}", {"status": step})
        assert response.status == 200, response.json
    assert api("GET", f"/v1/tickets/{ticket_id}").json["data"]["status"] == status
    clock.advance(hours=1)
    return ticket_id


def read(api: Api, ticket_id: str) -> dict[str, Any]:
    ticket: dict[str, Any] = api("GET", f"/v1/tickets/{ticket_id}").json["data"]
    return ticket


def event_count(api: Api, ticket_id: str) -> int:
    """How many changes the ticket's history records (its SLA audit events aside)."""
    events = api("GET", f"/v1/tickets/{ticket_id}/events").json["data"]
    return sum(not event["type"].startswith("sla_") for event in events)


def test_the_three_kinds_of_cells_cover_the_whole_table() -> None:
    assert len(CELLS) == 64
    assert len(SAME) + len(ALLOWED) + len(FORBIDDEN) == 64
    assert len(SAME) == 8
    assert not any(b == "new" for _, b in ALLOWED)


@pytest.mark.parametrize(("current", "requested"), ALLOWED, ids=_ids(ALLOWED))
def test_an_allowed_move_answers_with_the_new_status(
    api: Api, clock: ManualClock, current: str, requested: str
) -> None:
    ticket_id = ticket_in(api, clock, current)
    before = read(api, ticket_id)
    events_before = event_count(api, ticket_id)

    response = api("PUT", f"/v1/tickets/{ticket_id}", {"status": requested})

    assert response.status == 200, response.json
    after = response.json["data"]
    assert after["status"] == requested
    assert after["version"] == before["version"] + 1
    assert after["updated_at"] == "2025-01-15T10:00:00Z"
    assert read(api, ticket_id) == after
    assert event_count(api, ticket_id) == events_before + 1
    if requested == "closed":
        assert after["closed_at"] == "2025-01-15T10:00:00Z"
        assert after["resolved_at"] is not None
    if requested == "resolved":
        assert after["resolved_at"] == "2025-01-15T10:00:00Z"
    if requested == "reopened":
        assert after["reopened_count"] == before["reopened_count"] + 1
        assert after["closed_at"] is None


@pytest.mark.parametrize(("current", "requested"), SAME, ids=_ids(SAME))
def test_setting_the_same_status_again_changes_nothing(
    api: Api, clock: ManualClock, current: str, requested: str
) -> None:
    ticket_id = ticket_in(api, clock, current)
    before = read(api, ticket_id)
    counts = table_counts(api.engine)
    events_before = event_count(api, ticket_id)

    response = api("PUT", f"/v1/tickets/{ticket_id}", {"status": requested})

    assert response.status == 200, response.json
    assert response.json["data"] == before
    assert response.json["data"]["version"] == before["version"]
    assert response.json["data"]["updated_at"] == before["updated_at"]
    assert read(api, ticket_id) == before
    assert event_count(api, ticket_id) == events_before
    assert table_counts(api.engine) == counts


@pytest.mark.parametrize(("current", "requested"), FORBIDDEN, ids=_ids(FORBIDDEN))
def test_a_forbidden_move_is_a_conflict_and_changes_nothing(
    api: Api, clock: ManualClock, current: str, requested: str
) -> None:
    ticket_id = ticket_in(api, clock, current)
    before = read(api, ticket_id)
    counts = table_counts(api.engine)

    response = api("PUT", f"/v1/tickets/{ticket_id}", {"status": requested})

    assert response.status == 409, response.json
    error = response.json["error"]
    assert error["type"] == "conflict"
    assert error["code"] == "invalid_status_transition"
    assert (error["from"], error["to"]) == (current, requested)
    assert read(api, ticket_id) == before
    assert table_counts(api.engine) == counts


@pytest.mark.parametrize(
    "json",
    [
        {"subject": "Printer still on fire"},
        {"internal_note": "Customer called again"},
        {"status": "closed", "priority": 1},
        {"status": "open", "tags": ["again"]},
        {"status": "new", "category": "hardware"},
    ],
)
def test_a_closed_ticket_refuses_any_other_field_unless_reopened(
    api: Api, clock: ManualClock, json: dict[str, Any]
) -> None:
    ticket_id = ticket_in(api, clock, "closed")
    before = read(api, ticket_id)
    counts = table_counts(api.engine)

    response = api("PUT", f"/v1/tickets/{ticket_id}", json)

    assert response.status == 409, response.json
    assert response.json["error"]["type"] == "conflict"
    assert response.json["error"]["code"] == "ticket_closed"
    assert read(api, ticket_id) == before
    assert table_counts(api.engine) == counts


def test_a_reopen_may_carry_other_fields(api: Api, clock: ManualClock) -> None:
    ticket_id = ticket_in(api, clock, "closed")
    body = {
        "status": "reopened",
        "subject": "Printer on fire again",
        "priority": 1,
        "tags": ["recurring"],
        "internal_note": "Same tray as last time",
    }

    response = api("PUT", f"/v1/tickets/{ticket_id}", body)

    assert response.status == 200, response.json
    ticket = response.json["data"]
    assert ticket["status"] == "reopened"
    assert ticket["subject"] == "Printer on fire again"
    assert ticket["priority"] == 1
    assert ticket["tags"] == ["recurring"]
    assert read(api, ticket_id) == ticket


def test_an_empty_update_of_a_closed_ticket_changes_nothing(api: Api, clock: ManualClock) -> None:
    ticket_id = ticket_in(api, clock, "closed")
    before = read(api, ticket_id)
    counts = table_counts(api.engine)

    response = api("PUT", f"/v1/tickets/{ticket_id}", {})

    assert response.status == 200, response.json
    assert response.json["data"] == before
    assert table_counts(api.engine) == counts
