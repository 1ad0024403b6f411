"""Events out: subscriptions, the outbox written with each change, deliveries posted to
a real HTTP receiver on a loopback port, signed, retried on the schedule by the engine's
clock, in commit order per ticket; dead ones listed and redelivered; ``engine.on``."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ayra_tickets import Engine, ManualClock, RoutingRule, SignatureInvalid, TicketError, verify
from ayra_tickets.domain.webhooks import MAX_ATTEMPTS, RETRY_SPAN, retry_delay
from ayra_tickets.storage.postgres.schema import schema_address
from ayra_tickets.transfer import copy_database
from tests.conftest import table_counts
from tests.receiver import Receiver, receiving

pytestmark = pytest.mark.both_backends

SECRET = "whsec_test_0123456789abcdef"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiving()


@pytest.fixture
def address(backend: str, request: pytest.FixtureRequest, engine: Engine) -> str:
    """The address of the ``engine`` fixture's database, for a second engine on it."""
    if backend == "postgres":
        return schema_address(
            request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        )
    return str(request.getfixturevalue("db_path"))


def stamp(clock: ManualClock) -> float:
    return clock.now().timestamp()


def test_a_delivery_is_signed_with_the_secret_and_a_wrong_secret_fails(
    engine: Engine, clock: ManualClock, receiver: Receiver
) -> None:
    hook = engine.webhooks.subscribe(receiver.url, events=["ticket.created"], secret=SECRET)
    assert hook.secret == SECRET
    assert "secret" not in engine.webhooks.list()[0].to_dict()
    made = engine.tickets.create(subject="Printer on fire", description="Send help")
    assert engine.run_due()["webhooks"] == 1
    (got,) = receiver.received
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"].startswith("ayra-tickets")
    assert verify(got.body, got.headers["Ayra-Signature"], SECRET, now=stamp(clock)) == int(
        stamp(clock)
    )
    with pytest.raises(SignatureInvalid, match="no signature matches"):
        verify(got.body, got.headers["Ayra-Signature"], SECRET + "x", now=stamp(clock))
    with pytest.raises(SignatureInvalid, match="no signature matches"):
        verify(got.body + b" ", got.headers["Ayra-Signature"], SECRET, now=stamp(clock))
    with pytest.raises(SignatureInvalid, match="tolerance"):
        verify(got.body, got.headers["Ayra-Signature"], SECRET, now=stamp(clock) + 301)
    body = got.json
    assert body["id"] == got.id
    assert body["id"].startswith("whd_")
    assert body["type"] == "ticket.created"
    assert body["data"]["ticket"] == made.to_dict()
    assert [event["type"] for event in body["data"]["events"]] == ["created"]
    assert body["data"]["events"][0]["data"] is None  # the ticket is data.ticket, whole
    (delivery,) = engine.webhooks.deliveries()
    assert (delivery.id, delivery.status, delivery.attempts, delivery.last_status) == (
        got.id,
        "delivered",
        1,
        200,
    )
    assert engine.run_due()["webhooks"] == 0  # nothing twice


def test_a_subscription_gets_only_the_events_it_names_and_none_after_it_goes(
    engine: Engine, receiver: Receiver
) -> None:
    closes = engine.webhooks.subscribe(receiver.url, events=["ticket.closed"])
    everything = engine.webhooks.subscribe(receiver.url, events=["*"])
    ticket = engine.tickets.create(subject="s", description="d", assigned_to="agent_1")
    engine.tickets.update(ticket.id, priority=1, internal_note="looked")
    engine.tickets.close(ticket.id)
    assert [d.event for d in engine.webhooks.deliveries(subscription=closes.id)] == [
        "ticket.closed"
    ]
    assert [d.event for d in reversed(engine.webhooks.deliveries(subscription=everything.id))] == [
        "ticket.created",
        "ticket.assigned",
        "ticket.updated",
        "ticket.closed",
    ]
    assert engine.webhooks.unsubscribe(everything.id) is True
    assert engine.webhooks.unsubscribe(everything.id) is False
    engine.tickets.create(subject="t", description="d")
    assert engine.webhooks.deliveries(subscription=everything.id) == []
    assert [each.id for each in engine.webhooks.list()] == [closes.id]


