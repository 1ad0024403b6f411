"""``docs/contract.md`` says what the code does: its tables are read and held to the code.

The contract a user reads ships in the project. Each of its tables that the code also
holds as data is parsed here and compared both ways with the code (the wire layer's
routes and the OpenAPI document, every error class, the transition table, the statuses,
the priorities and their default targets, the fields each route takes, the ticket object,
the limits), so that a change to either one alone fails a test.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import ayra_tickets
from ayra_tickets import Engine, ManualClock, TicketError, local, service, wire
from ayra_tickets.domain import times, validation
from ayra_tickets.domain.errors import ValidationError
from ayra_tickets.domain.lifecycle import CREATE_STATUSES, PAUSED_STATUSES, TRANSITIONS, Status
from ayra_tickets.domain.priority import DEFAULT_PRIORITY, Priority
from ayra_tickets.domain.sla import DEFAULT_TARGETS, SlaPolicy
from ayra_tickets.server import INTERNAL_ERROR
from ayra_tickets.storage.errors import DatabaseBusy, StorageUnavailable
from tests.conftest import START

DOC = Path(__file__).resolve().parent.parent / "docs" / "contract.md"

Row = dict[str, str]


# -- reading the document -------------------------------------------------------------


@cache
def sections() -> dict[str, str]:
    """Each heading's text (without the #s) and the text under it, to the next heading."""
    found: dict[str, str] = {}
    heading = ""
    lines: list[str] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            found[heading] = "\n".join(lines)
            heading, lines = line.lstrip("#").strip(), []
        else:
            lines.append(line)
    found[heading] = "\n".join(lines)
    return found


def section(starts: str) -> str:
    """The text under the one heading that begins with ``starts``."""
    (text,) = [body for heading, body in sections().items() if heading.startswith(starts)]
    return text


def tables(text: str) -> Iterator[list[Row]]:
    """The Markdown tables in ``text``, each as rows keyed by the header's cells."""
    block: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        if block:
            header, rule, *body = block
            assert all(set(cell) <= set("-: ") for cell in rule), f"not a table: {block[:2]}"
            assert all(len(row) == len(header) for row in body), f"a ragged table: {header}"
            yield [dict(zip(header, row, strict=True)) for row in body]
            block = []


def table(heading: str, first_column: str) -> list[Row]:
    """The table under ``heading`` whose first column is ``first_column``."""
    text = section(heading)
    (found,) = [rows for rows in tables(text) if rows and next(iter(rows[0])) == first_column]
    return found


def plain(cell: str) -> str:
    """A cell's text without code marks."""
    return cell.replace("`", "").strip()


def names(cell: str) -> list[str]:
    """The code-marked names in a cell, in order (``a``, ``b`` -> [a, b])."""
    return re.findall(r"`([^`]+)`", cell)


def column(rows: list[Row], name: str) -> list[str]:
    return [plain(row[name]) for row in rows]


def number(text: str) -> int:
    """The first whole number written in ``text`` (thousands separated by commas)."""
    found = re.search(r"\d[\d,]*", text)
    assert found is not None, f"no number in {text!r}"
    return int(found.group().replace(",", ""))


def unit(text: str) -> str:
    """The word after the first number in ``text`` (``""`` when none follows)."""
    found = re.search(r"\d[\d,]*(?: (\w+))?", text)
    assert found is not None, f"no number in {text!r}"
    return found.group(1) or ""


def duration(text: str) -> timedelta:
    """``1 hour``, ``8 hours``, ``2 days`` as a timedelta."""
    found = re.fullmatch(r"(\d+) (hour|day)s?", text.strip())
    assert found is not None, f"not a duration: {text!r}"
    amount, unit = int(found.group(1)), found.group(2)
    return timedelta(hours=amount) if unit == "hour" else timedelta(days=amount)


# -- routes ---------------------------------------------------------------------------


def served_routes() -> set[tuple[str, str, str]]:
    """(method, path, scope) of every route the wire layer answers, paths as in the doc."""
    routes = {("GET", "/openapi.json", "none")}  # answered before the table, with no key
    for pattern, methods in wire.ROUTES:
        path = pattern.pattern.replace("(?P<id>[^/]+)", "{id}")
        assert not set(path) & set("()[]?+*\\"), f"a route the doc cannot name: {path}"
        routes |= {(method, path, scope) for method, (scope, _) in methods.items()}
    return routes


def documented_routes() -> list[Row]:
    return table("Routes", "method")


def test_the_contract_lists_every_served_route_and_only_those() -> None:
    documented = {
        (plain(row["method"]), plain(row["path"]), plain(row["scope"]))
        for row in documented_routes()
    }
    assert documented == served_routes()
    assert len(documented) == len(documented_routes()), "a route is listed twice"


