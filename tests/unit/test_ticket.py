"""The ticket value: what its history records of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from ayra_tickets.domain.fields import wire_value
from ayra_tickets.domain.lifecycle import Status
from ayra_tickets.domain.sla import DEFAULT_POLICY
from ayra_tickets.domain.ticket import PERSISTENT_FIELDS, create

NOW = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)


def test_persistent_is_every_persistent_field_as_json() -> None:
    ticket, _ = create(
        "ticket_abcdefghijkl",
        7,
        {
            "subject": "Printer on fire",
            "description": "Smoke from tray 2",
            "priority": 1,
            "status": "open",
            "category": "technical",
            "contact_id": "contact_1",
            "conversation_id": "conv_1",
            "assigned_to": "user_1",
            "due_date": NOW + timedelta(days=1),
            "tags": ["hardware", "urgent"],
            "custom_fields": {"floor": 3},
            "metadata": {"source": "email"},
        },
        NOW,
        DEFAULT_POLICY,
    )
    closed = attrs.evolve(
        ticket,
        status=Status.CLOSED,
        resolution_note="Replaced the fuser",
        customer_satisfaction=9,
        resolution_time=45,
        root_cause="hardware_fault",
        resolved_at=NOW + timedelta(hours=2),
        closed_at=NOW + timedelta(hours=3),
        reopened_count=1,
    )
    for value in (ticket, closed):
        expected = {name: wire_value(name, getattr(value, name)) for name in PERSISTENT_FIELDS}
        assert value.persistent() == expected
        assert list(value.persistent()) == list(PERSISTENT_FIELDS)
    assert closed.persistent()["closed_at"] == "2025-01-15T12:00:00Z"
    assert closed.persistent()["tags"] == ["hardware", "urgent"]
