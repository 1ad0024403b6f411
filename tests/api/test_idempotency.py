"""Idempotency keys on create: a retry with the same key and body gives the first
answer again and no second ticket; another body is 409; a refused call leaves the key
unused; keys are forgotten after 24 hours of the engine's clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ayra_tickets import Engine, ManualClock, TicketError
from tests.conftest import Api, table_counts

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL

BODY = {
    "subject": "Charged twice",
    "description": "Order #12345",
    "priority": 2,
    "tags": ["refund"],
}


def create(api: Api, key: str, body: dict[str, Any] = BODY) -> Any:
    return api("POST", "/v1/tickets", body, headers={"Idempotency-Key": key})


def test_a_retry_with_the_same_key_and_body_answers_the_first_call_again(
    api: Api, clock: ManualClock
) -> None:
    first = create(api, "order-12345-refund")
    assert first.status == 201
    counts = table_counts(api.engine)
    clock.advance(hours=23)  # the SLA read at the retry would differ; the answer does not
    again = create(api, "order-12345-refund")
    assert (again.status, again.json) == (first.status, first.json)
    for header in ("Location", "ETag", "Content-Type"):
        assert again.headers[header] == first.headers[header]
    assert table_counts(api.engine) == counts  # no second ticket, no event, no number
    assert api("GET", "/v1/tickets").json["meta"]["total"] == 1


def test_the_same_key_with_another_body_is_409_naming_the_key(api: Api) -> None:
    create(api, "key-1")
    counts = table_counts(api.engine)
    other = create(api, "key-1", {**BODY, "priority": 1})
    assert other.status == 409
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert other.json["error"]["idempotency_key"] == "key-1"
    assert table_counts(api.engine) == counts


def test_a_refused_first_call_does_not_use_the_key_up(api: Api) -> None:
    counts = table_counts(api.engine)
    refused = create(api, "key-2", {"subject": "No description"})
    assert refused.status == 400
    assert table_counts(api.engine) == counts
    made = create(api, "key-2")
    assert made.status == 201
    assert create(api, "key-2").json == made.json


def test_keys_are_forgotten_after_24_hours_of_the_engines_clock(
    api: Api, clock: ManualClock
) -> None:
    first = create(api, "key-3")
    clock.advance(timedelta(hours=24))
    assert create(api, "key-3").json == first.json  # 24 hours on the dot: still the first
    clock.advance(seconds=1)
    later = create(api, "key-3")
    assert later.status == 201
    assert later.json["data"]["id"] != first.json["data"]["id"]
    assert later.json["data"]["number"] == "TICK-2"
    assert create(api, "key-3").json == later.json  # the key now means the second


def test_keys_are_separate_and_calls_without_one_are_not_deduplicated(api: Api) -> None:
    a, b = create(api, "key-a"), create(api, "key-b")
    assert a.json["data"]["id"] != b.json["data"]["id"]
    plain = [api("POST", "/v1/tickets", BODY) for _ in range(2)]
    assert plain[0].json["data"]["id"] != plain[1].json["data"]["id"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_400_naming_the_header(api: Api, key: str) -> None:
    counts = table_counts(api.engine)
    answer = create(api, key)
    assert (answer.status, answer.json["error"]["param"]) == (400, "Idempotency-Key")
    assert table_counts(api.engine) == counts


def test_the_key_is_a_header_not_a_body_field(api: Api) -> None:
    answer = api("POST", "/v1/tickets", {**BODY, "idempotency_key": "k"})
    assert (answer.status, answer.json["error"]["code"]) == (400, "parameter_unknown")
    closed = api("PUT", "/v1/tickets/ticket_doesnotexist99/close", {"expected_version": 1})
    assert closed.json["error"]["code"] == "parameter_unknown"


def test_idempotency_keys_in_python(memory_engine: Engine, clock: ManualClock) -> None:
    tickets = memory_engine.tickets
    first = tickets.create(idempotency_key="py-1", **BODY)
    clock.advance(hours=5)
    again = tickets.create(idempotency_key="py-1", **BODY)
    assert again.to_dict() == first.to_dict()
    assert tickets.count() == 1
    with pytest.raises(TicketError) as reused:
        tickets.create(idempotency_key="py-1", subject="Other", description="Body")
    assert reused.value.code == "idempotency_key_reused"
    with pytest.raises(TicketError) as bad:
        tickets.create(idempotency_key=42, **BODY)  # type: ignore[arg-type]
    assert bad.value.to_dict()["error"]["param"] == "idempotency_key"
