"""The field table: every list of a ticket's fields is derived from it, and it covers the
ticket value, its SLA clock and the API's ticket object exactly."""

from __future__ import annotations

import attrs

from ayra_tickets.domain.fields import (
    API_ORDER,
    CLOCK_FIELDS,
    PERSISTENT_FIELDS,
    READ_SIDE,
    TICKET_FIELDS,
    Kind,
    wire_value,
)
from ayra_tickets.domain.sla import SlaClock
from ayra_tickets.domain.ticket import Ticket


def test_the_table_describes_every_field_of_a_ticket_once() -> None:
    names = [field.name for field in TICKET_FIELDS]
    assert len(names) == len(set(names))
    stored = {a.name for a in attrs.fields(Ticket)} - {"clock", *READ_SIDE}
    assert set(names) == stored


def test_the_clock_table_describes_every_stored_field_of_an_sla_clock() -> None:
    names = [field.name for field in CLOCK_FIELDS]
    assert set(names) == {a.name for a in attrs.fields(SlaClock)} - {"started_at"}
    assert not any(field.wire or field.logged for field in CLOCK_FIELDS)


def test_the_api_object_names_every_field_it_shows_and_the_read_side_once() -> None:
    shown = [field.name for field in TICKET_FIELDS if field.wire]
    assert sorted(API_ORDER) == sorted([*shown, *READ_SIDE])


def test_the_log_carries_what_a_write_sets_not_what_the_log_itself_says() -> None:
    # a ticket's version and last change are its last event's; its id and number, the row's
    for name in ("id", "number", "version", "updated_at"):
        assert name not in PERSISTENT_FIELDS


def test_a_value_is_written_on_the_wire_as_its_kind_says() -> None:
    by_kind = {field.kind: field for field in TICKET_FIELDS if not field.optional}
    assert by_kind[Kind.NUMBER].name == "number"
    assert wire_value("number", 7) == "TICK-7"
    assert wire_value("tags", ("a", "b")) == ["a", "b"]
    assert wire_value("due_date", None) is None
    assert wire_value("not_a_field", object) is object
