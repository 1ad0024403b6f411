"""Optimistic concurrency: every ticket answer carries its version as an ETag; an update
or close sent with a stale If-Match (or expected_version= in Python) is 412
version_mismatch and changes nothing, so no writer silently overwrites another."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ayra_tickets import Engine, TicketError
from tests.conftest import Api, table_counts

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL


def test_every_ticket_answer_carries_its_version_as_an_etag(api: Api) -> None:
    made = api("POST", "/v1/tickets", {"subject": "Versioned", "description": "v1"})
    assert made.headers["ETag"] == '"v1"'
    path = f"/v1/tickets/{made.json['data']['id']}"
    assert api("GET", path).headers["ETag"] == '"v1"'
    changed = api("PUT", path, {"priority": 1})
    assert (changed.json["data"]["version"], changed.headers["ETag"]) == (2, '"v2"')
    assert "ETag" not in api("GET", "/v1/tickets").headers  # a list has no single version


@pytest.mark.parametrize(
    ("route", "body"),
    [("", {"priority": 1, "internal_note": "Escalated"}), ("/close", {"root_cause": "user_error"})],
    ids=["update", "close"],
)
def test_a_stale_if_match_is_412_and_changes_nothing(
    api: Api, route: str, body: dict[str, Any]
) -> None:
    ticket = api.create()
    path = f"/v1/tickets/{ticket['id']}"
    api("PUT", path, {"status": "open"})  # someone else's change: now at v2
    before = (table_counts(api.engine), api("GET", path).json)
    stale = api("PUT", path + route, body, headers={"If-Match": '"v1"'})
    assert stale.status == 412
    assert stale.json["error"] == {
        "type": "precondition_failed",
        "code": "version_mismatch",
        "message": "Ticket is at version 2, not 1",
        "current_version": 2,
    }
    assert (table_counts(api.engine), api("GET", path).json) == before
    fresh = api("PUT", path + route, body, headers={"If-Match": '"v2"'})
    assert (fresh.status, fresh.json["data"]["version"]) == (200, 3)
    assert api("PUT", path, {"tags": ["x"]}, headers={"If-Match": "*"}).status in (200, 409)


@pytest.mark.parametrize("value", ["v1", 'W/"v1"', '"1"', '"v0"', '"v1", "v2"', ""])
def test_a_malformed_if_match_is_400_naming_it(api: Api, value: str) -> None:
    ticket = api.create()
    answer = api("PUT", f"/v1/tickets/{ticket['id']}", {"priority": 1}, headers={"If-Match": value})
    assert answer.status == 400
    assert answer.json["error"]["param"] == "If-Match"
    assert api("GET", f"/v1/tickets/{ticket['id']}").json["data"]["version"] == 1


def test_an_if_match_for_a_missing_ticket_is_404_first(api: Api) -> None:
    answer = api(
        "PUT", "/v1/tickets/ticket_doesnotexist99", {"priority": 1}, headers={"If-Match": '"v1"'}
    )
    assert answer.json["error"]["code"] == "ticket_not_found"


def test_expected_version_in_python(memory_engine: Engine) -> None:
    tickets = memory_engine.tickets
    ticket = tickets.create(subject="Python", description="expected_version=")
    assert tickets.update(ticket.id, expected_version=1, priority=2).version == 2
    with pytest.raises(TicketError) as refused:
        tickets.close(ticket.id, expected_version=1)
    assert (refused.value.status, refused.value.code) == (412, "version_mismatch")
    assert tickets.get(ticket.id).status.value == "new"
    for bad in (0, -1, True, "2", 2.5):
        with pytest.raises(TicketError) as invalid:
            tickets.update(ticket.id, expected_version=bad, priority=1)
        assert invalid.value.to_dict()["error"]["param"] == "expected_version"
    assert tickets.get(ticket.id).version == 2


def race(engine: Engine, ticket_id: str, version: int, notes: list[str]) -> list[str]:
    """Writers that all hold ``version`` change the ticket at once; what each saw."""
    start = threading.Barrier(len(notes))
    outcomes: list[str] = []

    def write(note: str) -> None:
        start.wait()
        try:
            engine.tickets.update(ticket_id, expected_version=version, internal_note=note)
            outcomes.append("won")
        except TicketError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=write, args=(note,)) for note in notes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_of_two_writers_racing_on_one_version_exactly_one_wins(engine: Engine) -> None:
    ticket = engine.tickets.create(subject="Contended", description="Two agents at once")
    for round_ in range(20):
        version = engine.tickets.get(ticket.id).version
        outcomes = race(engine, ticket.id, version, [f"{round_}-a", f"{round_}-b"])
        assert sorted(outcomes) == ["version_mismatch", "won"]
        assert engine.tickets.get(ticket.id).version == version + 1
