"""Sync, first step: the outbox of commands and push, against ``ayra-tickets serve``
(``LocalServer``) on loopback as the remote, with a fault-injecting proxy between them
(``tests/faults.py``): requests dropped before they arrive, answers dropped after the
remote committed, 429 with ``Retry-After``, 5xx, refusals. Each local write is queued
in its own transaction; a push sends each ticket's commands in order and never makes a
second ticket or applies a change twice."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ayra_tickets import Engine, ManualClock, TicketError
from ayra_tickets.domain.errors import ParameterInvalid
from ayra_tickets.domain.sync import API_VERSION, SyncUnavailable
from ayra_tickets.storage.sqlite.schema import SCHEMA_VERSION
from tests.backends import rows
from tests.conftest import START
from tests.faults import DROP_ANSWER, DROP_REQUEST, DUPLICATE, FaultProxy, writes

pytestmark = pytest.mark.both_backends

KEY_ENV = "AYRA_TEST_REMOTE_KEY"
SYNC_TABLES = ("sync_settings", "sync_tickets", "sync_commands", "sync_conflicts")


@pytest.fixture
def synced(
    engine: Engine, remote: Engine, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    """The local engine, syncing with the remote through the proxy."""
    monkeypatch.setenv(KEY_ENV, remote.keys.create())
    engine.sync.configure(remote=proxy.url, key_env=KEY_ENV)
    return engine


def pushed(synced: Engine, *subjects: str) -> list[Any]:
    """Tickets made and pushed (the remote has them)."""
    made = [synced.tickets.create(subject=subject, description="d") for subject in subjects]
    assert synced.sync.run().pending == 0
    return made


def remote_tickets(remote: Engine) -> list[dict[str, Any]]:
    return [t.to_dict() for t in remote.tickets.list(per_page=100, sort_order="asc").data]


def sync_rows(engine: Engine) -> dict[str, int]:
    return {table: rows(engine, f"SELECT count(*) FROM {table}")[0][0] for table in SYNC_TABLES}


def changes(remote: Engine, remote_id: str) -> list[tuple[str, Any]]:
    """The remote ticket's history, as (type, new value or note), without SLA events."""
    return [
        (e.type, e.new if e.field else (e.data or {}).get("note"))
        for e in remote.tickets.events(remote_id)
        if not e.type.startswith("sla_")
    ]


# -- the outbox --------------------------------------------------------------------------


def test_nothing_is_queued_while_sync_is_not_configured(engine: Engine) -> None:
    ticket = engine.tickets.create(subject="Offline", description="Not synced")
    engine.tickets.update(ticket.id, priority=1, internal_note="still local")
    engine.tickets.close(ticket.id)
    assert sync_rows(engine) == dict.fromkeys(SYNC_TABLES, 0)
    assert engine.sync.status().to_dict()["configured"] is False
    with pytest.raises(SyncUnavailable, match="not configured"):
        engine.sync.run()


@pytest.mark.sqlite_only
def test_a_write_without_sync_configured_runs_no_statement_of_sync(engine: Engine) -> None:
    engine.tickets.create(subject="Warm", description="the caches")
    ran: list[str] = []
    engine.db.conn.set_trace_callback(ran.append)
    try:
        ticket = engine.tickets.create(subject="Offline", description="Not synced")
        engine.tickets.update(ticket.id, status="in_progress")
        engine.tickets.close(ticket.id)
    finally:
        engine.db.conn.set_trace_callback(None)
    assert ran
    assert not [sql for sql in ran if "sync_" in sql]


