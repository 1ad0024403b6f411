"""The rules of events out, without a database: the retry schedule, which webhook
events a write makes, signatures and their verification, addresses and names."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.domain.ticket import Event
from ayra_tickets.domain.webhooks import (
    BASE_DELAYS,
    JITTER,
    LONGEST_DELAY,
    MAX_ATTEMPTS,
    RETRY_SPAN,
    SignatureInvalid,
    body,
    breach_key,
    encoded,
    new_delivery_id,
    occurrence_data,
    occurrences,
    payload,
    retry_delay,
    signature_header,
    validate_events,
    validate_url,
    verify,
)

AT = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)


def test_the_schedule_spans_at_least_a_day_doubling_from_a_minute_up_to_four_hours() -> None:
    assert BASE_DELAYS[0] == timedelta(minutes=1)
    assert all(b == min(a * 2, LONGEST_DELAY) for a, b in itertools.pairwise(BASE_DELAYS))
    assert sum(BASE_DELAYS, timedelta()) >= RETRY_SPAN
    assert sum(BASE_DELAYS[:-1], timedelta()) < RETRY_SPAN  # and no longer than needed
    assert MAX_ATTEMPTS == 14


@given(st.text(min_size=1, max_size=40))
def test_each_delay_is_its_base_stretched_by_less_than_a_quarter_and_known_in_advance(
    delivery_id: str,
) -> None:
    total = timedelta()
    for attempt, base in enumerate(BASE_DELAYS, start=1):
        delay = retry_delay(delivery_id, attempt)
        assert delay is not None
        assert delay == retry_delay(delivery_id, attempt)
        assert base <= delay < base * (1 + JITTER)
        assert delay.microseconds == 0
        total += delay
    assert total >= RETRY_SPAN
    assert retry_delay(delivery_id, MAX_ATTEMPTS) is None
    assert retry_delay(delivery_id, 0) is None


def test_deliveries_failing_together_spread_out() -> None:
    delays = {retry_delay(f"whd_{n}", 5) for n in range(50)}
    assert len(delays) > 25


def event(kind: str, **fields: object) -> Event:
    return Event(kind, AT, 2, ticket_id="ticket_1", **fields)  # type: ignore[arg-type]


def test_a_write_makes_one_updated_event_however_many_fields_and_notes_it_changed() -> None:
    found = occurrences(
        "ticket_1",
        [
            event("field_changed", field="priority", old=3, new=1),
            event("sla_applied", data={}),
            event("note_added", data={"note": "n"}),
            event("field_changed", field="assigned_to", old=None, new="agent_1"),
            event("status_changed", field="status", old="new", new="open"),
        ],
    )
    assert [(o.name, len(o.events)) for o in found] == [
        ("ticket.updated", 3),
        ("ticket.assigned", 1),
        ("ticket.status_changed", 1),
    ]


def test_unassigning_is_an_update_but_no_assignment() -> None:
    found = occurrences(
        "ticket_1", [event("field_changed", field="assigned_to", old="agent_1", new=None)]
    )
    assert [o.name for o in found] == ["ticket.updated"]


def test_a_breach_an_escalation_and_a_notification_each_make_their_own_event() -> None:
    due = {"target": "response", "due_at": "2025-01-15T10:00:00Z"}
    notify = {"level": 1, "action": "notify", "event": "oncall.page"}
    found = occurrences(
        "ticket_1",
        [
            event("sla_breached", data=due),
            event("escalated", data=notify),
            event("escalated", data={"level": 1, "action": "add_tag", "tag": "hot"}),
        ],
    )
    assert [o.name for o in found] == [
        "sla.breached",
        "ticket.escalated",
        "oncall.page",
        "ticket.escalated",
    ]
    assert found[0].key == breach_key("ticket_1", due)
    assert occurrence_data(found[0])["target"] == "response"
    assert occurrence_data(found[2])["event"] == "oncall.page"
    assert "level" not in occurrence_data(occurrences("ticket_1", [event("created")])[0])


def test_a_created_ticket_with_an_assignee_is_also_an_assignment() -> None:
    names = [o.name for o in occurrences("t", [event("created", data={"assigned_to": "a"})])]
    assert names == ["ticket.created", "ticket.assigned"]


def test_the_signature_is_the_hmac_sha256_of_the_timestamp_a_dot_and_the_body() -> None:
    body = b'{"id":"whd_1"}'
    expected = hmac.new(b"whsec_secret_secret", b"1700000000." + body, hashlib.sha256)
    assert signature_header("whsec_secret_secret", 1_700_000_000, body) == (
        f"t=1700000000,v1={expected.hexdigest()}"
    )


def test_a_signature_verifies_under_its_secret_only_and_within_the_tolerance() -> None:
    body = b'{"id":"whd_1"}'
    header = signature_header("whsec_secret_secret", 1_700_000_000, body)
    assert verify(body, header, "whsec_secret_secret", now=1_700_000_100) == 1_700_000_000
    assert verify(body.decode(), header, "whsec_secret_secret", now=1_700_000_000)
    for wrong_body, secret, now, why in [
        (body, "whsec_other_secret", 1_700_000_000, "no signature matches"),
        (b'{"id":"whd_2"}', "whsec_secret_secret", 1_700_000_000, "no signature matches"),
        (body, "whsec_secret_secret", 1_700_000_301, "tolerance"),
    ]:
        with pytest.raises(SignatureInvalid, match=why):
            verify(wrong_body, header, secret, now=now)
    for bad in (None, "", "v1=abc", "t=1700000000", "t=x,v1=abc"):
        with pytest.raises(SignatureInvalid):
            verify(body, bad, "whsec_secret_secret", now=1_700_000_000)
    rotated = header.replace("v1=", "v1=00,v1=")  # any v1 that matches will do
    assert verify(body, rotated, "whsec_secret_secret", now=1_700_000_000)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "https://example.com", "https://h.example/x?y=1"]
)
def test_an_http_or_https_url_with_a_host_is_taken(url: str) -> None:
    assert validate_url(url) == url


@pytest.mark.parametrize(
    "url", ["", "example.com/hook", "mailto:a@b", "https://", "http://h/#frag", "http://h:0/"]
)
def test_any_other_url_is_refused(url: str) -> None:
    with pytest.raises(ParameterInvalid):
        validate_url(url)


def test_event_names_are_the_built_in_ones_all_or_dotted_lower_case_words() -> None:
    assert validate_events(["ticket.created", "*", "oncall.page", "ticket.created"]) == (
        "ticket.created",
        "*",
        "oncall.page",
    )
    for bad in (["ticket"], ["ticket..x"], ["Ticket.created"], [1], None, "*"):
        with pytest.raises(ParameterInvalid):
            validate_events(bad)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    ticket=st.dictionaries(st.text(), _JSON, max_size=4),
    extra=st.dictionaries(st.sampled_from(["events", "ticket", "level", "ünï", ""]), _JSON),
    name=st.text(),
)
def test_a_body_built_from_the_encoded_ticket_is_the_payload_encoded(
    ticket: dict[str, object], extra: dict[str, object], name: str
) -> None:
    expected = json.dumps(
        payload("whd_x", name, AT, ticket, extra), ensure_ascii=False, separators=(",", ":")
    )
    assert body("whd_x", name, AT, encoded(ticket), extra) == expected


def test_delivery_ids_sort_by_their_tickets_number_and_differ_within_one() -> None:
    ids = [new_delivery_id(number) for number in (1, 9, 10, 255, 256, 70_000, 10**11)]
    assert ids == sorted(ids)
    assert all(each.startswith("whd_") and len(each) == 34 for each in ids)
    assert new_delivery_id(5) != new_delivery_id(5)
