"""The list endpoint against a plain Python oracle.

Random ticket sets (created at varied clock times, in every status, with random
priorities, categories, assignees, contacts, tags and due dates, some past their SLA)
are listed with random queries, through ``engine.request`` with a query string or through
``engine.tickets.list``. The oracle filters and sorts the tickets' own JSON objects as the
contract describes; every page of the answer is walked and compared.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ayra_tickets import Engine, ManualClock
from ayra_tickets.storage.sqlite import tickets as store
from ayra_tickets.storage.sqlite.tickets import SEARCH_ONCE, WALK_SHARE
from tests import strategies as s
from tests.backends import fresh_engine
from tests.conftest import START, Api

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL

# -- the oracle -------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def number(ticket: dict[str, Any]) -> int:
    return int(ticket["number"].removeprefix("TICK-"))


def words(text: str) -> list[str]:
    return [word.lower() for word in re.findall(r"[A-Za-z0-9]+", text)]


def finds(search: str, ticket: dict[str, Any]) -> bool:
    """Every word of ``search`` is a word, or starts a word, of the subject or description."""
    wanted = words(search)
    have = words(ticket["subject"]) + words(ticket["description"])
    return bool(wanted) and all(any(h.startswith(w) for h in have) for w in wanted)


def matches(ticket: dict[str, Any], query: dict[str, Any]) -> bool:
    created = at(ticket["created_at"])
    due = None if ticket["due_date"] is None else at(ticket["due_date"])
    checks = {
        "status": lambda v: ticket["status"] in v,
        "priority": lambda v: ticket["priority"] in v,
        "category": lambda v: ticket["category"] == v,
        "assigned_to": lambda v: ticket["assigned_to"] == v,
        "contact_id": lambda v: ticket["contact_id"] == v,
        "created_after": lambda v: created >= v,
        "created_before": lambda v: created < v,
        "due_after": lambda v: due is not None and due >= v,
        "due_before": lambda v: due is not None and due < v,
        "sla_breach": lambda v: ticket["sla"]["breached"] is v,
        "tags": lambda v: set(v) <= set(ticket["tags"]),
        "search": lambda v: finds(v, ticket),
    }
    return all(check(query[name]) for name, check in checks.items() if name in query)


def oracle(tickets: list[dict[str, Any]], query: dict[str, Any]) -> list[str]:
    """The ids the list must answer, in order, over all pages."""
    found = [t for t in tickets if matches(t, query)]
    sort_by = query.get("sort_by", "created_at")
    desc = query.get("sort_order", "desc") == "desc"
    if sort_by == "due_date":
        dated = [t for t in found if t["due_date"] is not None]
        undated = [t for t in found if t["due_date"] is None]
        ordered = sorted(dated, key=lambda t: (at(t["due_date"]), number(t)), reverse=desc)
        ordered += sorted(undated, key=number, reverse=desc)
    elif sort_by == "priority":
        ordered = sorted(found, key=lambda t: (t["priority"], number(t)), reverse=desc)
    else:
        ordered = sorted(found, key=lambda t: (at(t[sort_by]), number(t)), reverse=desc)
    return [t["id"] for t in ordered]


# -- building ticket sets ---------------------------------------------------------------

plans = st.lists(
    st.fixed_dictionaries(
        {
            "gap": s.time_steps(max_seconds=2 * 86400),
            "body": s.create_bodies(),
            "target": st.one_of(st.none(), st.sampled_from(s.STATUSES)),
            "move_gap": s.time_steps(max_seconds=86400),
            "close": s.close_bodies,
        }
    ),
    max_size=15,
)


def build(
    engine: Engine, clock: ManualClock, plans: list[dict[str, Any]], order: list[int]
) -> list[str]:
    """Create the tickets, then move them to their target statuses in ``order``."""
    ids = []
    for plan in plans:
        clock.advance(plan["gap"])
        ids.append(engine.tickets.create(**plan["body"]).id)
    for index in order:
        plan, ticket_id = plans[index], ids[index]
        current = str(engine.tickets.get(ticket_id).status)
        target = plan["target"]
        if target in (None, "new", current):
            continue
        clock.advance(plan["move_gap"])
        if target in ("closed", "reopened"):
            engine.tickets.close(ticket_id, **plan["close"])
        if target != "closed":
            engine.tickets.update(ticket_id, status=target, internal_note="moved")
    return ids


# -- asking the engine ------------------------------------------------------------------


def render(value: Any, spelled: dict[datetime, str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return spelled[value]
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


class Lister:
    """Asks for one page through the wire (a query string) or the Python API."""

    def __init__(self, engine: Engine, api: Api, via_wire: bool, spelled: dict[datetime, Any]):
        self.engine, self.api, self.via_wire, self.spelled = engine, api, via_wire, spelled

    def page(
        self, query: dict[str, Any], page: int | None, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], Any]:
        params = dict(query) if page is None else {**query, "page": page}
        if cursor is not None:
            params["cursor"] = cursor
        if self.via_wire:
            text = {k: render(v, self.spelled) for k, v in params.items()}
            response = self.api("GET", "/v1/tickets?" + urlencode(text))
            assert response.status == 200, (text, response.json)
            assert set(response.json) == {"data", "meta"}
            return response.json["data"], response.json["meta"]
        kwargs = {
            k: self.spelled.get(v, v) if isinstance(v, datetime) else v for k, v in params.items()
        }
        listed = self.engine.tickets.list(**kwargs)
        return [t.to_dict() for t in listed], listed.meta


@contextlib.contextmanager
def restored_walk_share() -> Iterator[None]:
    try:
        yield
    finally:
        store.WALK_SHARE = WALK_SHARE
        store.SEARCH_ONCE = SEARCH_ONCE


@settings(max_examples=150)
@given(plans=plans, data=st.data())
def test_every_list_query_answers_the_oracles_tickets_in_its_order_page_by_page(
    plans: list[dict[str, Any]], data: st.DataObject
) -> None:
    every_list_query_answers_the_oracle(None, plans, data)


POSTGRES_EXAMPLES = 40
"""The same on PostgreSQL, with fewer ticket sets (each is a new schema)."""


@settings(max_examples=POSTGRES_EXAMPLES)
@given(plans=plans, data=st.data())
def test_every_list_query_answers_the_oracles_tickets_in_its_order_on_postgres(
    postgres_server: str, plans: list[dict[str, Any]], data: st.DataObject
) -> None:
    every_list_query_answers_the_oracle(postgres_server, plans, data)


def every_list_query_answers_the_oracle(
    server: str | None, plans: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Tickets made from ``plans`` on a new database (SQLite in memory, or a schema of
    the PostgreSQL ``server``), listed by random queries, every page of each checked."""
    clock = ManualClock(START)
    with fresh_engine(server, clock) as engine, restored_walk_share():
        for agent_id, name in s.AGENT_NAMES.items():
            engine.agents.add(agent_id, name)
        api = Api(engine, engine.keys.create(scopes=["tickets:read"]))
        order = data.draw(st.permutations(range(len(plans))), label="move order")
        ids = build(engine, clock, plans, order)
        clock.advance(
            data.draw(st.integers(0, 20 * 86400), label="final gap") * timedelta(seconds=1)
        )
        tickets = [engine.tickets.get(i).to_dict() for i in ids]
        by_id = {t["id"]: t for t in tickets}
        created = [at(t["created_at"]) for t in tickets]
        due = [at(t["due_date"]) for t in tickets if t["due_date"] is not None]

        for _ in range(data.draw(st.integers(1, 5), label="queries")):
            query = data.draw(s.list_queries(created, due), label="query")
            via_wire = data.draw(st.booleans(), label="via wire")
            spelled = {
                value: data.draw(
                    s.spelled_time(value, python_ok=not via_wire), label=f"{name} spelled"
                )
                for name, value in query.items()
                if isinstance(value, datetime)
            }
            lister = Lister(engine, api, via_wire, spelled)
            # Both ways a page can be read: matches gathered and sorted (what few get),
            # or the order's index walked (what many get, and any match of a small table).
            gather = data.draw(st.booleans(), label="gather and sort")
            store.WALK_SHARE = 0 if gather else WALK_SHARE
            # A search of several words: from one read of the search index, or counted
            # and paged by statements (what more than SEARCH_ONCE matches get).
            once = data.draw(st.booleans(), label="search read once")
            store.SEARCH_ONCE = SEARCH_ONCE if once else 0
            expected = oracle(tickets, query)
            per_page = query.get("per_page", 25)
            total_pages = math.ceil(len(expected) / per_page)
            seen: list[str] = []
            first_cursor = None
            for page in range(1, total_pages + 2):
                omit = page == 1 and data.draw(st.booleans(), label="omit page=1")
                items, meta = lister.page(query, None if omit else page)
                next_cursor = meta.pop("next_cursor")
                assert (next_cursor is None) == (page >= total_pages)
                first_cursor = next_cursor if page == 1 else first_cursor
                assert meta == {
                    "total": len(expected),
                    "page": page,
                    "per_page": per_page,
                    "total_pages": total_pages,
                }
                if page <= total_pages:
                    assert 0 < len(items) <= per_page
                else:
                    assert items == []  # a page past the last one
                for item in items:
                    assert item == by_id[item["id"]]
                seen += [item["id"] for item in items]
            assert seen == expected
            # The same walk by cursor: page 1, then each next_cursor until there is none.
            walked = seen[:per_page]
            cursor = first_cursor
            while cursor is not None:
                items, meta = lister.page(query, None, cursor)
                assert meta["total"] is None
                assert meta["per_page"] == per_page
                assert 0 < len(items) <= per_page
                walked += [item["id"] for item in items]
                cursor = meta["next_cursor"]
            assert walked == expected
            store.WALK_SHARE = WALK_SHARE
            store.SEARCH_ONCE = SEARCH_ONCE
            event("matches", min(len(expected), 4))
            event("pages", min(total_pages, 3))
            assert len(set(seen)) == len(seen)