def test_five_hundreds_and_timeouts_are_retried_exactly_on_the_schedule(
    engine: Engine, clock: ManualClock, receiver: Receiver
) -> None:
    engine.webhooks.timeout = 0.5  # the held request below times out
    engine.webhooks.subscribe(receiver.url, events=["ticket.created"], secret=SECRET)
    engine.tickets.create(subject="s", description="d")
    receiver.plan = [503, 500, -1, 502]  # -1: held past the timeout
    (delivery,) = engine.webhooks.deliveries()
    start = clock.now()
    engine.run_due()
    for attempt in range(1, 5):
        assert len(receiver.received) == attempt
        found = engine.webhooks.delivery(delivery.id)
        delay = retry_delay(delivery.id, attempt)
        assert delay is not None
        assert (found.status, found.attempts) == ("pending", attempt)
        assert found.next_attempt_at == clock.now() + delay
        clock.advance(delay - timedelta(seconds=1))
        assert engine.run_due()["webhooks"] == 0  # a second early: nothing
        assert len(receiver.received) == attempt
        clock.advance(timedelta(seconds=1))
        assert engine.run_due()["webhooks"] == 1
    found = engine.webhooks.delivery(delivery.id)
    assert (found.status, found.attempts, found.last_status) == ("delivered", 5, 200)
    assert found.delivered_at == clock.now()
    assert len(set(receiver.ids())) == 1  # every attempt under the one idempotency id
    waited = [retry_delay(delivery.id, n) or timedelta() for n in range(1, 5)]
    assert clock.now() - start == sum(waited, timedelta())


def test_a_timeout_is_recorded_as_one(
    engine: Engine, clock: ManualClock, receiver: Receiver
) -> None:
    engine.webhooks.timeout = 0.5
    engine.webhooks.subscribe(receiver.url, events=["ticket.created"])
    engine.tickets.create(subject="s", description="d")
    receiver.plan = [-1]
    engine.run_due()
    (found,) = engine.webhooks.deliveries()
    assert (found.status, found.last_status, found.last_error) == (
        "pending",
        None,
        "no answer within 0.5 s",
    )


def test_a_delivery_failing_every_attempt_dies_after_a_day_and_is_redelivered_with_its_id(
    engine: Engine, clock: ManualClock, receiver: Receiver
) -> None:
    receiver.default = 500
    engine.webhooks.subscribe(receiver.url, events=["ticket.created", "ticket.updated"])
    ticket = engine.tickets.create(subject="s", description="d")
    (first,) = engine.webhooks.deliveries()
    start = clock.now()
    engine.run_due()
    while (found := engine.webhooks.delivery(first.id)).status == "pending":
        assert found.next_attempt_at is not None
        clock.set(found.next_attempt_at)
        engine.run_due()
    assert found.status == "dead"
    assert found.attempts == MAX_ATTEMPTS
    assert len(receiver.received) == MAX_ATTEMPTS
    assert clock.now() - start >= RETRY_SPAN
    assert [d.id for d in engine.webhooks.deliveries(status="dead")] == [first.id]
    # A dead delivery no longer holds back its ticket's later ones.
    receiver.default = 200
    engine.tickets.update(ticket.id, priority=1)
    engine.run_due()
    assert receiver.received[-1].json["type"] == "ticket.updated"
    again = engine.webhooks.redeliver(first.id)
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, clock.now())
    engine.run_due()
    assert receiver.received[-1].id == first.id  # the same idempotency id as before
    assert receiver.received[-1].body == receiver.received[0].body
    assert engine.webhooks.delivery(first.id).status == "delivered"
    with pytest.raises(TicketError, match="no delivery"):
        engine.webhooks.redeliver("whd_nothing")


def test_a_pending_delivery_is_not_redelivered(engine: Engine, receiver: Receiver) -> None:
    engine.webhooks.subscribe(receiver.url)
    engine.tickets.create(subject="s", description="d")
    (pending,) = engine.webhooks.deliveries()
    with pytest.raises(TicketError, match="pending already"):
        engine.webhooks.redeliver(pending.id)


