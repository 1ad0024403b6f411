"""The SLA through the wire (issue 3, acceptance 4): every ``sla`` object, ``sla_breach``
answer and SLA event is read through ``engine.request`` with a manual clock, and every
expected instant is written out by hand.

The clock starts on Wednesday 2025-01-15 at 09:00 UTC (``START``). The default targets
(contract, "Priorities and SLA"): 1 Critical 1h/4h, 2 High 8h/2d, 3 Normal 2d/5d,
4 Low 7d/14d, in calendar time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ayra_tickets import BusinessCalendar, Engine, ManualClock, SlaPolicy
from tests.conftest import Api

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL

# -- helpers ---------------------------------------------------------------------------


def ticket(api: Api, ticket_id: str) -> dict[str, Any]:
    answer = api("GET", f"/v1/tickets/{ticket_id}")
    assert answer.status == 200, answer.json
    return answer.json["data"]  # type: ignore[no-any-return]


def sla(api: Api, ticket_id: str) -> dict[str, Any]:
    return ticket(api, ticket_id)["sla"]  # type: ignore[no-any-return]


def put(api: Api, ticket_id: str, **body: Any) -> dict[str, Any]:
    answer = api("PUT", f"/v1/tickets/{ticket_id}", body)
    assert answer.status == 200, answer.json
    return answer.json["data"]  # type: ignore[no-any-return]


def close(api: Api, ticket_id: str, **body: Any) -> dict[str, Any]:
    answer = api("PUT", f"/v1/tickets/{ticket_id}/close", body)
    assert answer.status == 200, answer.json
    return answer.json["data"]  # type: ignore[no-any-return]


def listed(api: Api, query: str) -> dict[str, dict[str, Any]]:
    """The tickets a list query answers, by id (one page holds them all)."""
    separator = "&" if query else ""
    answer = api("GET", f"/v1/tickets?per_page=100{separator}{query}")
    assert answer.status == 200, answer.json
    assert answer.json["meta"]["total"] == len(answer.json["data"])
    return {item["id"]: item for item in answer.json["data"]}


def sla_events(api: Api, ticket_id: str) -> list[tuple[str, int, str, Any]]:
    """The ticket's SLA events as (type, version, created_at, data), oldest first."""
    answer = api("GET", f"/v1/tickets/{ticket_id}/events")
    assert answer.status == 200, answer.json
    return [
        (event["type"], event["version"], event["created_at"], event["data"])
        for event in answer.json["data"]
        if event["type"].startswith("sla_")
    ]


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 1) -> datetime:
    """An instant in 2025, UTC."""
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


def running(response_due_at: str, resolution_due_at: str, **changes: Any) -> dict[str, Any]:
    """A default-policy ``sla`` object: undecided, unbreached, running, unless changed."""
    return {
        "policy": "default",
        "response_due_at": response_due_at,
        "resolution_due_at": resolution_due_at,
        "response_met": None,
        "resolution_met": None,
        "breached": False,
        "paused": False,
        **changes,
    }


# -- default targets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "response_due_at", "resolution_due_at"),
    [
        (1, "2025-01-15T10:00:00Z", "2025-01-15T13:00:00Z"),
        (2, "2025-01-15T17:00:00Z", "2025-01-17T09:00:00Z"),
        (3, "2025-01-17T09:00:00Z", "2025-01-20T09:00:00Z"),
        (4, "2025-01-22T09:00:00Z", "2025-01-29T09:00:00Z"),
    ],
)
def test_each_priority_gets_its_default_response_and_resolution_targets(
    api: Api, priority: int, response_due_at: str, resolution_due_at: str
) -> None:
    created = api.create(priority=priority)
    assert created["created_at"] == "2025-01-15T09:00:00Z"
    assert created["first_response_at"] is None
    assert created["sla"] == running(response_due_at, resolution_due_at)
    assert sla(api, created["id"]) == created["sla"]
    assert listed(api, f"priority={priority}")[created["id"]]["sla"] == created["sla"]


def test_a_ticket_created_without_a_priority_gets_the_normal_targets(api: Api) -> None:
    created = api.create()
    assert created["priority"] == 3
    assert created["sla"] == running("2025-01-17T09:00:00Z", "2025-01-20T09:00:00Z")


# -- first response ----------------------------------------------------------------------