# -- search, by example -------------------------------------------------------------------

TEXTS = {
    "printer": ("Printer on fire", "Smoke from tray 2, near the window."),
    "invoice": ("Invoice missing", "Refund the ORDER and notice the customer."),
    "login": ("Login fails on Android", "Password reset does not arrive."),
}


@pytest.fixture
def texts(api: Api) -> dict[str, str]:
    """Three tickets with known words; their ids by nickname."""
    return {
        name: api.create(subject=subject, description=description)["id"]
        for name, (subject, description) in TEXTS.items()
    }


def searched(api: Api, text: str) -> list[str]:
    response = api("GET", "/v1/tickets?" + urlencode({"search": text, "sort_order": "asc"}))
    assert response.status == 200, response.json
    return [t["id"] for t in response.json["data"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("printer", ["printer"]),
        ("PRINTER", ["printer"]),
        ("pRiNt", ["printer"]),
        ("smo", ["printer"]),
        ("window", ["printer"]),
        ("order", ["invoice"]),
        ("ord", ["invoice"]),
        ("refund invoice", ["invoice"]),
        ("fire printer", ["printer"]),
        ("the", ["printer", "invoice"]),
        ("rinter", []),
        ("printers", []),
        ("printer refund", []),
        ("zebra", []),
        ("snew", []),  # the index's status tokens are never matched by words
        ("s", ["printer"]),
    ],
)
def test_search_finds_whole_words_and_word_prefixes_in_subject_and_description_in_any_case(
    api: Api, texts: dict[str, str], text: str, expected: list[str]
) -> None:
    assert searched(api, text) == [texts[name] for name in expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"printer', ["printer"]),
        ('printer"', ["printer"]),
        ('"fire printer"', ["printer"]),
        ("print*", ["printer"]),
        ("(printer)", ["printer"]),
        ("-printer", ["printer"]),
        ("^printer", ["printer"]),
        ("printer + fire", ["printer"]),
        ("printer NEAR fire", ["printer"]),
        ("NEAR(printer fire)", ["printer"]),
        ("NEAR(printer fire, 2)", ["printer"]),
        ("invoice OR order", ["invoice"]),
        ("printer OR invoice", []),
        ("login AND android", ["login"]),
        ("NOT password", ["login"]),
        ("subject:printer", []),
        ("*", []),
        ('"', []),
        (")(", []),
    ],
)
def test_fts_syntax_in_search_text_is_searched_as_words_not_an_error(
    api: Api, texts: dict[str, str], text: str, expected: list[str]
) -> None:
    assert searched(api, text) == [texts[name] for name in expected]
    # The property test's oracle reads the text the same way.
    oracle_found = [
        n
        for n, (subj, desc) in TEXTS.items()
        if finds(text, {"subject": subj, "description": desc})
    ]
    assert oracle_found == expected