def test_events_arrive_in_commit_order_per_ticket_through_failures_and_retries(
    engine: Engine, clock: ManualClock, receiver: Receiver
) -> None:
    engine.webhooks.subscribe(receiver.url, events=["*"])
    tickets = [engine.tickets.create(subject=f"t{n}", description="d") for n in range(4)]
    for round_ in range(3):  # interleaved writes of the tickets
        for ticket in tickets:
            engine.tickets.update(ticket.id, internal_note=f"round {round_}")
    engine.tickets.close(tickets[1].id)
    # Every third request fails: retries interleave with first attempts.
    receiver.plan = [500 if failed else 200 for failed in _failures(200)]
    engine.run_due()
    for _ in range(100):
        pending = engine.webhooks.deliveries(status="pending")
        if not pending:
            break
        # On to the next retry (those waiting behind one are due already).
        clock.set(min(d.next_attempt_at for d in pending if d.next_attempt_at > clock.now()))
        engine.run_due()
    assert any(_failures(len(receiver.received)))  # some were retried
    accepted: dict[str, list[str]] = {}  # by ticket: the deliveries answered 2xx, in order
    for got, failed in zip(receiver.received, _failures(len(receiver.received)), strict=True):
        if not failed:
            accepted.setdefault(got.json["data"]["ticket"]["id"], []).append(got.id)
    for ticket in tickets:
        committed = sorted(engine.webhooks.deliveries(ticket=ticket.id), key=_sequence)
        assert accepted[ticket.id] == [d.id for d in committed]
        versions = [
            got.json["data"]["ticket"]["version"]
            for got in receiver.received
            if got.json["data"]["ticket"]["id"] == ticket.id
        ]
        assert versions == sorted(versions)
    assert {d.status for d in engine.webhooks.deliveries(limit=1000)} == {"delivered"}


def _failures(count: int) -> list[bool]:
    """Which of the order test's requests are answered 500: every third."""
    return [n % 3 == 2 for n in range(count)]


def _sequence(delivery: Any) -> int:
    return int(delivery.sequence)


def test_two_engines_sending_at_once_send_each_delivery_once(
    engine: Engine, address: str, clock: ManualClock, receiver: Receiver
) -> None:
    engine.webhooks.subscribe(receiver.url, events=["*"])
    for n in range(12):
        made = engine.tickets.create(subject=f"t{n}", description="d")
        engine.tickets.update(made.id, priority=1)
    with Engine.open(address, clock=clock) as other:
        start = threading.Barrier(2)

        def send(sender: Engine) -> None:
            start.wait()
            sender.run_due()

        threads = [threading.Thread(target=send, args=(each,)) for each in (engine, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(receiver.ids()) == 24 == len(set(receiver.ids()))
    assert {d.status for d in engine.webhooks.deliveries()} == {"delivered"}


def test_another_engine_on_the_database_sees_a_subscription_and_its_going(
    engine: Engine, address: str, clock: ManualClock, receiver: Receiver
) -> None:
    with Engine.open(address, clock=clock) as other:
        other.tickets.create(subject="before", description="d")  # its cache is read
        hook = engine.webhooks.subscribe(receiver.url, events=["ticket.created"])
        other.tickets.create(subject="after", description="d")
        assert [d.event for d in engine.webhooks.deliveries()] == ["ticket.created"]
        assert [each.id for each in other.webhooks.list()] == [hook.id]
        engine.webhooks.unsubscribe(hook.id)
        other.tickets.create(subject="gone", description="d")
        assert engine.webhooks.deliveries() == []


def test_a_breach_announced_again_is_delivered_once(
    engine: Engine, clock: ManualClock, receiver: Receiver
) -> None:
    engine.webhooks.subscribe(receiver.url, events=["sla.breached"])
    made = engine.tickets.create(subject="s", description="d", priority=1)
    clock.advance(timedelta(days=3))
    changed = engine.tickets.update(made.id, internal_note="late")  # records the breaches
    breached = [d for d in engine.webhooks.deliveries() if d.event == "sla.breached"]
    assert len(breached) == 2  # response and resolution
    first = json.loads(breached[-1].body)["data"]
    assert (first["target"], first["due_at"]) == (
        "response",
        made.to_dict()["sla"]["response_due_at"],
    )
    # The same breach announced by a pass of the due work (what escalation does):
    uow = engine._uow  # the seam the escalation part calls; no public door of its own
    again = {"target": first["target"], "due_at": first["due_at"]}
    engine.storage.atomic(
        lambda: uow.announce("sla.breached", changed, clock.now(), "another key", again),
        write=True,
    )
    assert len(engine.webhooks.deliveries()) == 2
    engine.run_due()
    assert len(receiver.received) == 2


def test_in_process_subscribers_are_told_after_the_commit_and_never_of_a_rollback(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[tuple[str, dict[str, Any]]] = []

    def failing(name: str, body: dict[str, Any]) -> None:
        raise RuntimeError("a subscriber's bug")

    engine.on("ticket.updated", failing)
    engine.on("*", lambda name, body: told.append((name, body)))
    made = engine.tickets.create(subject="s", description="d")
    with caplog.at_level(logging.ERROR, logger="ayra_tickets"):
        changed = engine.tickets.update(made.id, priority=1)
    assert [name for name, _ in told] == ["ticket.created", "ticket.updated"]
    assert told[-1][1]["data"]["ticket"] == changed.to_dict()
    assert "a subscriber of ticket.updated failed" in caplog.text
    with pytest.raises(TicketError):
        engine.tickets.update(made.id, expected_version=1, priority=2)  # refused
    assert len(told) == 2
    assert engine.webhooks.deliveries() == []  # in-process subscribers need no outbox


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": "http:///path"}, "name a host"),
        ({"url": "http://exa mple.com/"}, "spaces"),
        ({"url": "http://example.com:99999/"}, "not a valid URL"),
        ({"url": 42}, "http or https URL"),
        ({"url": "https://example.com", "events": []}, "at least one"),
        ({"url": "https://example.com", "events": "ticket.created"}, "at least one"),
        ({"url": "https://example.com", "events": ["Ticket.Created"]}, "not an event name"),
        ({"url": "https://example.com", "events": ["ticket"]}, "not an event name"),
        ({"url": "https://example.com", "secret": "short"}, "secret must be"),
        ({"url": "https://example.com", "secret": "has spaces in it ok?"}, "secret must be"),
    ],
)
def test_a_bad_subscription_is_refused_naming_what_is_wrong_and_changes_nothing(
    engine: Engine, call: dict[str, Any], message: str
) -> None:
    before = table_counts(engine)
    with pytest.raises(TicketError, match=message):
        engine.webhooks.subscribe(**call)
    assert table_counts(engine) == before
    assert engine.webhooks.list() == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"status": "failed"}, "status must be one of"),
        ({"limit": 0}, "limit must be"),
        ({"limit": True}, "limit must be"),
        ({"subscription": 3}, "subscription must be"),
    ],
)
def test_a_bad_deliveries_query_is_refused(
    engine: Engine, query: dict[str, Any], message: str
) -> None:
    with pytest.raises(TicketError, match=message):
        engine.webhooks.deliveries(**query)


