"""Sync's rules, without a database: the commands a write makes, how an answer is
judged, the retry schedule and ``Retry-After``, and how a lost answer is recognised as
applied."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ayra_tickets.domain import ticket as ops
from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.domain.lifecycle import Status
from ayra_tickets.domain.sla import DEFAULT_POLICY
from ayra_tickets.domain.sync import (
    Command,
    already_applied,
    commands_of,
    etag_version,
    object_patch,
    retry_after,
    retry_delay,
    validate_key_env,
    validate_remote,
    verdict,
)
from ayra_tickets.domain.validation import validate_close, validate_create, validate_update
from tests.conftest import START


def made(**fields: Any) -> ops.Ticket:
    body = {"subject": "Printer", "description": "Tray 2", **fields}
    ticket, _ = ops.create("ticket_local", 1, validate_create(body), START, DEFAULT_POLICY)
    return ticket


def updated(ticket: ops.Ticket, **fields: Any) -> list[tuple[str, dict[str, Any], int]]:
    after, events = ops.update(ticket, validate_update(fields), START, DEFAULT_POLICY)
    return [(c.kind, dict(c.patch), c.base_version) for c in commands_of(ticket, after, events)]


def test_a_create_sends_every_field_the_new_ticket_has_a_value_for() -> None:
    ticket = made(priority=1, tags=["a"], due_date="2025-01-16T17:00:00Z", metadata={"k": 1})
    (command,) = commands_of(None, ticket, [])
    assert (command.kind, command.base_version) == ("create", 0)
    assert dict(command.patch) == {
        "subject": "Printer", "description": "Tray 2", "priority": 1, "status": "new",
        "due_date": "2025-01-16T17:00:00Z", "tags": ["a"], "metadata": {"k": 1},
    }  # fmt: skip


def test_an_update_sends_only_what_changed() -> None:
    ticket = made(custom_fields={"plan": "pro", "seats": 3}, tags=["a"])
    assert updated(ticket, subject="Printer", priority=2, tags=["a"]) == [
        ("update", {"priority": 2}, 1)
    ]
    assert updated(ticket, custom_fields={"plan": "pro", "seats": None, "tier": 1}) == [
        ("update", {"custom_fields": {"seats": None, "tier": 1}}, 1)
    ]
    assert updated(ticket, status="in_progress", internal_note="On it") == [
        ("update", {"status": "in_progress", "internal_note": "On it"}, 1)
    ]
    assert updated(ticket, subject="Printer") == []  # no change, no command


def test_an_update_that_closes_is_its_changes_then_a_close() -> None:
    ticket = made(status="in_progress")
    assert updated(ticket, priority=1, status="closed") == [
        ("update", {"priority": 1}, 1),
        ("close", {}, 1),
    ]
    after, events = ops.close(
        ticket, validate_close({"resolution_note": "Fixed", "root_cause": "x"}), START,
        DEFAULT_POLICY,
    )  # fmt: skip
    (close,) = commands_of(ticket, after, events)
    assert (close.kind, dict(close.patch)) == (
        "close",
        {"resolution_note": "Fixed", "root_cause": "x"},
    )
    assert after.status is Status.CLOSED
    assert updated(after, status="reopened", priority=2) == [
        ("update", {"status": "reopened", "priority": 2}, 2)
    ]


def test_an_object_patch_merged_into_the_old_gives_the_new() -> None:
    old = {"a": 1, "b": {"x": 1}, "c": None}
    new = {"a": 1, "b": {"x": 2}, "d": 4}
    patch = object_patch(old, new)
    assert patch == {"b": {"x": 2}, "c": None, "d": 4}
    assert ops.merge_object(old, patch) == new


@pytest.mark.parametrize(
    ("status", "judged"),
    [
        (200, "acknowledged"), (201, "acknowledged"), (None, "retry"), (408, "retry"),
        (429, "retry"), (500, "retry"), (503, "retry"), (409, "conflict"), (412, "conflict"),
        (400, "dead"), (404, "dead"), (413, "dead"), (422, "dead"), (401, "refused"),
        (403, "refused"), (301, "refused"),
    ],
)  # fmt: skip
def test_each_answer_is_judged_by_its_status(status: int | None, judged: str) -> None:
    assert verdict(status) == judged


def test_the_backoff_doubles_with_jitter_up_to_a_ceiling_and_never_before_retry_after() -> None:
    delays = [retry_delay("sync_k", n).total_seconds() for n in range(1, 16)]
    for attempt, delay in enumerate(delays, start=1):
        base = min(2 ** (attempt - 1), 900)
        assert base <= delay <= base * 1.25 + 1
    assert max(delays) <= 900 * 1.25 + 1
    assert retry_delay("sync_k", 3) == retry_delay("sync_k", 3)  # known in advance
    assert {retry_delay(f"sync_{n}", 9) for n in range(20)} != {retry_delay("sync_0", 9)}
    assert retry_delay("sync_k", 1, timedelta(seconds=120)) == timedelta(seconds=120)
    assert retry_delay("sync_k", 12, timedelta(seconds=1)) > timedelta(minutes=15)


def test_retry_after_is_read_as_seconds_or_a_date_and_bounded() -> None:
    assert retry_after("120", START) == timedelta(seconds=120)
    assert retry_after("Wed, 15 Jan 2025 09:05:00 GMT", START) == timedelta(minutes=5)
    assert retry_after("Wed, 15 Jan 2025 08:00:00 GMT", START) == timedelta(0)
    assert retry_after("99999999999", START) == timedelta(days=1)
    for unreadable in (None, "", "soon", "-5", "1.5"):
        assert retry_after(unreadable, START) is None


def command(kind: str, patch: dict[str, Any]) -> Command:
    return Command(
        1, "ticket_local", 1, 2, kind, patch, 1, "sync_k", "v1", 19, "pending", 1, None, START
    )


def test_a_lost_answer_is_recognised_only_by_the_next_version_holding_every_value() -> None:
    update = command("update", {"priority": 1, "custom_fields": {"a": None, "b": 2}})
    remote = {"version": 4, "priority": 1, "custom_fields": {"b": 2}, "status": "open"}
    assert already_applied(update, 3, remote)
    assert not already_applied(update, 2, remote)  # another change came between
    assert not already_applied(update, 3, {**remote, "priority": 2})
    assert not already_applied(update, 3, {**remote, "custom_fields": {"a": 1, "b": 2}})
    noted = command("update", {"internal_note": "Called"})
    note = {"type": "note_added", "version": 4, "data": {"note": "Called"}}
    assert already_applied(noted, 3, {"version": 4}, [note])
    assert not already_applied(noted, 3, {"version": 4}, [{**note, "version": 3}])
    close = command("close", {"root_cause": "x"})
    assert already_applied(close, 3, {"version": 4, "status": "closed", "root_cause": "x"})
    assert not already_applied(close, 3, {"version": 4, "status": "resolved", "root_cause": "x"})


def test_the_remote_and_the_key_variable_are_checked_naming_what_is_wrong() -> None:
    assert validate_remote("https://api.ayra.ai/") == "https://api.ayra.ai"
    assert validate_key_env("AYRA_API_KEY") == "AYRA_API_KEY"
    for remote in ("api.ayra.ai", "https://api.ayra.ai?x", "https://", 7):
        with pytest.raises(ParameterInvalid) as refused:
            validate_remote(remote)
        assert refused.value.param == "remote"
    for name in ("sk_test_abc", "SK_LIVE_x", "1KEY", "A-B", "", None, "x" * 129):
        with pytest.raises(ParameterInvalid) as refused:
            validate_key_env(name)
        assert refused.value.param == "key_env"


def test_an_etag_names_its_version() -> None:
    assert etag_version('"v12"') == 12
    assert etag_version('W/"v3"') == 3
    assert etag_version("v3") is None
    assert etag_version(None) is None