def test_a_search_with_a_status_counts_and_lists_only_that_status(
    api: Api, texts: dict[str, str]
) -> None:
    api("PUT", f"/v1/tickets/{texts['invoice']}", json={"status": "open"})
    api("PUT", f"/v1/tickets/{texts['printer']}/close", json={})

    def found(query: str) -> tuple[int, list[str]]:
        response = api("GET", "/v1/tickets?" + query)
        assert response.status == 200, response.json
        return response.json["meta"]["total"], [t["id"] for t in response.json["data"]]

    assert found("search=the&status=open") == (1, [texts["invoice"]])
    assert found("search=the&status=closed") == (1, [texts["printer"]])
    assert found("search=the&status=open,closed&sort_order=asc") == (
        2,
        [texts["printer"], texts["invoice"]],
    )
    assert found("search=the&status=new") == (0, [])
    assert found("search=!!!&status=new") == (0, [])  # no words: nothing, whatever else


def test_a_list_of_nothing_has_zero_pages_and_page_one_is_empty(api: Api) -> None:
    response = api("GET", "/v1/tickets?per_page=5")
    assert response.status == 200
    assert response.json == {
        "data": [],
        "meta": {"total": 0, "page": 1, "per_page": 5, "total_pages": 0, "next_cursor": None},
    }