def test_the_route_table_matches_the_openapi_paths_and_success_codes() -> None:
    document = wire.openapi_document()
    in_openapi = {
        (method.upper(), path): next(code for code in operation["responses"] if code < "300")
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }
    documented = {
        (plain(row["method"]), plain(row["path"])): plain(row["success"])
        for row in documented_routes()
    }
    assert documented == in_openapi


def test_each_documented_route_asks_for_the_scope_the_contract_names() -> None:
    """No key: 401, but for the route that needs none; the other scope's key: 403."""
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        keys = {scope: engine.keys.create(scopes=[scope]) for scope in (wire.READ, wire.WRITE)}
        for row in documented_routes():
            method, scope = plain(row["method"]), plain(row["scope"])
            path = plain(row["path"]).replace("{id}", "ticket_doesnotexist0")
            keyless = engine.request(method, path)
            if scope == "none":
                assert keyless.status == int(plain(row["success"])), path
                continue
            assert keyless.json["error"]["code"] == "missing_api_key", path
            (other,) = set(keys) - {scope}
            refused = engine.request(
                method, path, headers={"Authorization": f"Bearer {keys[other]}"}
            )
            assert (refused.status, refused.json["error"]["scope"]) == (403, scope), path


# -- errors ---------------------------------------------------------------------------


def every_subclass(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from every_subclass(sub)


def import_every_module() -> None:
    """Every module of the package, so that every error class it defines exists."""
    for module in pkgutil.walk_packages(ayra_tickets.__path__, "ayra_tickets."):
        importlib.import_module(module.name)


def answerable_errors() -> set[tuple[int, str, str]]:
    """(status, type, code) of every error answer the code can give."""
    import_every_module()
    found = {
        (cls.status, cls.type, cls.code)
        for cls in every_subclass(TicketError)
        if "code" in vars(cls)  # a class of its own code, not a grouping of codes
    }
    for cls in {StorageUnavailable, *every_subclass(StorageUnavailable)}:
        answer = wire.unavailable_response(cls("the database is elsewhere"))
        found.add((answer.status, answer.json["error"]["type"], answer.json["error"]["code"]))
    found.add((500, INTERNAL_ERROR["error"]["type"], INTERNAL_ERROR["error"]["code"]))
    return found


def documented_errors() -> list[Row]:
    return table("Errors", "HTTP")


def test_the_error_table_holds_every_code_answered_with_its_status_and_type() -> None:
    documented = {
        (int(row["HTTP"]), plain(row["type"]), plain(row["code"])) for row in documented_errors()
    }
    assert len(documented) == len(documented_errors()), "a code is listed twice"
    assert documented == answerable_errors()


def test_the_contract_says_which_busy_answer_carries_retry_after_and_its_value() -> None:
    (busy,) = [row for row in documented_errors() if plain(row["code"]) == DatabaseBusy.code]
    assert f"Retry-After: {DatabaseBusy.retry_after}" in plain(busy["when"])
    assert not any(
        "Retry-After" in row["when"]
        for row in documented_errors()
        if plain(row["code"]) != DatabaseBusy.code
    )


def test_the_control_plane_table_lists_exactly_its_routes() -> None:
    documented = {
        (plain(row["method"]), plain(row["path"])) for row in table("The local control", "method")
    }
    assert documented == {
        (method, path) for path, methods in local.ROUTES.items() for method in methods
    }


# -- lifecycle ------------------------------------------------------------------------


def test_the_contract_transition_table_is_the_lifecycles_transitions() -> None:
    rows = table("Lifecycle", "from")
    documented = {plain(row["from"]): set(names(row["may move to"])) for row in rows}
    assert len(documented) == len(rows)
    assert documented == {str(s): {str(t) for t in targets} for s, targets in TRANSITIONS.items()}


def test_the_status_table_says_where_tickets_start_and_the_clock_stops() -> None:
    rows = table("Lifecycle", "status")
    assert column(rows, "status") == [str(s) for s in Status]
    assert {plain(r["status"]) for r in rows if r["may be created in"] == "yes"} == {
        str(s) for s in CREATE_STATUSES
    }
    assert {plain(r["status"]) for r in rows if r["resolution clock"] == "paused"} == {
        str(s) for s in PAUSED_STATUSES
    }
    assert {r["may be created in"] for r in rows} == {"yes", "no"}
    assert {r["resolution clock"] for r in rows} == {"runs", "paused"}


# -- priorities and SLA ---------------------------------------------------------------


def test_the_contract_priorities_labels_and_default_targets_are_the_domains() -> None:
    rows = table("Priorities and SLA targets", "priority")
    documented = {
        int(row["priority"]): (
            row["label"],
            duration(row["first response target"]),
            duration(row["resolution target"]),
        )
        for row in rows
    }
    assert documented == {
        int(p): (p.label, DEFAULT_TARGETS[p].response, DEFAULT_TARGETS[p].resolution)
        for p in Priority
    }
    default = re.search(r"without a priority gets (\d)", section("Priorities and SLA targets"))
    assert default is not None
    assert int(default.group(1)) == DEFAULT_PRIORITY


# -- fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "first_column", "taken"),
    [
        ("Create", "field", validation.CREATE_PARAMS),
        ("Update", "field", validation.UPDATE_PARAMS),
        ("Close", "field", validation.CLOSE_PARAMS),
        ("List", "parameter", validation.LIST_PARAMS),
        ("Metrics", "parameter", ("start", "end", "interval", *service.METRIC_FILTERS)),
    ],
)
def test_each_routes_field_table_lists_exactly_the_fields_the_route_takes(
    heading: str, first_column: str, taken: tuple[str, ...]
) -> None:
    documented = column(table(heading, first_column), first_column)
    assert sorted(documented) == sorted(taken)