def test_set_keeps_the_subscriptions_it_names_and_drops_the_others(
    engine: Engine, receiver: Receiver
) -> None:
    kept = engine.webhooks.subscribe(receiver.url, events=["ticket.closed"], secret=SECRET)
    dropped = engine.webhooks.subscribe("https://example.com/old")
    now = engine.webhooks.set(
        [
            {"url": receiver.url, "events": ["ticket.closed"], "secret": SECRET},
            {"url": "https://example.com/new", "events": ["ticket.created"]},
        ]
    )
    assert now[0].id == kept.id
    assert now[0].secret is None
    assert now[1].secret is not None
    assert now[1].secret.startswith("whsec_")
    assert {each.id for each in engine.webhooks.list()} == {kept.id, now[1].id}
    assert dropped.id not in {each.id for each in engine.webhooks.list()}
    before = table_counts(engine)
    with pytest.raises(TicketError, match="webhook 1: url must start"):
        engine.webhooks.set([{"url": receiver.url}, {"url": "file:///etc/passwd"}])
    with pytest.raises(TicketError, match="unknown field 'evnts'"):
        engine.webhooks.set([{"url": receiver.url, "evnts": ["*"]}])
    assert table_counts(engine) == before


def test_an_import_is_a_bulk_load_and_sends_nothing(engine: Engine, receiver: Receiver) -> None:
    engine.webhooks.subscribe(receiver.url)
    engine.tickets.import_many([{"subject": "s", "description": "d"}])
    assert engine.webhooks.deliveries() == []


def test_a_reset_empties_the_subscriptions_and_the_outbox(
    engine: Engine, receiver: Receiver
) -> None:
    engine.webhooks.subscribe(receiver.url)
    engine.tickets.create(subject="s", description="d")
    engine.reset()
    assert engine.webhooks.list() == []
    assert engine.webhooks.deliveries() == []
    engine.tickets.create(subject="s", description="d")
    assert engine.webhooks.deliveries() == []