def test_a_first_response_exactly_at_the_deadline_is_met(api: Api, clock: ManualClock) -> None:
    made = api.create(priority=1)
    clock.advance(minutes=30)
    noted = put(api, made["id"], internal_note="Looking into it.")  # a note is no response
    assert noted["first_response_at"] is None
    assert noted["sla"]["response_met"] is None
    clock.set(at(15, 10))
    assert sla(api, made["id"]) == running("2025-01-15T10:00:00Z", "2025-01-15T13:00:00Z")
    answered = put(api, made["id"], status="open")
    assert answered["first_response_at"] == "2025-01-15T10:00:00Z"
    assert answered["sla"] == running(
        "2025-01-15T10:00:00Z", "2025-01-15T13:00:00Z", response_met=True
    )
    clock.advance(hours=2)
    assert sla(api, made["id"])["response_met"] is True


def test_a_first_response_one_second_after_the_deadline_is_missed(
    api: Api, clock: ManualClock
) -> None:
    made = api.create(priority=1)
    clock.set(at(15, 10))
    assert sla(api, made["id"])["response_met"] is None
    clock.advance(seconds=1)
    # The deadline passing decides it, before any response.
    missed = running(
        "2025-01-15T10:00:00Z", "2025-01-15T13:00:00Z", response_met=False, breached=True
    )
    assert sla(api, made["id"]) == missed
    answered = put(api, made["id"], status="in_progress")
    assert answered["first_response_at"] == "2025-01-15T10:00:01Z"
    assert answered["sla"] == missed
    clock.advance(hours=1)
    assert sla(api, made["id"])["response_met"] is False


def test_a_late_first_response_is_missed_even_when_nobody_read_the_ticket_in_between(
    api: Api, clock: ManualClock
) -> None:
    made = api.create(priority=2)
    clock.set(at(15, 17, 0, 1))
    answered = put(api, made["id"], status="waiting_on_customer")
    assert answered["first_response_at"] == "2025-01-15T17:00:01Z"
    assert answered["sla"]["response_met"] is False
    assert answered["sla"]["breached"] is True


@pytest.mark.parametrize("status", ["open", "in_progress"])
def test_a_ticket_created_open_or_in_progress_has_its_first_response_at_creation(
    api: Api, clock: ManualClock, status: str
) -> None:
    made = api.create(priority=1, status=status)
    assert made["first_response_at"] == "2025-01-15T09:00:00Z"
    assert made["sla"] == running("2025-01-15T10:00:00Z", "2025-01-15T13:00:00Z", response_met=True)
    clock.set(at(15, 12))
    assert sla(api, made["id"])["response_met"] is True
    assert sla(api, made["id"])["breached"] is False


# -- pauses -------------------------------------------------------------------------------


@pytest.mark.parametrize("waiting", ["waiting_on_customer", "waiting_on_third_party"])
def test_waiting_pauses_the_clock_and_resuming_moves_the_deadline_by_the_time_paused(
    api: Api, clock: ManualClock, waiting: str
) -> None:
    made = api.create(priority=1, status="open")  # resolution due 13:00
    clock.set(at(15, 10))
    paused = put(api, made["id"], status=waiting)["sla"]
    assert paused == running(
        "2025-01-15T10:00:00Z", "2025-01-15T13:00:00Z", response_met=True, paused=True
    )
    clock.set(at(15, 12))
    # While paused: the deadline if the clock resumed now.
    assert sla(api, made["id"])["resolution_due_at"] == "2025-01-15T15:00:00Z"
    clock.set(at(15, 14))  # past the 13:00 the ticket had when it began waiting
    assert sla(api, made["id"]) == running(
        "2025-01-15T10:00:00Z", "2025-01-15T17:00:00Z", response_met=True, paused=True
    )
    assert made["id"] in listed(api, "sla_breach=false")
    resumed = put(api, made["id"], status="in_progress")["sla"]
    assert resumed == running("2025-01-15T10:00:00Z", "2025-01-15T17:00:00Z", response_met=True)
    clock.set(at(15, 17))
    assert sla(api, made["id"])["breached"] is False
    assert made["id"] in listed(api, "sla_breach=false")
    clock.advance(seconds=1)
    assert sla(api, made["id"])["breached"] is True
    assert made["id"] in listed(api, "sla_breach=true")
    assert sla_events(api, made["id"])[-2:] == [
        ("sla_paused", 2, "2025-01-15T10:00:00Z", {"resolution_due_at": "2025-01-15T13:00:00Z"}),
        (
            "sla_resumed",
            3,
            "2025-01-15T14:00:00Z",
            {"paused_seconds": 14400, "resolution_due_at": "2025-01-15T17:00:00Z"},
        ),
    ]