def test_the_metrics_parameter_table_is_the_openapi_documents() -> None:
    operation = wire.openapi_document()["paths"]["/v1/tickets/metrics"]["get"]
    documented = table("Metrics", "parameter")
    assert column(documented, "parameter") == [p["name"] for p in operation["parameters"]]
    required = {p["name"] for p in operation["parameters"] if p.get("required")}
    assert {plain(r["parameter"]) for r in documented if "required" in r["meaning"]} == required


def test_the_ranges_and_defaults_in_the_field_tables_are_the_ones_validation_enforces() -> None:
    """Every "N to M" of an integer field, every "N or more", and every default."""
    probes = {
        "Create": lambda name, value: validation.validate_create(
            {"subject": "s", "description": "d", name: value}
        ),
        "Update": lambda name, value: validation.validate_update({name: value}),
        "Close": lambda name, value: validation.validate_close({name: value}),
        "List": lambda name, value: validation.validate_list({name: value}),
    }
    checked = 0
    for heading, probe in probes.items():
        first = "parameter" if heading == "List" else "field"
        for row in table(heading, first):
            name, rules = plain(row[first]), plain(row.get("rules") or row["meaning"])
            if not row["type"].startswith("integer"):
                continue
            between = re.search(r"(\d[\d,]*) to (\d[\d,]*)", rules)
            at_least = re.search(r"(\d+) or more", rules)
            low, high = (
                (number(between.group(1)), number(between.group(2)))
                if between
                else (number(at_least.group(1)) if at_least else None, None)
            )
            assert low is not None, f"{heading} {name}: no range written"
            probe(name, low)
            with pytest.raises(ValidationError):
                probe(name, low - 1)
            if high is not None:
                probe(name, high)
                with pytest.raises(ValidationError):
                    probe(name, high + 1)
            checked += 1
    assert checked == 6  # priority twice, customer_satisfaction, resolution_time, page, per_page

    list_defaults = {
        plain(row["parameter"]): found.group(1)
        for row in table("List", "parameter")
        if (found := re.search(r"default `?(\w+)`?", row["meaning"]))
    }
    assert list_defaults == {
        name: str(getattr(validation.ListQuery(), name))
        for name in ("page", "per_page", "sort_by", "sort_order")
    }
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        made = engine.tickets.create(subject="s", description="d").to_dict()
    create_defaults = {
        plain(row["field"]): found.group(1)
        for row in table("Create", "field")
        if (found := re.search(r"default `?(\w+)`?", row["rules"]))
    }
    assert create_defaults == {"priority": str(made["priority"]), "status": made["status"]}


def test_the_ticket_object_table_lists_every_key_of_a_ticket_in_its_order() -> None:
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        ticket = engine.tickets.create(subject="s", description="d")
        answer = ticket.to_dict()
        events = engine.tickets.events(ticket.id)
    assert column(table("The ticket object", "field"), "field") == list(answer)
    assert column(table("The `sla` object", "key"), "key") == list(answer["sla"])
    assert column(table("Events: the ticket", "key"), "key") == list(events[0].to_dict())


# -- limits ---------------------------------------------------------------------------


def accepted(call: Any) -> bool:
    try:
        call()
    except (ValidationError, ValueError):
        return False
    return True


def longest(make: Any, limit: int) -> bool:
    """Whether ``limit`` is the largest size ``make`` accepts."""
    return accepted(lambda: make(limit)) and not accepted(lambda: make(limit + 1))