def test_each_write_is_queued_with_its_change_as_a_patch(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    before = engine.tickets.create(subject="Made before", description="d")
    synced: Engine = request.getfixturevalue("synced")
    ticket = synced.tickets.create(
        subject="Refund", description="Twice", tags=["billing"], custom_fields={"plan": "pro"}
    )
    synced.tickets.update(
        ticket.id, status="in_progress", custom_fields={"plan": None, "seat": 3},
        internal_note="Called the bank",
    )  # fmt: skip
    synced.tickets.update(ticket.id, status="resolved", priority=1)
    synced.tickets.close(ticket.id, resolution_note="Refunded", customer_satisfaction=9)
    queued = synced.sync.commands(ticket=ticket.id)
    assert [(c.seq, c.kind, dict(c.patch), c.base_version) for c in queued] == [
        (1, "create", {"subject": "Refund", "description": "Twice", "priority": 3,
                       "status": "new", "tags": ["billing"], "custom_fields": {"plan": "pro"}}, 0),
        (2, "update", {"custom_fields": {"plan": None, "seat": 3}, "status": "in_progress",
                       "internal_note": "Called the bank"}, 1),
        (3, "update", {"priority": 1, "status": "resolved"}, 2),
        (4, "close", {"resolution_note": "Refunded", "customer_satisfaction": 9}, 3),
    ]  # fmt: skip
    assert {(c.status, c.api_version, c.schema_version) for c in queued} == {
        ("pending", API_VERSION, SCHEMA_VERSION)
    }
    keys = [c.idempotency_key for c in queued]
    assert len(set(keys)) == 4
    assert all(k.startswith("sync_") for k in keys)
    # A ticket made before sync was configured is not synced, nor are its changes.
    synced.tickets.update(before.id, priority=1)
    assert synced.sync.commands(ticket=before.id) == []
    assert synced.sync.status().pending == 4


def test_a_refused_write_queues_nothing(synced: Engine) -> None:
    ticket = synced.tickets.create(subject="Printer", description="Tray 2")
    synced.tickets.close(ticket.id)
    counted = sync_rows(synced)
    with pytest.raises(TicketError):
        synced.tickets.update(ticket.id, subject="Closed tickets take no change")
    with pytest.raises(TicketError):
        synced.tickets.close(ticket.id)
    assert sync_rows(synced) == counted


# -- pushing -----------------------------------------------------------------------------


def test_a_push_makes_the_remote_ticket_and_the_local_id_resolves_to_it(
    synced: Engine, remote: Engine, proxy: FaultProxy
) -> None:
    ticket = synced.tickets.create(subject="Login fails", description="Since 9:00")
    assert synced.sync.remote_id(ticket.id) is None  # until the remote answers
    synced.tickets.update(ticket.id, status="in_progress", internal_note="On it")
    synced.tickets.close(ticket.id, resolution_note="Reset", root_cause="user_error")
    report = synced.sync.run()
    assert (report.attempted, report.acknowledged, report.pending) == (3, 3, 0)
    remote_id = synced.sync.remote_id(ticket.id)
    assert remote_id is not None
    assert remote_id != ticket.id
    assert synced.sync.remote_id(ticket.number_label) == remote_id
    assert synced.sync.local_id(remote_id) == ticket.id
    assert synced.tickets.get(ticket.id).id == ticket.id  # the local id stays
    link = synced.sync.link(ticket.id)
    assert link is not None
    assert (link.remote_number, link.remote_version) == ("TICK-1", 3)
    # Every later command named the remote's id, and held it to the version it knew.
    sent = [(s.method, s.path, s.headers.get("If-Match")) for s in proxy.seen]
    assert sent == [
        ("POST", "/v1/tickets", None),
        ("PUT", f"/v1/tickets/{remote_id}", '"v1"'),
        ("PUT", f"/v1/tickets/{remote_id}/close", '"v2"'),
    ]
    assert "Idempotency-Key" in proxy.seen[0].headers
    shown = remote.tickets.get(remote_id)
    assert (shown.status, shown.resolution_note, shown.root_cause) == (
        "closed", "Reset", "user_error",
    )  # fmt: skip
    assert changes(remote, remote_id) == [
        ("created", None), ("status_changed", "in_progress"), ("note_added", "On it"),
        ("closed", "closed"),
    ]  # fmt: skip
    assert [c.status for c in synced.sync.commands(ticket=ticket.id)] == ["done"] * 3
    status = synced.sync.status()
    assert (status.pending, status.oldest_pending_age, status.last_success_at) == (0, None, START)


def test_an_answer_lost_after_the_remote_made_the_ticket_makes_no_second_one(
    synced: Engine, remote: Engine, proxy: FaultProxy, clock: ManualClock
) -> None:
    ticket = synced.tickets.create(subject="Offline", description="Made on a train")
    synced.tickets.update(ticket.id, priority=1)
    proxy.add(DROP_ANSWER)
    first = synced.sync.run()
    assert (first.attempted, first.retried, first.pending) == (1, 1, 2)
    assert len(remote_tickets(remote)) == 1  # the remote made it; nobody heard
    assert synced.sync.run().attempted == 0  # not before its backoff
    clock.advance(timedelta(seconds=2))
    again = synced.sync.run()
    assert (again.attempted, again.acknowledged, again.pending) == (2, 2, 0)
    made = remote_tickets(remote)
    assert len(made) == 1
    assert made[0]["priority"] == 1
    assert synced.sync.remote_id(ticket.id) == made[0]["id"]
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert len(posts) == 2
    assert len({s.headers["Idempotency-Key"] for s in posts}) == 1


def test_an_answer_lost_after_the_remote_applied_an_update_is_not_applied_twice(
    synced: Engine, remote: Engine, proxy: FaultProxy, clock: ManualClock
) -> None:
    (ticket,) = pushed(synced, "Invoice")
    remote_id = synced.sync.remote_id(ticket.id)
    assert remote_id is not None
    synced.tickets.update(ticket.id, tags=["refund"], internal_note="Asked finance")
    synced.tickets.close(ticket.id, customer_satisfaction=7)
    proxy.add(DROP_ANSWER, lambda method, path, headers: method == "PUT")
    assert synced.sync.run().retried == 1
    clock.advance(timedelta(seconds=2))
    report = synced.sync.run()
    # The retry met 412 (its If-Match no longer held), read the remote ticket, found
    # its change there, and went on: not a conflict, and not applied a second time.
    assert (report.recovered, report.conflicts, report.pending) == (1, 0, 0)
    assert changes(remote, remote_id) == [
        ("created", None), ("field_changed", ["refund"]), ("note_added", "Asked finance"),
        ("closed", "closed"),
    ]  # fmt: skip
    assert remote.tickets.get(remote_id).customer_satisfaction == 7
    assert synced.sync.status().conflicts == 0


def test_a_412_whose_check_goes_unanswered_is_tried_again_not_taken_for_a_conflict(
    synced: Engine, remote: Engine, proxy: FaultProxy, clock: ManualClock
) -> None:
    (ticket,) = pushed(synced, "Checked")
    synced.tickets.update(ticket.id, priority=1)
    proxy.add(DROP_ANSWER, lambda method, path, headers: method == "PUT")
    proxy.add(DROP_REQUEST, lambda method, path, headers: method == "GET")
    assert synced.sync.run().retried == 1  # the answer lost
    clock.advance(timedelta(seconds=2))
    second = synced.sync.run()  # 412, and the read of the remote ticket lost
    assert (second.retried, second.conflicts) == (1, 0)
    clock.advance(timedelta(seconds=5))
    third = synced.sync.run()
    assert (third.recovered, third.pending, third.conflicts) == (1, 0, 0)
    assert remote.tickets.get(synced.sync.remote_id(ticket.id)).version == 2  # type: ignore[arg-type]


def test_a_request_dropped_before_it_arrives_is_sent_again_after_a_growing_backoff(
    synced: Engine, remote: Engine, proxy: FaultProxy, clock: ManualClock
) -> None:
    ticket = synced.tickets.create(subject="Down", description="500s")
    for _ in range(3):
        proxy.add(DROP_REQUEST)
    waits = []
    for _ in range(3):
        assert synced.sync.run().retried == 1
        (command,) = synced.sync.commands(ticket=ticket.id)
        assert command.next_attempt_at is not None
        waits.append(command.next_attempt_at - clock.now())
        assert "RemoteDisconnected" in (command.last_error or "")
        clock.advance(waits[-1])
    assert [w.total_seconds() for w in waits] == [
        pytest.approx(1, abs=1), pytest.approx(2, abs=1), pytest.approx(4, abs=1),
    ]  # fmt: skip
    assert waits[0] < waits[1] < waits[2]
    assert synced.sync.run().acknowledged == 1
    assert len(remote_tickets(remote)) == 1
    assert synced.sync.commands(ticket=ticket.id)[0].attempts == 4


def test_a_429_is_sent_again_only_after_its_retry_after_and_a_5xx_after_a_backoff(
    synced: Engine, remote: Engine, proxy: FaultProxy, clock: ManualClock
) -> None:
    ticket = synced.tickets.create(subject="Busy", description="Rate limited")
    proxy.add((429, {"Retry-After": "120"}))
    proxy.add((503, {}))
    assert synced.sync.run().retried == 1
    (command,) = synced.sync.commands(ticket=ticket.id)
    assert (command.last_status, command.next_attempt_at) == (429, START + timedelta(seconds=120))
    clock.advance(timedelta(seconds=119))
    assert synced.sync.run().attempted == 0
    clock.advance(timedelta(seconds=1))
    assert synced.sync.run().retried == 1
    (command,) = synced.sync.commands(ticket=ticket.id)
    assert command.last_status == 503
    assert "injected" in (command.last_error or "")
    assert synced.sync.status().last_success_at is None  # no round the remote answered whole
    clock.advance(timedelta(minutes=1))
    assert synced.sync.run().acknowledged == 1
    assert len(remote_tickets(remote)) == 1
    assert synced.sync.status().last_success_at == clock.now()


def test_commands_go_in_order_per_ticket_and_tickets_side_by_side(
    synced: Engine, remote: Engine, proxy: FaultProxy
) -> None:
    tickets = [synced.tickets.create(subject=f"T{n}", description="d") for n in range(8)]
    for step in range(4):
        for ticket in tickets:
            synced.tickets.update(ticket.id, priority=4 - step % 4, internal_note=f"step {step}")
    busy = threading.Semaphore(0)
    most = [0]
    inside = [0]
    lock = threading.Lock()
    send = synced.sync._send

    def counting(*args: Any, **kwargs: Any) -> Any:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            busy.release()
            return send(*args, **kwargs)
        finally:
            with lock:
                inside[0] -= 1

    synced.sync._send = counting  # type: ignore[method-assign]
    report = synced.sync.run()
    assert (report.acknowledged, report.tickets, report.pending) == (40, 8, 0)
    assert 1 < most[0] <= synced.sync.workers  # side by side, and bounded
    for ticket in tickets:
        remote_id = synced.sync.remote_id(ticket.id)
        assert remote_id is not None
        notes = [new for kind, new in changes(remote, remote_id) if kind == "note_added"]
        assert notes == [f"step {step}" for step in range(4)]
        puts = [s.body["internal_note"] for s in proxy.seen if s.path.endswith(remote_id)]
        assert puts == notes


def test_a_dead_letter_does_not_block_another_ticket_nor_its_own_later_commands(
    synced: Engine, remote: Engine, proxy: FaultProxy
) -> None:
    refused, other = pushed(synced, "Refused", "Other")
    synced.tickets.update(refused.id, category="billing")
    synced.tickets.update(refused.id, priority=1)
    synced.tickets.update(other.id, priority=2)
    gone = synced.sync.remote_id(refused.id)
    proxy.add((422, {}), lambda method, path, headers: path == f"/v1/tickets/{gone}")
    report = synced.sync.run()
    assert (report.dead, report.acknowledged, report.pending) == (1, 2, 0)
    (dead,) = synced.sync.dead_letters()
    assert (dead.ticket_id, dict(dead.patch), dead.last_status) == (
        refused.id, {"category": "billing"}, 422,
    )  # fmt: skip
    assert "injected" in (dead.last_error or "")
    assert remote.tickets.get(gone).priority == 1  # its later command went on
    assert remote.tickets.get(synced.sync.remote_id(other.id)).priority == 2  # type: ignore[arg-type]
    assert synced.sync.status().dead == 1
    synced.tickets.update(refused.id, subject="Queued after the dead letter")
    assert synced.sync.run().acknowledged == 1  # the dead letter holds nothing back
    assert remote.tickets.get(gone).subject == "Queued after the dead letter"


def test_a_dead_create_holds_its_tickets_later_commands_and_an_import_queues_nothing(
    synced: Engine, remote: Engine, proxy: FaultProxy
) -> None:
    ticket = synced.tickets.create(subject="Refused", description="by the remote")
    synced.tickets.update(ticket.id, priority=1)
    proxy.add((400, {}), lambda method, path, headers: method == "POST")
    report = synced.sync.run()
    assert (report.dead, report.attempted, report.pending) == (1, 1, 1)
    assert synced.sync.run().attempted == 0  # no remote id: the update waits
    assert [c.status for c in synced.sync.commands(ticket=ticket.id)] == ["dead", "pending"]
    assert synced.sync.remote_id(ticket.id) is None
    imported = synced.tickets.import_many([{"subject": "Imported", "description": "bulk"}])
    assert imported.imported == 1
    assert synced.sync.status().pending == 1
    assert remote_tickets(remote) == []


def test_a_change_made_on_the_remote_meanwhile_is_a_conflict_that_holds_only_its_ticket(
    synced: Engine, remote: Engine, proxy: FaultProxy
) -> None:
    contested, calm = pushed(synced, "Contested", "Calm")
    remote.tickets.update(synced.sync.remote_id(contested.id), priority=1)  # type: ignore[arg-type]
    synced.tickets.update(contested.id, priority=4)
    synced.tickets.update(contested.id, subject="Held behind the conflict")
    synced.tickets.update(calm.id, priority=2)
    report = synced.sync.run()
    assert (report.conflicts, report.acknowledged, report.pending) == (1, 1, 1)
    (conflict,) = synced.sync.conflicts()
    assert (conflict.ticket_id, conflict.status) == (contested.id, 412)
    assert conflict.answer is not None
    assert conflict.answer["error"]["code"] == "version_mismatch"
    assert [c.status for c in synced.sync.commands(ticket=contested.id)] == [
        "done", "conflict", "pending",
    ]  # fmt: skip
    status = synced.sync.status()
    assert (status.conflicts, status.blocked, status.pending) == (1, 1, 1)
    assert synced.sync.run().attempted == 0  # the held ticket's queue waits for the merge
    contested_remote = remote.tickets.get(synced.sync.remote_id(contested.id))  # type: ignore[arg-type]
    assert (contested_remote.priority, contested_remote.subject) == (1, "Contested")


def test_a_replayed_request_makes_no_second_ticket_and_no_second_change(
    synced: Engine, remote: Engine, proxy: FaultProxy
) -> None:
    ticket = synced.tickets.create(subject="Replayed", description="by a proxy")
    synced.tickets.update(ticket.id, priority=1)
    synced.tickets.close(ticket.id)
    for _ in range(3):
        proxy.add(DUPLICATE, lambda method, path, headers: method != "GET")
    report = synced.sync.run()
    # The remote saw each request twice: the create's replay answered its first ticket,
    # and the update's and close's were refused (412), then found applied.
    assert (report.acknowledged, report.recovered, report.conflicts) == (3, 2, 0)
    (made,) = remote_tickets(remote)
    assert (made["priority"], made["status"], made["version"]) == (1, "closed", 3)
    assert [kind for kind, _ in changes(remote, made["id"])] == [
        "created", "field_changed", "closed",
    ]  # fmt: skip


def test_a_2xx_without_a_ticket_is_kept_and_sent_again(
    synced: Engine, remote: Engine, proxy: FaultProxy, clock: ManualClock
) -> None:
    ticket = synced.tickets.create(subject="Odd answer", description="from a gateway")
    proxy.add((200, {}))
    assert synced.sync.run().retried == 1
    (command,) = synced.sync.commands(ticket=ticket.id)
    assert (command.status, command.last_status) == ("pending", 200)
    clock.advance(timedelta(seconds=2))
    assert synced.sync.run().acknowledged == 1
    assert len(remote_tickets(remote)) == 1


@pytest.mark.sqlite_only
def test_the_changes_escalation_and_routing_make_are_queued_too(
    synced: Engine, clock: ManualClock
) -> None:
    from ayra_tickets import EscalationLevel, RaisePriority

    synced.agents.add("ana", "Ana", groups=["desk"])
    synced.escalations.configure(
        {3: [EscalationLevel(on="response_due", after=timedelta(0), actions=[RaisePriority()])]}
    )
    ticket = synced.tickets.create(subject="Waits", description="unanswered")
    clock.advance(timedelta(days=3))
    assert synced.run_due()["escalations"] == 1
    synced.tickets.update(ticket.id, assigned_to="ana")
    queued = [(c.kind, dict(c.patch)) for c in synced.sync.commands(ticket=ticket.id)]
    assert queued[1:] == [("update", {"priority": 2}), ("update", {"assigned_to": "ana"})]


def test_listing_commands_refuses_what_is_wrong_naming_it(synced: Engine) -> None:
    for given, param in (({"status": "sent"}, "status"), ({"limit": 0}, "limit"),
                         ({"limit": True}, "limit"), ({"ticket": 7}, "ticket")):  # fmt: skip
        with pytest.raises(ParameterInvalid) as refused:
            synced.sync.commands(**given)
        assert refused.value.param == param
    assert synced.sync.commands(ticket="ticket_nobody") == []
    assert synced.sync.remote_id("TICK-99") is None


def test_a_line_whose_hold_may_lapse_mid_push_is_let_go_and_claimed_anew(
    synced: Engine, remote: Engine, clock: ManualClock
) -> None:
    ticket = synced.tickets.create(subject="Slow remote", description="4 minutes a request")
    synced.tickets.update(ticket.id, priority=1)
    synced.tickets.update(ticket.id, priority=2)
    send = synced.sync._send

    def slow(*args: Any, **kwargs: Any) -> Any:
        clock.advance(timedelta(minutes=4))
        return send(*args, **kwargs)

    synced.sync._send = slow  # type: ignore[method-assign]
    report = synced.sync.run()
    # A hold lasts 5 minutes: once too little of it was left for an answer (8 minutes
    # in), the rest of the line was let go, so that no other process could take it
    # while this one was still sending, and claimed anew.
    assert (report.acknowledged, report.tickets, report.pending) == (3, 2, 0)
    assert remote.tickets.get(synced.sync.remote_id(ticket.id)).priority == 2  # type: ignore[arg-type]


# -- refusals ----------------------------------------------------------------------------


def test_a_push_without_its_key_is_refused_and_sends_nothing(
    synced: Engine, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced.tickets.create(subject="Waiting", description="for a key")
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SyncUnavailable, match=KEY_ENV):
        synced.sync.run()
    monkeypatch.setenv(KEY_ENV, "sk_test_two words\r\nX-Injected: 1")
    with pytest.raises(SyncUnavailable, match="printable ASCII"):
        synced.sync.run()
    assert proxy.seen == []
    assert synced.sync.status().pending == 1


def test_a_key_the_remote_refuses_stops_the_round_and_keeps_every_command(
    synced: Engine, remote: Engine, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        synced.tickets.create(subject=f"T{n}", description="d")
    monkeypatch.setenv(KEY_ENV, "sk_test_not_a_key_of_the_remote")
    report = synced.sync.run()
    assert report.refused is not None
    assert KEY_ENV in report.refused
    assert (report.pending, report.dead) == (3, 0)
    assert {c.attempts for c in synced.sync.commands()} == {0}  # the refusal counted nothing
    monkeypatch.setenv(KEY_ENV, remote.keys.create())
    assert synced.sync.run().acknowledged == 3


def test_configure_refuses_what_is_wrong_naming_it_and_changes_nothing(engine: Engine) -> None:
    wrong = [
        ({"remote": "ftp://example.com", "key_env": "K"}, "remote"),
        ({"remote": "https://", "key_env": "K"}, "remote"),
        ({"remote": "https://api.ayra.ai?x=1", "key_env": "K"}, "remote"),
        ({"remote": "https://api.ayra.ai", "key_env": "sk_live_abc123xyz789"}, "key_env"),
        ({"remote": "https://api.ayra.ai", "key_env": "1BAD"}, "key_env"),
        ({"remote": "https://api.ayra.ai", "key_env": ""}, "key_env"),
        ({"remote": None, "key_env": "K"}, "remote"),
    ]
    for given, param in wrong:
        with pytest.raises(ParameterInvalid) as refused:
            engine.sync.configure(**given)
        assert refused.value.param == param, given
    assert sync_rows(engine) == dict.fromkeys(SYNC_TABLES, 0)
    engine.sync.configure(remote="https://api.ayra.ai/v1/", key_env="AYRA_KEY")
    assert engine.sync.config is not None
    assert engine.sync.config.remote == "https://api.ayra.ai"
    engine.tickets.create(subject="Queued", description="for api.ayra.ai")
    with pytest.raises(ParameterInvalid, match="cannot change") as moved:
        engine.sync.configure(remote="https://elsewhere.example", key_env="AYRA_KEY")
    assert moved.value.param == "remote"
    engine.sync.configure(remote="https://api.ayra.ai", key_env="OTHER_KEY")  # the key may
    assert engine.sync.config.key_env == "OTHER_KEY"


@pytest.mark.sqlite_only
def test_the_remote_key_is_never_written_to_the_file(
    synced: Engine, remote: Engine, db_path: str
) -> None:
    import os

    secret = os.environ[KEY_ENV]
    synced.tickets.create(subject="Pushed", description="with the key")
    assert synced.sync.run().acknowledged == 1
    synced.storage.close()
    stored = b"".join(p.read_bytes() for p in Path(db_path).parent.glob("tickets.db*"))
    assert secret.encode() not in stored
    assert KEY_ENV.encode() in stored


# -- another process at once -------------------------------------------------------------


def test_two_engines_pushing_at_once_send_each_command_once(
    synced: Engine, engine_address: str, clock: ManualClock, remote: Engine, proxy: FaultProxy
) -> None:
    tickets = [synced.tickets.create(subject=f"T{n}", description="d") for n in range(12)]
    for ticket in tickets:
        synced.tickets.update(ticket.id, priority=1)
    with Engine.open(engine_address, clock=clock) as second:
        reports: list[Any] = []
        pushes = [threading.Thread(target=lambda e=e: reports.append(e.sync.run()))
                  for e in (synced, second)]  # fmt: skip
        for push in pushes:
            push.start()
        for push in pushes:
            push.join()
    assert sum(r.acknowledged for r in reports) == 24
    assert sum(r.conflicts + r.retried + r.dead for r in reports) == 0
    assert len(remote_tickets(remote)) == 12
    keys = [s.headers.get("Idempotency-Key") for s in writes(proxy.seen) if s.method == "POST"]
    assert len(keys) == len(set(keys)) == 12
    assert all(t["priority"] == 1 and t["version"] == 2 for t in remote_tickets(remote))