def test_moving_between_the_two_waiting_statuses_keeps_the_clock_paused(
    api: Api, clock: ManualClock
) -> None:
    made = api.create(priority=1, status="open")
    clock.set(at(15, 10))
    put(api, made["id"], status="waiting_on_customer")
    clock.set(at(15, 11))
    moved = put(api, made["id"], status="waiting_on_third_party")["sla"]
    assert moved["paused"] is True
    assert moved["resolution_due_at"] == "2025-01-15T14:00:00Z"
    clock.set(at(15, 12))
    back = put(api, made["id"], status="waiting_on_customer")["sla"]
    assert back["paused"] is True
    assert back["resolution_due_at"] == "2025-01-15T15:00:00Z"
    clock.set(at(15, 13))
    resumed = put(api, made["id"], status="in_progress")["sla"]
    assert resumed["paused"] is False
    assert resumed["resolution_due_at"] == "2025-01-15T16:00:00Z"  # 3 hours paused in all
    assert [(kind, data) for kind, _, _, data in sla_events(api, made["id"])][-2:] == [
        ("sla_paused", {"resolution_due_at": "2025-01-15T13:00:00Z"}),
        ("sla_resumed", {"paused_seconds": 10800, "resolution_due_at": "2025-01-15T16:00:00Z"}),
    ]


def test_a_ticket_that_begins_waiting_after_its_deadline_stays_breached_while_paused(
    api: Api, clock: ManualClock
) -> None:
    made = api.create(priority=1, status="open")  # resolution due 13:00
    clock.set(at(15, 13, 0, 1))
    paused = put(api, made["id"], status="waiting_on_third_party")["sla"]
    assert paused == running(
        "2025-01-15T10:00:00Z",
        "2025-01-15T13:00:00Z",
        response_met=True,
        breached=True,
        paused=True,
    )
    clock.advance(days=2)
    assert sla(api, made["id"])["breached"] is True
    assert set(listed(api, "sla_breach=true")) == {made["id"]}
    assert set(listed(api, "sla_breach=false")) == set()


def test_separate_pauses_add_up(api: Api, clock: ManualClock) -> None:
    made = api.create(priority=2, status="in_progress")  # resolution due 2025-01-17 09:00
    clock.set(at(15, 10))
    put(api, made["id"], status="waiting_on_customer")
    clock.set(at(15, 11, 30))
    put(api, made["id"], status="open")
    clock.set(at(16, 9))
    put(api, made["id"], status="waiting_on_third_party")
    clock.set(at(16, 9, 0, 45))
    resumed = put(api, made["id"], status="in_progress")["sla"]
    assert resumed["resolution_due_at"] == "2025-01-17T10:30:45Z"
    assert sla_events(api, made["id"])[-1] == (
        "sla_resumed",
        5,
        "2025-01-16T09:00:45Z",
        {"paused_seconds": 5445, "resolution_due_at": "2025-01-17T10:30:45Z"},
    )


# -- reopen ---------------------------------------------------------------------------------


def _finish(api: Api, ticket_id: str, how: str) -> dict[str, Any]:
    return close(api, ticket_id) if how == "closed" else put(api, ticket_id, status="resolved")


@pytest.mark.parametrize("how", ["resolved", "closed"])
def test_reopening_after_an_on_time_resolution_resumes_the_clock_and_undecides_it(
    api: Api, clock: ManualClock, how: str
) -> None:
    made = api.create(priority=1, status="open")  # resolution due 13:00
    clock.set(at(15, 10))
    finished = _finish(api, made["id"], how)["sla"]
    assert finished == running(
        "2025-01-15T10:00:00Z",
        "2025-01-15T13:00:00Z",
        response_met=True,
        resolution_met=True,
        paused=True,
    )
    clock.set(at(15, 12))
    reopened = put(api, made["id"], status="reopened")
    assert reopened["reopened_count"] == 1
    assert (reopened["resolved_at"], reopened["closed_at"]) == (None, None)
    assert reopened["sla"] == running(
        "2025-01-15T10:00:00Z", "2025-01-15T15:00:00Z", response_met=True
    )
    clock.set(at(15, 15))
    assert sla(api, made["id"])["breached"] is False
    clock.advance(seconds=1)  # the resumed clock runs out again
    assert sla(api, made["id"])["breached"] is True
    assert made["id"] in listed(api, "sla_breach=true")
    events = sla_events(api, made["id"])
    assert events[-1] == (
        "sla_resumed",
        3,
        "2025-01-15T12:00:00Z",
        {"paused_seconds": 7200, "resolution_due_at": "2025-01-15T15:00:00Z"},
    )


