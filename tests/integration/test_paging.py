"""Cursor pagination: stable walks while the table changes, and cursors bound to queries."""

from __future__ import annotations

import random

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.errors import ParameterInvalid
from tests.conftest import Api

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL


def fill(engine: Engine, clock: ManualClock, count: int) -> list[str]:
    ids = []
    for i in range(count):
        if i % 3 == 0:
            clock.advance(minutes=1)  # a few share a created_at: ties go by number
        ids.append(engine.tickets.create(subject=f"T{i}", description="d", tags=["walk"]).id)
    return ids


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_a_cursor_walk_over_a_changing_table_returns_every_ticket_that_existed_once(
    engine: Engine, clock: ManualClock, order: str
) -> None:
    rng = random.Random(order)
    existing = fill(engine, clock, 60)
    seen: list[str] = []
    page = engine.tickets.list(tags="walk", sort_order=order, per_page=7)
    while True:
        seen += [t.id for t in page.data]
        # Meanwhile: new tickets arrive, others are edited, moved and closed.
        clock.advance(seconds=rng.randint(0, 90))
        for _ in range(rng.randint(1, 4)):
            engine.tickets.create(subject="late", description="arrival", tags=["walk"])
        for ticket_id in rng.sample(existing, 5):
            ticket = engine.tickets.get(ticket_id)
            if ticket.status == "closed":
                engine.tickets.update(ticket_id, status="reopened")
            elif rng.random() < 0.5:
                engine.tickets.close(ticket_id)
            else:
                engine.tickets.update(ticket_id, subject="edited", priority=rng.randint(1, 4))
        cursor = page.meta["next_cursor"]
        if cursor is None:
            break
        page = engine.tickets.list(tags="walk", sort_order=order, per_page=7, cursor=cursor)
        assert page.meta["total"] is None
    assert len(seen) == len(set(seen)), "a ticket came twice"
    assert set(existing) <= set(seen), "a ticket that existed throughout was skipped"


def test_the_wire_hands_out_cursors_and_takes_them_back(api: Api) -> None:
    made = [api.create(subject=f"S{i}")["id"] for i in range(5)]
    first = api("GET", "/v1/tickets?per_page=2&sort_order=asc").json
    assert [t["id"] for t in first["data"]] == made[:2]
    cursor = first["meta"]["next_cursor"]
    second = api("GET", f"/v1/tickets?per_page=2&sort_order=asc&cursor={cursor}").json
    assert [t["id"] for t in second["data"]] == made[2:4]
    assert second["meta"] == {
        "total": None, "page": None, "per_page": 2, "total_pages": None,
        "next_cursor": second["meta"]["next_cursor"],
    }  # fmt: skip
    third = api(
        "GET", f"/v1/tickets?per_page=2&sort_order=asc&cursor={second['meta']['next_cursor']}"
    ).json
    assert [t["id"] for t in third["data"]] == made[4:]
    assert third["meta"]["next_cursor"] is None


@pytest.mark.parametrize(
    ("changed", "param"),
    [
        ({"sort_order": "desc"}, "cursor"),
        ({"status": "open"}, "cursor"),
        ({"sort_by": "priority"}, "cursor"),
        ({"page": 2}, "page"),
    ],
)
def test_a_cursor_used_with_another_query_is_refused_naming_it(
    engine: Engine, changed: dict[str, object], param: str
) -> None:
    for i in range(3):
        engine.tickets.create(subject=f"S{i}", description="d")
    cursor = engine.tickets.list(per_page=1, sort_order="asc").meta["next_cursor"]
    assert cursor is not None
    with pytest.raises(ParameterInvalid) as caught:
        engine.tickets.list(**{"per_page": 1, "sort_order": "asc", "cursor": cursor, **changed})
    assert caught.value.param == param
    # per_page may change between pages: it is not part of the query's identity.
    assert len(engine.tickets.list(per_page=2, sort_order="asc", cursor=cursor).data) == 2


@pytest.mark.parametrize("junk", ["", "abc", "eyJ4IjoxfQ", "W10", "!!", "x" * 600])
def test_a_cursor_that_is_not_ours_is_a_400_naming_cursor(api: Api, junk: str) -> None:
    answer = api("GET", f"/v1/tickets?cursor={junk}")
    assert answer.status == 400
    assert answer.json["error"]["param"] == "cursor"