def limits_in_code() -> dict[str, tuple[int, str]]:
    """Each row of the doc's limits table: the number the code holds, and its unit."""
    v = validation
    return {
        "subject": (v.SUBJECT_MAX, "characters"),
        "description": (v.DESCRIPTION_MAX, "characters"),
        "internal_note": (v.INTERNAL_NOTE_MAX, "characters"),
        "resolution_note": (v.RESOLUTION_NOTE_MAX, "characters"),
        "contact_id, conversation_id, assigned_to": (v.REFERENCE_MAX, "characters"),
        "category, root_cause": (v.LABEL_MAX, "characters"),
        "one tag": (v.TAG_MAX, "characters"),
        "tags a ticket": (v.TAGS_MAX, "tags"),
        "custom_fields, metadata": (v.OBJECT_MAX_BYTES, "bytes"),
        "how deep custom fields and metadata nest": (v.OBJECT_MAX_DEPTH, "levels"),
        "resolution_time": (v.RESOLUTION_TIME_MAX, "minutes"),
        "the tags filter of a list or metrics": (v.TAGS_FILTER_MAX, "characters"),
        "search": (v.SEARCH_MAX, "characters"),
        "per_page": (v.PER_PAGE_MAX, "tickets"),
        "page": (v.PAGE_MAX, ""),
        "Idempotency-Key": (255, "characters"),
        "how long an idempotency key is remembered": (
            int(service.IDEMPOTENCY_WINDOW / timedelta(hours=1)),
            "hours",
        ),
        "metrics window": (service.MAX_BUCKETS, "buckets"),
        "request body": (wire.MAX_BODY_BYTES, "bytes"),
        "request headers, names and values together": (wire.MAX_HEADER_BYTES, "bytes"),
        "SLA policy name": (100, "characters"),
        "agent display name": (200, "characters"),
        "chosen key secret": (200, "characters"),
        "earliest year of a date-time (a due date, a date filter, a metrics window)": (
            times.EARLIEST_YEAR,
            "",
        ),
        "latest year of a date-time": (times.LATEST_YEAR, ""),
        "cursor": (512, "characters"),
        "a seed to the control plane": (local.SEED_MAX_BYTES, "bytes"),
    }


def test_every_limit_in_the_contract_is_the_one_the_code_enforces() -> None:
    documented = {
        plain(row["limit"]): (number(row["value"]), unit(row["value"]))
        for row in table("Limits", "limit")
    }
    assert documented == limits_in_code()
    bounds = {name for name in vars(validation) if name.endswith(("_MAX", "_MAX_BYTES"))}
    used = {"SUBJECT_MAX", "DESCRIPTION_MAX", "INTERNAL_NOTE_MAX", "RESOLUTION_NOTE_MAX"}
    used |= {"REFERENCE_MAX", "LABEL_MAX", "TAG_MAX", "TAGS_MAX", "OBJECT_MAX_BYTES"}
    used |= {"SEARCH_MAX", "PER_PAGE_MAX", "PAGE_MAX", "RESOLUTION_TIME_MAX", "TAGS_FILTER_MAX"}
    assert bounds == used, "a bound of validation.py that the contract's limits do not name"


def test_the_limits_without_a_constant_are_the_ones_the_code_enforces() -> None:
    """The contract's limits that no constant holds, probed at the documented number."""
    written = {plain(row["limit"]): number(row["value"]) for row in table("Limits", "limit")}
    assert longest(
        lambda n: validation.validate_idempotency_key("k" * n, "Idempotency-Key"),
        written["Idempotency-Key"],
    )
    assert longest(lambda n: SlaPolicy(name="p" * n), written["SLA policy name"])
    assert longest(
        lambda n: validation.validate_agent("user_1", "a" * n), written["agent display name"]
    )
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        made = iter("abcdefgh")
        assert longest(
            lambda n: engine.keys.create(secret=next(made) * n), written["chosen key secret"]
        )


def test_the_character_limits_in_the_field_tables_match_the_limits_table() -> None:
    limits: dict[str, tuple[int, str]] = {}
    for row in table("Limits", "limit"):
        for name in names(row["limit"]):
            limits[name] = (number(row["value"]), plain(row["value"]))
    checked = 0
    for heading, first in (("Create", "field"), ("Update", "field"), ("Close", "field"),
                           ("List", "parameter")):  # fmt: skip
        for row in table(heading, first):
            written = re.search(
                r"(\d[\d,]*) (characters|bytes)", row.get("rules") or row["meaning"]
            )
            if written is None:
                continue
            name = plain(row[first])
            assert name in limits, f"{heading} {name}: a size the limits table does not hold"
            assert number(written.group(1)) == limits[name][0], f"{heading} {name}"
            checked += 1
    assert checked >= 12


# -- links ----------------------------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.lower().replace("`", ""))
    return text.replace(" ", "-")


def test_every_link_of_the_contract_leads_to_one_of_its_headings() -> None:
    anchors = {slug(heading) for heading in sections() if heading}
    targets = re.findall(r"\]\(([^)]+)\)", DOC.read_text(encoding="utf-8"))
    assert targets
    for target in targets:
        assert target.startswith("#"), f"a link out of the document: {target}"
        assert target[1:] in anchors, f"no heading for {target}"