@pytest.mark.parametrize("how", ["resolved", "closed"])
def test_reopening_after_a_late_resolution_keeps_it_missed(
    api: Api, clock: ManualClock, how: str
) -> None:
    made = api.create(priority=1, status="open")  # resolution due 13:00
    clock.set(at(15, 13, 0, 1))
    finished = _finish(api, made["id"], how)["sla"]
    assert (finished["resolution_met"], finished["breached"]) == (False, True)
    clock.set(at(15, 14))
    reopened = put(api, made["id"], status="reopened")["sla"]
    assert reopened == running(
        "2025-01-15T10:00:00Z",
        "2025-01-15T13:59:59Z",  # 59:59 paused since 13:00:01
        response_met=True,
        resolution_met=False,
        breached=True,
    )
    assert made["id"] in listed(api, "sla_breach=true")
    clock.set(at(15, 14, 30))
    again = put(api, made["id"], status="resolved")["sla"]  # now within the moved deadline
    assert (again["resolution_met"], again["breached"]) == (False, True)
    assert made["id"] in listed(api, "sla_breach=true")


# -- priority changes ---------------------------------------------------------------------


def test_a_priority_change_recomputes_both_deadlines_from_the_creation_time(
    api: Api, clock: ManualClock
) -> None:
    made = api.create(priority=4)
    clock.set(at(15, 10))
    raised = put(api, made["id"], priority=2)["sla"]
    assert raised == running("2025-01-15T17:00:00Z", "2025-01-17T09:00:00Z")
    clock.set(at(15, 12))
    lowered = put(api, made["id"], priority=3)["sla"]
    assert lowered == running("2025-01-17T09:00:00Z", "2025-01-20T09:00:00Z")
    # Raised to Critical at 12:00: both new deadlines lie in the past already.
    critical = put(api, made["id"], priority=1)["sla"]
    assert critical == running(
        "2025-01-15T10:00:00Z", "2025-01-15T13:00:00Z", response_met=False, breached=True
    )
    assert sla_events(api, made["id"])[1:] == [
        (
            "sla_applied",
            2,
            "2025-01-15T10:00:00Z",
            {
                "policy": "default",
                "response_due_at": "2025-01-15T17:00:00Z",
                "resolution_due_at": "2025-01-17T09:00:00Z",
            },
        ),
        (
            "sla_applied",
            3,
            "2025-01-15T12:00:00Z",
            {
                "policy": "default",
                "response_due_at": "2025-01-17T09:00:00Z",
                "resolution_due_at": "2025-01-20T09:00:00Z",
            },
        ),
        (
            "sla_applied",
            4,
            "2025-01-15T12:00:00Z",
            {
                "policy": "default",
                "response_due_at": "2025-01-15T10:00:00Z",
                "resolution_due_at": "2025-01-15T13:00:00Z",
            },
        ),
        # The new response deadline is already past: the miss is recorded in the same call.
        (
            "sla_breached",
            4,
            "2025-01-15T12:00:00Z",
            {"target": "response", "due_at": "2025-01-15T10:00:00Z"},
        ),
    ]


def test_a_priority_change_keeps_the_time_already_paused(api: Api, clock: ManualClock) -> None:
    made = api.create(priority=3)
    clock.set(at(15, 9, 30))
    put(api, made["id"], status="open")
    clock.set(at(15, 10))
    put(api, made["id"], status="waiting_on_customer")
    clock.set(at(15, 12))
    assert put(api, made["id"], status="open")["sla"]["resolution_due_at"] == (
        "2025-01-20T11:00:00Z"
    )
    raised = put(api, made["id"], priority=1)["sla"]
    assert raised["resolution_due_at"] == "2025-01-15T15:00:00Z"  # 09:00 + 4h + 2h paused
    lowered = put(api, made["id"], priority=4)["sla"]
    assert lowered["resolution_due_at"] == "2025-01-29T11:00:00Z"
    # A change while paused keeps both the finished pause and the one under way.
    clock.set(at(15, 13))
    put(api, made["id"], status="waiting_on_third_party")
    clock.set(at(15, 14))
    during = put(api, made["id"], priority=2)["sla"]
    assert (during["paused"], during["resolution_due_at"]) == (True, "2025-01-17T12:00:00Z")
    clock.set(at(15, 15))
    resumed = put(api, made["id"], status="in_progress")["sla"]
    assert (resumed["paused"], resumed["resolution_due_at"]) == (False, "2025-01-17T13:00:00Z")


def test_a_met_response_stays_met_when_a_priority_change_would_have_missed_it(
    api: Api, clock: ManualClock
) -> None:
    made = api.create(priority=4)
    clock.set(at(15, 12))
    put(api, made["id"], status="open")  # 3 hours after creation: met for Low
    raised = put(api, made["id"], priority=1)["sla"]  # Critical's 1 hour would be missed
    assert raised["response_met"] is True
    # The decided response keeps the deadline it was held to; the resolution moves.
    assert raised == running("2025-01-22T09:00:00Z", "2025-01-15T13:00:00Z", response_met=True)