def test_tickets_without_a_due_date_sort_last_in_both_orders(api: Api) -> None:
    early = api.create(due_date="2025-01-20T10:00:00Z")["id"]
    none_1 = api.create()["id"]
    late = api.create(due_date="2025-01-21T10:00:00+02:00")["id"]
    none_2 = api.create()["id"]
    same = api.create(due_date="2025-01-20T10:00:00Z")["id"]
    for order, expected in (
        ("asc", [early, same, late, none_1, none_2]),
        ("desc", [late, same, early, none_2, none_1]),
    ):
        response = api("GET", f"/v1/tickets?sort_by=due_date&sort_order={order}")
        assert [t["id"] for t in response.json["data"]] == expected


def test_the_reference_examples_list_by_status_priority_and_sla_breach(
    api: Api, clock: ManualClock
) -> None:
    urgent = api.create(priority=2, status="open", due_date="2025-01-16T17:00:00Z")["id"]
    api.create(priority=2)
    api.create(priority=3, status="open")
    clock.advance(hours=8, seconds=1)  # past the High response target of an unanswered ticket
    listed = api("GET", "/v1/tickets?status=open&priority=2&sort_by=due_date&sort_order=asc")
    assert [t["id"] for t in listed.json["data"]] == [urgent]
    item = listed.json["data"][0]
    assert item["priority_label"] == "High"
    assert "assigned_name" in item
    clock.advance(days=2)  # now past the High resolution target of the open ticket too
    breached = api("GET", "/v1/tickets?sla_breach=true&status=open")
    assert [t["id"] for t in breached.json["data"]] == [urgent]


def test_search_ignores_case_beyond_ascii_too(api: Api) -> None:
    ticket = api.create(subject="Café crème", description="Ärger über die École")["id"]
    for text in ("CAFÉ", "café", "ärger", "ÄRG", "école", "ÉCOLE"):
        assert searched(api, text) == [ticket], text


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("page=two", "page"),
        ("sort_by=number", "sort_by"),
        ("sort_order=up", "sort_order"),
        ("status=open,bogus", "status"),
        ("priority=5", "priority"),
        ("sla_breach=yes", "sla_breach"),
        ("created_after=yesterday", "created_after"),
        ("due_before=2025-01-16", "due_before"),
        ("tags=", "tags"),
        ("search=", "search"),
        ("colour=red", "colour"),
        ("status=open&status=new", "status"),
    ],
)
def test_a_bad_list_parameter_is_a_400_naming_it(api: Api, query: str, param: str) -> None:
    response = api("GET", f"/v1/tickets?{query}")
    assert response.status == 400
    assert response.json["error"]["type"] == "validation_error"
    assert response.json["error"]["param"] == param