def test_a_copy_carries_the_subscriptions_and_the_outbox_and_sends_on_from_there(
    engine: Engine, address: str, clock: ManualClock, receiver: Receiver, tmp_path: Path
) -> None:
    hook = engine.webhooks.subscribe(receiver.url, events=["*"], secret=SECRET)
    made = engine.tickets.create(subject="s", description="d")
    engine.run_due()  # the create's delivery: sent
    receiver.default = 503
    engine.tickets.update(made.id, priority=1)
    engine.run_due()  # the update's: failed once, waiting for its retry
    before = engine.webhooks.deliveries()
    target = str(tmp_path / "copy.db")
    assert copy_database(address, target, clock=clock).identical
    with Engine.open(target, clock=clock) as copied:
        assert [each.to_dict() for each in copied.webhooks.list()] == [hook.shown().to_dict()]
        assert [d.to_dict() for d in copied.webhooks.deliveries()] == [d.to_dict() for d in before]
        receiver.default = 200
        waiting = copied.webhooks.deliveries(status="pending")[0]
        assert waiting.next_attempt_at is not None
        clock.set(waiting.next_attempt_at)
        copied.run_due()
        assert receiver.received[-1].id == waiting.id
        assert verify(
            receiver.received[-1].body,
            receiver.received[-1].headers["Ayra-Signature"],
            SECRET,
            now=stamp(clock),
        )


def test_a_copy_that_lost_automation_rows_is_not_called_identical(
    engine: Engine, address: str, clock: ManualClock, receiver: Receiver, tmp_path: Path
) -> None:
    engine.agents.add("ann", "Ann", groups=["desk"])
    engine.routing.configure([RoutingRule("all", match={}, group="desk")])
    engine.webhooks.subscribe(receiver.url, events=["*"], secret=SECRET)
    engine.tickets.create(subject="s", description="d")  # routed: two deliveries
    counted = engine._uow.storage.atomic(engine._uow.storage.counts)
    assert counted["webhook_deliveries"] == 2
    assert counted["routing_rules"] == counted["webhook_subscriptions"] == 1
    assert counted["escalation_timers"] == 1  # a subscriber hears breaches

    def lose_one(target: Any) -> None:
        sql = "DELETE FROM webhook_deliveries WHERE event = 'ticket.assigned'"
        if hasattr(target, "db"):  # a file
            target.db.execute(sql)
            target.db.conn.commit()
        else:
            target.atomic(lambda: target.connections.conn.execute(sql), write=True)

    summary = copy_database(address, str(tmp_path / "copy.db"), clock=clock, before_check=lose_one)
    assert not summary.identical
    assert summary.difference == "the counts of webhook_deliveries (2 against 1)"


def test_a_copy_keeps_each_ticket_in_its_own_line(
    engine: Engine, address: str, clock: ManualClock, receiver: Receiver, tmp_path: Path
) -> None:
    engine.webhooks.subscribe(receiver.url, events=["ticket.created"], secret=SECRET)
    receiver.default = 503
    engine.tickets.create(subject="a", description="d")
    engine.run_due()  # a's delivery: failed once, waiting for its retry
    later = engine.tickets.create(subject="b", description="d")  # due now, another ticket
    target = str(tmp_path / "copy.db")
    assert copy_database(address, target, clock=clock).identical
    receiver.default = 200
    with Engine.open(target, clock=clock) as copied:
        assert copied.webhooks.send_due() == 1  # b's is not held behind a's
    assert receiver.received[-1].json["data"]["ticket"]["id"] == later.id


def test_a_replayed_create_makes_no_second_delivery(engine: Engine, receiver: Receiver) -> None:
    engine.webhooks.subscribe(receiver.url, events=["ticket.created"])
    first = engine.tickets.create(subject="s", description="d", idempotency_key="k-1")
    again = engine.tickets.create(subject="s", description="d", idempotency_key="k-1")
    assert again.id == first.id
    assert len(engine.webhooks.deliveries()) == 1


def test_a_sender_that_raises_fails_one_attempt_and_stops_nothing(
    engine: Engine, clock: ManualClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.webhooks.subscribe(receiver.url, events=["ticket.created"])
    engine.tickets.create(subject="a", description="d")
    engine.tickets.create(subject="b", description="d")
    calls: list[str] = []

    def broken(url: str, body: bytes, headers: Any, timeout: float) -> Any:
        calls.append(headers["Idempotency-Key"])
        raise ValueError("a bug in the sender")

    monkeypatch.setattr(engine.webhooks, "_send", broken)
    assert engine.run_due()["webhooks"] == 2  # both attempted, though the first raised
    found = engine.webhooks.deliveries()
    assert {d.last_error for d in found} == {"ValueError: a bug in the sender"}
    assert {d.status for d in found} == {"pending"}