def test_a_missed_response_stays_missed_when_a_priority_change_would_have_met_it(
    api: Api, clock: ManualClock
) -> None:
    made = api.create(priority=1)
    clock.set(at(15, 11))  # no response, an hour past the Critical deadline
    lowered = put(api, made["id"], priority=4)["sla"]
    assert lowered == running(
        "2025-01-15T10:00:00Z", "2025-01-29T09:00:00Z", response_met=False, breached=True
    )
    answered = put(api, made["id"], status="open")
    assert answered["sla"]["response_met"] is False
    assert made["id"] in listed(api, "sla_breach=true&priority=4")


# -- close freezes ----------------------------------------------------------------------------


def test_after_close_the_sla_object_never_changes(api: Api, clock: ManualClock) -> None:
    on_time = api.create(priority=1, status="open")
    late = api.create(priority=1)
    waited = api.create(priority=1, status="open")
    untouched = api.create(priority=2)
    clock.set(at(15, 10))
    close(api, on_time["id"])
    close(api, untouched["id"])  # the close is its first response
    put(api, waited["id"], status="waiting_on_customer")
    clock.set(at(15, 14))
    close(api, late["id"])
    close(api, waited["id"])
    expected = {
        on_time["id"]: running(
            "2025-01-15T10:00:00Z",
            "2025-01-15T13:00:00Z",
            response_met=True,
            resolution_met=True,
            paused=True,
        ),
        late["id"]: running(
            "2025-01-15T10:00:00Z",
            "2025-01-15T13:00:00Z",
            response_met=False,
            resolution_met=False,
            breached=True,
            paused=True,
        ),
        # Judged when its clock stopped (10:00); the deadline as it stood at close.
        waited["id"]: running(
            "2025-01-15T10:00:00Z",
            "2025-01-15T17:00:00Z",
            response_met=True,
            resolution_met=True,
            paused=True,
        ),
        untouched["id"]: running(
            "2025-01-15T17:00:00Z",
            "2025-01-17T09:00:00Z",
            response_met=True,
            resolution_met=True,
            paused=True,
        ),
    }
    assert ticket(api, untouched["id"])["first_response_at"] == "2025-01-15T10:00:00Z"
    for step in (timedelta(0), timedelta(hours=3), timedelta(days=3), timedelta(days=400)):
        clock.advance(step)
        items = listed(api, "status=closed")
        assert {tid: item["sla"] for tid, item in items.items()} == expected, clock.now()
        assert {tid: sla(api, tid) for tid in expected} == expected, clock.now()


def test_sla_breach_answers_for_closed_tickets_do_not_change_with_time(
    api: Api, clock: ManualClock
) -> None:
    fine = api.create(priority=1, status="open")
    missed = api.create(priority=1)
    clock.set(at(15, 9, 30))
    close(api, fine["id"])
    put(api, missed["id"], status="waiting_on_customer")  # responded at 09:30, paused
    clock.set(at(15, 10))
    put(api, missed["id"], status="in_progress")
    clock.set(at(15, 13, 30, 1))  # 13:30 is its deadline after 30 minutes paused
    close(api, missed["id"])
    for step in (timedelta(0), timedelta(seconds=1), timedelta(days=1), timedelta(days=30)):
        clock.advance(step)
        assert set(listed(api, "sla_breach=true&status=closed")) == {missed["id"]}
        assert set(listed(api, "sla_breach=false&status=closed")) == {fine["id"]}


# -- sla_breach ----------------------------------------------------------------------------

FILTERS = (
    "",
    "status=new,open",
    "status=closed",
    "status=waiting_on_customer,resolved",
    "priority=1",
    "priority=2,3",
    "assigned_to=user_alice",
    "assigned_to=user_bob&priority=1",
    "tags=vip",
    "tags=vip,billing",
    "status=open&tags=billing",
    "status=in_progress,reopened&assigned_to=user_bob&tags=billing",
)


def test_sla_breach_true_and_false_partition_the_tickets_under_every_filter(
    api: Api, clock: ManualClock
) -> None:
    make = {
        "A": {"priority": 1, "assigned_to": "user_alice", "tags": ["vip"]},
        "B": {"priority": 1, "status": "open", "assigned_to": "user_bob", "tags": ["vip", "billing"]},
        "C": {"priority": 2, "assigned_to": "user_alice", "tags": ["billing"]},
        "D": {"priority": 1, "status": "in_progress", "assigned_to": "user_alice", "tags": ["vip"]},
        "E": {"priority": 3, "assigned_to": "user_bob"},
        "F": {"priority": 1, "status": "open", "assigned_to": "user_bob", "tags": ["billing"]},
    }  # fmt: skip
    ids = {name: api.create(**fields)["id"] for name, fields in make.items()}
    names = {tid: name for name, tid in ids.items()}

    def check(breached: str) -> None:
        for query in FILTERS:
            joined = f"{query}&" if query else ""
            everyone = listed(api, query)
            yes = listed(api, f"{joined}sla_breach=true")
            no = listed(api, f"{joined}sla_breach=false")
            where = (clock.now(), query)
            assert set(yes) | set(no) == set(everyone), where
            assert not set(yes) & set(no), where
            assert {names[tid] for tid in yes} == set(breached) & {
                names[tid] for tid in everyone
            }, where
            # The SQL answer agrees with each ticket's own sla object.
            assert {names[tid] for tid, item in everyone.items() if item["sla"]["breached"]} == (
                {names[tid] for tid in yes}
            ), where
        assert len(listed(api, "")) == 6

    clock.set(at(15, 9, 30))
    put(api, ids["D"], status="waiting_on_customer")  # paused with 3.5 hours left
    close(api, ids["F"])  # on time
    check("")
    clock.set(at(15, 10))
    check("")  # A's response deadline is now: not yet missed
    clock.advance(seconds=1)
    check("A")
    clock.set(at(15, 13))
    check("A")  # B's resolution deadline is now
    clock.advance(seconds=1)
    check("AB")
    close(api, ids["A"])  # late, for good
    put(api, ids["C"], status="resolved")  # on time, both targets
    put(api, ids["B"], status="waiting_on_customer")  # paused after its deadline
    check("AB")
    clock.set(at(18, 13, 0, 1))  # D still paused; E's response missed on the 17th
    check("ABE")
    reopened = put(api, ids["F"], status="reopened")
    assert reopened["sla"]["resolution_due_at"] == "2025-01-18T16:30:01Z"
    put(api, ids["F"], status="in_progress")
    check("ABE")
    clock.set(at(18, 16, 30, 1))
    check("ABE")
    clock.advance(seconds=1)
    check("ABEF")
    put(api, ids["D"], status="open")  # resumed with 3.5 hours left
    clock.advance(hours=3, minutes=30)
    check("ABEF")
    clock.advance(seconds=1)
    check("ABDEF")


# -- a configured policy on a business calendar ---------------------------------------------

BERLIN = BusinessCalendar(
    timezone="Europe/Berlin",
    hours={day: "09:00-12:00,13:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")},
    # Good Friday and Easter Monday: 2025-04-18 and 2025-04-21.
    holidays=["RRULE:FREQ=YEARLY;BYEASTER=-2", "RRULE:FREQ=YEARLY;BYEASTER=1"],
)
OFFICE = SlaPolicy(
    name="berlin-office",
    calendar=BERLIN,
    targets={
        1: {"response": timedelta(hours=2), "resolution": timedelta(hours=6)},
        2: {"response": timedelta(hours=4), "resolution": timedelta(hours=14)},
    },
)


def office(response_due_at: str, resolution_due_at: str, **changes: Any) -> dict[str, Any]:
    return running(response_due_at, resolution_due_at, policy="berlin-office", **changes)


@pytest.mark.parametrize(
    ("created", "priority", "response_due_at", "resolution_due_at"),
    [
        # Wed 10:00 Berlin: 10-12 for the response; 10-12 and 13-17 for the resolution.
        (at(15, 9), 1, "2025-01-15T11:00:00Z", "2025-01-15T16:00:00Z"),
        # Wed 12:30 Berlin, lunch: the clock starts at 13:00.
        (at(15, 11, 30), 1, "2025-01-15T14:00:00Z", "2025-01-16T10:00:00Z"),
        # Sat 13:00 Berlin: nothing counts until Monday 09:00.
        (at(18, 12), 1, "2025-01-20T10:00:00Z", "2025-01-20T15:00:00Z"),
        # Fri 16:00 CET: one hour Friday, the rest on Monday, which is CEST (UTC+2).
        (at(28, 15, month=3), 1, "2025-03-31T08:00:00Z", "2025-03-31T13:00:00Z"),
        (at(28, 15, month=3), 2, "2025-03-31T10:00:00Z", "2025-04-01T14:00:00Z"),
        # Thu 16:00 CEST before Easter: Good Friday and Easter Monday are holidays.
        (at(17, 14, month=4), 1, "2025-04-22T08:00:00Z", "2025-04-22T13:00:00Z"),
    ],
)
def test_a_policy_on_a_business_calendar_gives_working_time_deadlines(
    engine: Engine,
    api: Api,
    clock: ManualClock,
    created: datetime,
    priority: int,
    response_due_at: str,
    resolution_due_at: str,
) -> None:
    engine.sla.configure(OFFICE)
    clock.set(created)
    made = api.create(priority=priority)
    assert made["sla"] == office(response_due_at, resolution_due_at)
    assert sla_events(api, made["id"]) == [
        (
            "sla_applied",
            1,
            made["created_at"],
            {
                "policy": "berlin-office",
                "response_due_at": response_due_at,
                "resolution_due_at": resolution_due_at,
            },
        )
    ]


def test_a_pause_on_a_business_calendar_counts_only_working_time(
    engine: Engine, api: Api, clock: ManualClock
) -> None:
    engine.sla.configure(OFFICE)
    clock.set(at(28, 15, month=3))  # Fri 16:00 CET
    made = api.create(priority=1)
    clock.set(at(28, 15, 30, month=3))  # Fri 16:30: answered, then waiting
    waiting = put(api, made["id"], status="waiting_on_customer")
    assert waiting["sla"] == office(
        "2025-03-31T08:00:00Z", "2025-03-31T13:00:00Z", response_met=True, paused=True
    )
    clock.set(at(29, 12, month=3))  # Saturday: only Friday's last half hour has counted
    assert sla(api, made["id"])["resolution_due_at"] == "2025-03-31T13:30:00Z"
    clock.set(at(31, 8, month=3))  # Mon 10:00 CEST: 30 min Friday, 1 hour Monday
    resumed = put(api, made["id"], status="in_progress")["sla"]
    assert resumed == office("2025-03-31T08:00:00Z", "2025-03-31T14:30:00Z", response_met=True)
    assert sla_events(api, made["id"])[-1] == (
        "sla_resumed",
        3,
        "2025-03-31T08:00:00Z",
        {"paused_seconds": 5400, "resolution_due_at": "2025-03-31T14:30:00Z"},
    )
    clock.set(at(31, 14, 30, month=3))
    assert sla(api, made["id"])["breached"] is False
    clock.advance(seconds=1)
    assert sla(api, made["id"])["breached"] is True


def test_a_configured_policy_survives_reopening_the_file(db_path: str, clock: ManualClock) -> None:
    with Engine.open(db_path, clock=clock) as first:
        key = first.keys.create(scopes=["tickets:read", "tickets:write"])
        api = Api(first, key)
        before = api.create()  # under the default policy
        assert first.sla.policy.name == "default"
        assert first.sla.configure(OFFICE) == OFFICE
        assert first.sla.policy == OFFICE
        during = api.create(priority=1)  # Wed 10:00 Berlin
        assert during["sla"] == office("2025-01-15T11:00:00Z", "2025-01-15T16:00:00Z")

    clock.set(at(17, 15))  # Fri 16:00 Berlin
    with Engine.open(db_path, clock=clock) as second:
        api = Api(second, key)
        assert second.sla.policy == OFFICE
        assert second.sla.policy.name == "berlin-office"
        assert set(second.sla.policies) == {"default", "berlin-office"}
        after = api.create(priority=1)
        assert after["sla"] == office("2025-01-20T09:00:00Z", "2025-01-20T14:00:00Z")
        assert sla(api, during["id"]) == office(
            "2025-01-15T11:00:00Z", "2025-01-15T16:00:00Z", response_met=False, breached=True
        )
        old = sla(api, before["id"])
        assert old == running(
            "2025-01-17T09:00:00Z", "2025-01-20T09:00:00Z", response_met=False, breached=True
        )
        # The old ticket's pauses are still measured round the clock, weekend included.
        put(api, before["id"], status="waiting_on_customer")
        clock.set(at(20, 15))
        resumed = put(api, before["id"], status="in_progress")["sla"]
        assert resumed["policy"] == "default"
        assert resumed["resolution_due_at"] == "2025-01-23T09:00:00Z"
        assert set(listed(api, "sla_breach=true")) == {before["id"], during["id"], after["id"]}


# -- the audit trail -------------------------------------------------------------------------


def test_the_event_log_audits_a_typical_sla_history(api: Api, clock: ManualClock) -> None:
    made = api.create(priority=2)
    clock.set(at(15, 10))
    put(api, made["id"], status="in_progress")
    clock.set(at(15, 11))
    put(api, made["id"], status="waiting_on_customer")
    clock.set(at(15, 13))
    put(api, made["id"], status="in_progress")
    clock.set(at(15, 14))
    put(api, made["id"], priority=1)
    clock.set(at(15, 15, 0, 1))
    put(api, made["id"], status="resolved")
    clock.set(at(15, 16))
    close(api, made["id"])
    answer = api("GET", f"/v1/tickets/{made['id']}/events")
    assert [(e["type"], e["version"]) for e in answer.json["data"]] == [
        ("created", 1),
        ("sla_applied", 1),
        ("status_changed", 2),
        ("sla_fulfilled", 2),
        ("status_changed", 3),
        ("sla_paused", 3),
        ("status_changed", 4),
        ("sla_resumed", 4),
        ("field_changed", 5),
        ("sla_applied", 5),
        ("status_changed", 6),
        ("sla_paused", 6),
        ("sla_breached", 6),
        ("closed", 7),
    ]
    assert sla_events(api, made["id"]) == [
        (
            "sla_applied",
            1,
            "2025-01-15T09:00:00Z",
            {
                "policy": "default",
                "response_due_at": "2025-01-15T17:00:00Z",
                "resolution_due_at": "2025-01-17T09:00:00Z",
            },
        ),
        (
            "sla_fulfilled",
            2,
            "2025-01-15T10:00:00Z",
            {"target": "response", "due_at": "2025-01-15T17:00:00Z"},
        ),
        ("sla_paused", 3, "2025-01-15T11:00:00Z", {"resolution_due_at": "2025-01-17T09:00:00Z"}),
        (
            "sla_resumed",
            4,
            "2025-01-15T13:00:00Z",
            {"paused_seconds": 7200, "resolution_due_at": "2025-01-17T11:00:00Z"},
        ),
        (
            "sla_applied",
            5,
            "2025-01-15T14:00:00Z",
            {
                "policy": "default",
                "response_due_at": "2025-01-15T17:00:00Z",  # decided: held to its deadline
                "resolution_due_at": "2025-01-15T15:00:00Z",  # 09:00 + 4h + 2h paused
            },
        ),
        ("sla_paused", 6, "2025-01-15T15:00:01Z", {"resolution_due_at": "2025-01-15T15:00:00Z"}),
        (
            "sla_breached",
            6,
            "2025-01-15T15:00:01Z",
            {"target": "resolution", "due_at": "2025-01-15T15:00:00Z"},
        ),
    ]
    assert ticket(api, made["id"])["sla"] == running(
        "2025-01-15T17:00:00Z",
        "2025-01-15T15:59:59Z",  # frozen at close: 2h and 59:59 paused
        response_met=True,
        resolution_met=False,
        breached=True,
        paused=True,
    )


def test_the_event_log_audits_a_missed_response_and_an_on_time_close(
    api: Api, clock: ManualClock
) -> None:
    slow = api.create(priority=1)
    quick = api.create(priority=1, status="open")
    clock.set(at(15, 10))
    close(api, quick["id"])
    clock.set(at(15, 10, 30))
    put(api, slow["id"], internal_note="Still triaging.")  # the miss is recorded here
    clock.set(at(15, 11))
    put(api, slow["id"], status="open")  # no second record
    clock.set(at(15, 14))
    close(api, slow["id"])
    applied = {
        "policy": "default",
        "response_due_at": "2025-01-15T10:00:00Z",
        "resolution_due_at": "2025-01-15T13:00:00Z",
    }
    assert sla_events(api, quick["id"]) == [
        ("sla_applied", 1, "2025-01-15T09:00:00Z", applied),
        (
            "sla_fulfilled",
            1,
            "2025-01-15T09:00:00Z",
            {"target": "response", "due_at": "2025-01-15T10:00:00Z"},
        ),
        ("sla_paused", 2, "2025-01-15T10:00:00Z", {"resolution_due_at": "2025-01-15T13:00:00Z"}),
        (
            "sla_fulfilled",
            2,
            "2025-01-15T10:00:00Z",
            {"target": "resolution", "due_at": "2025-01-15T13:00:00Z"},
        ),
    ]
    assert sla_events(api, slow["id"]) == [
        ("sla_applied", 1, "2025-01-15T09:00:00Z", applied),
        (
            "sla_breached",
            2,
            "2025-01-15T10:30:00Z",
            {"target": "response", "due_at": "2025-01-15T10:00:00Z"},
        ),
        ("sla_paused", 4, "2025-01-15T14:00:00Z", {"resolution_due_at": "2025-01-15T13:00:00Z"}),
        (
            "sla_breached",
            4,
            "2025-01-15T14:00:00Z",
            {"target": "resolution", "due_at": "2025-01-15T13:00:00Z"},
        ),
    ]
