"""Every parameter rule of create, update, close and list, through ``engine.request``.

A refused call answers 400 ``validation_error`` naming the parameter in ``param`` and
changes nothing: no row anywhere, no change to the ticket, and no ticket number used up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ayra_tickets import Engine, Response
from tests.conftest import Api, table_counts

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL

MISSING = object()
"""Leave this field out of the body."""

BASE = {"subject": "Printer on fire", "description": "Smoke from tray 2"}


def create_body(**changes: Any) -> dict[str, Any]:
    body = dict(BASE)
    for name, value in changes.items():
        if value is MISSING:
            del body[name]
        else:
            body[name] = value
    return body


def assert_invalid(response: Response, code: str, param: str | None) -> None:
    assert response.status == 400, response.json
    assert set(response.json) == {"error"}
    error = response.json["error"]
    assert error["type"] == "validation_error"
    assert error["code"] == code
    assert error["message"].strip()
    if param is not None:
        assert error["param"] == param


class Witness:
    """Remembers the database and one ticket, to check that a refused call changed nothing."""

    def __init__(self, api: Api, ticket_id: str) -> None:
        self.api = api
        self.ticket_id = ticket_id
        self.before = self._state()

    def _state(self) -> tuple[dict[str, int], Any]:
        return table_counts(self.api.engine), self.api("GET", f"/v1/tickets/{self.ticket_id}").json

    def assert_unchanged(self) -> None:
        assert self._state() == self.before


@pytest.fixture
def ticket(api: Api) -> dict[str, Any]:
    """TICK-1, open for updates, with a category, an assignee and a due date to clear."""
    return api.create(
        category="billing",
        assigned_to="user_jane",
        due_date="2025-01-20T17:00:00Z",
        tags=["printer"],
        custom_fields={"plan": "pro", "seats": 5},
    )


@pytest.fixture
def witness(api: Api, ticket: dict[str, Any]) -> Witness:
    return Witness(api, ticket["id"])


# -- create: refused ---------------------------------------------------------------

WRONG_TYPES = [42, 4.5, True, ["x"], {"x": 1}]

CREATE_REFUSALS = [
    *[
        pytest.param({name: value}, "parameter_missing", name, id=f"{name}-{label}")
        for name in ("subject", "description")
        for value, label in ((MISSING, "missing"), (None, "null"))
    ],
    *[
        pytest.param({name: value}, "parameter_invalid", name, id=f"{name}-{value!r}")
        for name in ("subject", "description")
        for value in ["", "   ", "\n\t", *WRONG_TYPES]
    ],
    pytest.param({"subject": "s" * 201}, "parameter_too_long", "subject", id="subject-201"),
    pytest.param(
        {"description": "d" * 10_001}, "parameter_too_long", "description", id="description-10001"
    ),
    *[
        pytest.param({"priority": value}, "parameter_invalid", "priority", id=f"priority-{value!r}")
        for value in (0, 5, -1, "2", 2.5, 5.0, True, False, [2], "High")
    ],
    *[
        pytest.param({"status": value}, "parameter_invalid", "status", id=f"status-{value!r}")
        for value in (
            "waiting_on_customer",
            "waiting_on_third_party",
            "resolved",
            "closed",
            "reopened",
            "NEW",
            "pending",
            "",
            1,
        )
    ],
    *[
        pytest.param({"tags": value}, "parameter_invalid", "tags", id=f"tags-{value!r}")
        for value in (
            "refund,urgent",
            "refund",
            ["refund,urgent"],
            [1],
            ["ok", None],
            [""],
            {"a": 1},
        )
    ],
    *[
        pytest.param({name: value}, "parameter_invalid", name, id=f"{name}-{value!r}")
        for name in ("custom_fields", "metadata")
        for value in ([], ["a"], "plan=pro", 1, True)
    ],
    *[
        pytest.param({"due_date": value}, "parameter_invalid", "due_date", id=f"due-{value!r}")
        for value in (
            "2025-01-16",
            "tomorrow",
            "2025-13-01T00:00:00Z",
            "2025-01-16T25:00:00Z",
            "",
            1737046800,
            True,
        )
    ],
    *[
        pytest.param({name: value}, "parameter_invalid", name, id=f"{name}-{value!r}")
        for name in ("category", "contact_id", "conversation_id", "assigned_to")
        for value in (42, ["x"], "")
    ],
    *[
        pytest.param({name: "x"}, "parameter_unknown", name, id=f"unknown-{name}")
        for name in ("colour", "internal_note", "resolution_note", "id", "number", "Subject")
    ],
]


@pytest.mark.parametrize(("changes", "code", "param"), CREATE_REFUSALS)
def test_a_refused_create_changes_nothing_and_uses_up_no_number(
    api: Api, witness: Witness, changes: dict[str, Any], code: str, param: str
) -> None:
    assert_invalid(api("POST", "/v1/tickets", create_body(**changes)), code, param)
    witness.assert_unchanged()
    assert api.create()["number"] == "TICK-2"


# -- create: accepted --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "length"), [("subject", 200), ("description", 10_000), ("description", 1)]
)
def test_a_create_text_exactly_at_its_limit_is_accepted(api: Api, name: str, length: int) -> None:
    value = "é" * length
    assert api.create(**{name: value})[name] == value


@pytest.mark.parametrize(
    ("priority", "label"), [(1, "Critical"), (2, "High"), (3, "Normal"), (4, "Low")]
)
def test_each_priority_from_one_to_four_is_accepted_with_its_label(
    api: Api, priority: int, label: str
) -> None:
    ticket = api.create(priority=priority)
    assert (ticket["priority"], ticket["priority_label"]) == (priority, label)


def test_priority_defaults_to_normal_and_status_to_new(api: Api) -> None:
    ticket = api.create()
    assert (ticket["priority"], ticket["status"]) == (3, "new")


@pytest.mark.parametrize("status", ["new", "open", "in_progress"])
def test_a_ticket_may_be_created_new_open_or_in_progress(api: Api, status: str) -> None:
    assert api.create(status=status)["status"] == status


def test_duplicate_tags_collapse_keeping_their_first_order(api: Api) -> None:
    assert api.create(tags=["refund", "urgent", "refund", "vip", "urgent"])["tags"] == [
        "refund",
        "urgent",
        "vip",
    ]


def test_custom_fields_and_metadata_objects_are_kept_as_sent(api: Api) -> None:
    custom = {"plan": "pro", "seats": 5, "nested": {"a": [1, 2]}}
    metadata = {"source": "email", "flag": True}
    ticket = api.create(custom_fields=custom, metadata=metadata)
    assert (ticket["custom_fields"], ticket["metadata"]) == (custom, metadata)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2025-01-16T17:00:00Z", "2025-01-16T17:00:00Z"),
        ("2025-01-16T19:00:00+02:00", "2025-01-16T17:00:00Z"),
        ("2025-01-16T12:00:00-05:00", "2025-01-16T17:00:00Z"),
        ("2025-01-16T17:00:00", "2025-01-16T17:00:00Z"),
        ("2025-01-16T17:00:00+00:00", "2025-01-16T17:00:00Z"),
    ],
)
def test_a_due_date_is_read_as_iso_8601_and_answered_in_utc(
    api: Api, sent: str, stored: str
) -> None:
    assert api.create(due_date=sent)["due_date"] == stored


# -- update: refused ---------------------------------------------------------------

UPDATE_REFUSALS = [
    *[
        pytest.param({name: value}, "parameter_invalid", name, id=f"{name}-{value!r}")
        for name in ("subject", "description", "internal_note")
        for value in ["", "   ", *WRONG_TYPES]
    ],
    pytest.param({"subject": "s" * 201}, "parameter_too_long", "subject", id="subject-201"),
    pytest.param(
        {"description": "d" * 10_001}, "parameter_too_long", "description", id="description-10001"
    ),
    pytest.param(
        {"internal_note": "n" * 10_001}, "parameter_too_long", "internal_note", id="note-10001"
    ),
    *[
        pytest.param({name: None}, "parameter_invalid", name, id=f"{name}-null")
        for name in ("subject", "description", "priority", "status", "tags")
    ],
    *[
        pytest.param({"priority": value}, "parameter_invalid", "priority", id=f"priority-{value!r}")
        for value in (0, 5, "2", 2.5, True)
    ],
    *[
        pytest.param({"status": value}, "parameter_invalid", "status", id=f"status-{value!r}")
        for value in ("pending", "Open", "", 2)
    ],
    *[
        pytest.param({"tags": value}, "parameter_invalid", "tags", id=f"tags-{value!r}")
        for value in ("a,b", ["a,b"], [3])
    ],
    *[
        pytest.param({"custom_fields": value}, "parameter_invalid", "custom_fields", id=f"cf-{value!r}")
        for value in ([], "plan=pro", 3)
    ],
    *[
        pytest.param({"due_date": value}, "parameter_invalid", "due_date", id=f"due-{value!r}")
        for value in ("2025-01-16", "next week", 0)
    ],
    *[
        pytest.param({name: "x"}, "parameter_unknown", name, id=f"unknown-{name}")
        for name in ("colour", "resolution_note", "contact_id", "metadata", "closed_at")
    ],
    # The first bad field is named even when good ones come with it.
    pytest.param(
        {"priority": 1, "subject": "ok", "colour": "red"}, "parameter_unknown", "colour", id="mixed"
    ),
]  # fmt: skip


@pytest.mark.parametrize(("json", "code", "param"), UPDATE_REFUSALS)
def test_a_refused_update_changes_nothing(
    api: Api,
    witness: Witness,
    ticket: dict[str, Any],
    json: dict[str, Any],
    code: str,
    param: str,
) -> None:
    assert_invalid(api("PUT", f"/v1/tickets/{ticket['id']}", json), code, param)
    witness.assert_unchanged()


# -- update: accepted --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "length"), [("subject", 200), ("description", 10_000), ("internal_note", 10_000)]
)
def test_an_update_text_exactly_at_its_limit_is_accepted(
    api: Api, ticket: dict[str, Any], name: str, length: int
) -> None:
    response = api("PUT", f"/v1/tickets/{ticket['id']}", {name: "x" * length})
    assert response.status == 200, response.json
    assert response.json["data"]["version"] == ticket["version"] + 1
    if name != "internal_note":
        assert response.json["data"][name] == "x" * length


@pytest.mark.parametrize("name", ["category", "assigned_to", "due_date"])
def test_null_clears_an_optional_field(api: Api, ticket: dict[str, Any], name: str) -> None:
    assert ticket[name] is not None
    response = api("PUT", f"/v1/tickets/{ticket['id']}", {name: None})
    assert response.status == 200, response.json
    assert response.json["data"][name] is None
    assert api("GET", f"/v1/tickets/{ticket['id']}").json["data"][name] is None


def test_custom_fields_are_merged_and_null_removes_a_key(api: Api, ticket: dict[str, Any]) -> None:
    response = api(
        "PUT", f"/v1/tickets/{ticket['id']}", {"custom_fields": {"seats": None, "region": "eu"}}
    )
    assert response.status == 200, response.json
    assert response.json["data"]["custom_fields"] == {"plan": "pro", "region": "eu"}


def test_tags_replace_the_whole_list_and_duplicates_collapse(
    api: Api, ticket: dict[str, Any]
) -> None:
    response = api("PUT", f"/v1/tickets/{ticket['id']}", {"tags": ["vip", "vip", "refund"]})
    assert response.status == 200, response.json
    assert response.json["data"]["tags"] == ["vip", "refund"]


def test_an_update_due_date_without_an_offset_is_utc(api: Api, ticket: dict[str, Any]) -> None:
    response = api("PUT", f"/v1/tickets/{ticket['id']}", {"due_date": "2025-02-01T08:30:00"})
    assert response.json["data"]["due_date"] == "2025-02-01T08:30:00Z"
    response = api("PUT", f"/v1/tickets/{ticket['id']}", {"due_date": "2025-02-01T08:30:00+01:00"})
    assert response.json["data"]["due_date"] == "2025-02-01T07:30:00Z"


# -- close -------------------------------------------------------------------------

CLOSE_REFUSALS = [
    pytest.param(
        {"resolution_note": "n" * 5_001}, "parameter_too_long", "resolution_note", id="note-5001"
    ),
    *[
        pytest.param({"resolution_note": v}, "parameter_invalid", "resolution_note", id=f"note-{v!r}")
        for v in ("", "  ", 42, ["x"])
    ],
    *[
        pytest.param(
            {"customer_satisfaction": v}, "parameter_invalid", "customer_satisfaction", id=f"csat-{v!r}"
        )
        for v in (0, 11, -1, "5", 11.0, 7.5, True)
    ],
    *[
        pytest.param({"resolution_time": v}, "parameter_invalid", "resolution_time", id=f"time-{v!r}")
        for v in (-1, 1.5, -30.0, "30", True, [30])
    ],
    *[
        pytest.param({"root_cause": v}, "parameter_invalid", "root_cause", id=f"cause-{v!r}")
        for v in (42, "", ["user_error"])
    ],
    *[
        pytest.param({name: "x"}, "parameter_unknown", name, id=f"unknown-{name}")
        for name in ("colour", "status", "subject", "closed_at")
    ],
]  # fmt: skip


@pytest.mark.parametrize(("json", "code", "param"), CLOSE_REFUSALS)
def test_a_refused_close_changes_nothing(
    api: Api,
    witness: Witness,
    ticket: dict[str, Any],
    json: dict[str, Any],
    code: str,
    param: str,
) -> None:
    assert_invalid(api("PUT", f"/v1/tickets/{ticket['id']}/close", json), code, param)
    witness.assert_unchanged()
    assert api("GET", f"/v1/tickets/{ticket['id']}").json["data"]["status"] == "new"


@pytest.mark.parametrize(
    "json",
    [
        {"resolution_note": "n" * 5_000},
        {"customer_satisfaction": 1},
        {"customer_satisfaction": 10},
        {"resolution_time": 0},
        {"resolution_time": 90},
        {"root_cause": "user_error"},
    ],
    ids=lambda json: next(iter(json)) + "=" + str(next(iter(json.values())))[:8],
)
def test_close_details_at_their_limits_are_accepted(
    api: Api, ticket: dict[str, Any], json: dict[str, Any]
) -> None:
    response = api("PUT", f"/v1/tickets/{ticket['id']}/close", json)
    assert response.status == 200, response.json
    data = response.json["data"]
    assert data["status"] == "closed"
    for name, value in json.items():
        assert data[name] == value


# -- bodies that are not JSON objects ----------------------------------------------

ENDPOINTS = [
    pytest.param("POST", "/v1/tickets", id="create"),
    pytest.param("PUT", "/v1/tickets/{id}", id="update"),
    pytest.param("PUT", "/v1/tickets/{id}/close", id="close"),
]


@pytest.mark.sqlite_only  # answered before any storage is read: the same on both
@pytest.mark.parametrize(
    "json", [[], [BASE], "Printer on fire", 3, 2.5, True], ids=lambda v: type(v).__name__
)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_json_body_that_is_not_an_object_is_invalid_json(
    api: Api, witness: Witness, ticket: dict[str, Any], method: str, path: str, json: Any
) -> None:
    assert_invalid(api(method, path.format(id=ticket["id"]), json), "invalid_json", None)
    witness.assert_unchanged()
    assert api.create()["number"] == "TICK-2"


@pytest.mark.sqlite_only  # answered before any storage is read: the same on both
@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[]", id="array"),
        pytest.param('"text"', id="string"),
        pytest.param("42", id="number"),
        pytest.param("true", id="boolean"),
        pytest.param("null", id="null"),
        pytest.param('{"subject": ', id="truncated"),
        pytest.param('{"subject": "a",}', id="trailing-comma"),
        pytest.param("{'subject': 'a'}", id="single-quotes"),
        pytest.param("subject=a&description=b", id="form"),
        pytest.param('{"a": 1} {"b": 2}', id="two-values"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param('{"priority": NaN}', id="NaN"),
        pytest.param('{"priority": Infinity}', id="Infinity"),
        pytest.param('{"customer_satisfaction": -Infinity}', id="minus-Infinity"),
    ],
)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_body_that_is_not_a_json_object_is_invalid_json(
    api: Api,
    witness: Witness,
    ticket: dict[str, Any],
    method: str,
    path: str,
    body: str | bytes,
) -> None:
    assert_invalid(api(method, path.format(id=ticket["id"]), body=body), "invalid_json", None)
    witness.assert_unchanged()
    assert api.create()["number"] == "TICK-2"


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("POST", "/v1/tickets", create_body(custom_fields={"score": float("nan")})),
        ("PUT", "/v1/tickets/{id}", {"priority": float("nan")}),
        ("PUT", "/v1/tickets/{id}/close", {"resolution_time": float("inf")}),
    ],
)
def test_nan_and_infinity_are_invalid_json(
    api: Api, witness: Witness, ticket: dict[str, Any], method: str, path: str, json: Any
) -> None:
    # Sent as NaN / Infinity by an HTTP client (what Python's json writes for them).
    assert_invalid(api(method, path.format(id=ticket["id"]), json), "invalid_json", None)
    witness.assert_unchanged()


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("POST", "/v1/tickets", create_body(due_date=datetime(2025, 1, 16, 17, 0, tzinfo=UTC))),
        ("PUT", "/v1/tickets/{id}", {"tags": {"a", "b"}}),
        ("PUT", "/v1/tickets/{id}", {"priority": float("nan")}),
    ],
)
def test_a_python_value_that_json_cannot_carry_is_invalid_json_as_on_the_wire(
    engine: Engine, method: str, path: str, json: Any
) -> None:
    # engine.request's json= is checked as a client's encoder would check it (no HTTP
    # client can send a set or a datetime, so this is about the Python entry point).
    api = Api(engine, engine.keys.create())
    ticket = api.create()
    witness = Witness(api, ticket["id"])
    assert_invalid(api(method, path.format(id=ticket["id"]), json), "invalid_json", None)
    witness.assert_unchanged()


# -- list --------------------------------------------------------------------------

LIST_REFUSALS = [
    *[pytest.param(f"page={v}", "parameter_invalid", "page", id=f"page={v}") for v in ("0", "-1", "abc", "1.5", "")],
    *[pytest.param(f"per_page={v}", "parameter_invalid", "per_page", id=f"per_page={v}") for v in ("0", "101", "x", "-5", "")],
    *[pytest.param(f"sort_by={v}", "parameter_invalid", "sort_by", id=f"sort_by={v}") for v in ("subject", "number", "bogus", "")],
    *[pytest.param(f"sort_order={v}", "parameter_invalid", "sort_order", id=f"sort_order={v}") for v in ("up", "ascending", "")],
    *[pytest.param(f"status={v}", "parameter_invalid", "status", id=f"status={v}") for v in ("pending", "open,bogus", "", "open,")],
    *[pytest.param(f"priority={v}", "parameter_invalid", "priority", id=f"priority={v}") for v in ("0", "5", "high", "", "2,9")],
    *[
        pytest.param(f"{name}={v}", "parameter_invalid", name, id=f"{name}={v}")
        for name in ("created_after", "created_before", "due_after", "due_before")
        for v in ("yesterday", "2025-01-15", "2025-13-01T00:00:00Z", "")
    ],
    *[pytest.param(f"sla_breach={v}", "parameter_invalid", "sla_breach", id=f"sla_breach={v}") for v in ("yes", "1", "0", "", "TRUE", "False")],
    *[pytest.param(f"search={v}", "parameter_invalid", "search", id=f"search={v}") for v in ("", "%20%20", "+")],
    pytest.param("tags=", "parameter_invalid", "tags", id="tags-empty"),
    pytest.param("tags=a,,b", "parameter_invalid", "tags", id="tags-empty-item"),
    pytest.param("colour=red", "parameter_unknown", "colour", id="unknown"),
    pytest.param("status=open&Status=new", "parameter_unknown", "Status", id="unknown-case"),
    pytest.param("status=open&status=new", "parameter_invalid", "status", id="dup-status"),
    pytest.param("page=1&page=2", "parameter_invalid", "page", id="dup-page"),
    pytest.param("search=printer&search=printer", "parameter_invalid", "search", id="dup-same"),
]  # fmt: skip


@pytest.mark.sqlite_only  # answered before any storage is read: the same on both
@pytest.mark.parametrize(("query", "code", "param"), LIST_REFUSALS)
def test_a_refused_list_names_the_parameter(
    api: Api, witness: Witness, query: str, code: str, param: str
) -> None:
    assert_invalid(api("GET", f"/v1/tickets?{query}"), code, param)
    witness.assert_unchanged()


@pytest.mark.parametrize(
    "query",
    [
        "page=1",
        "page=2",
        "per_page=1",
        "per_page=100",
        "sort_by=created_at&sort_order=asc",
        "sort_by=updated_at&sort_order=desc",
        "sort_by=due_date",
        "sort_by=priority",
        "status=new,open",
        "priority=1,4",
        "created_after=2025-01-15T09:00:00Z&created_before=2025-01-16T09:00:00%2B01:00",
        "due_after=2025-01-15T09:00:00&due_before=2025-02-01T00:00:00Z",
        "sla_breach=true",
        "sla_breach=false",
        "tags=printer",
        "search=printer",
        "category=billing&assigned_to=user_jane&contact_id=contact_1",
    ],
)
def test_a_valid_list_query_is_answered_with_a_page(
    api: Api, ticket: dict[str, Any], query: str
) -> None:
    response = api("GET", f"/v1/tickets?{query}")
    assert response.status == 200, response.json
    assert set(response.json) == {"data", "meta"}
    assert set(response.json["meta"]) == {"total", "page", "per_page", "total_pages", "next_cursor"}


@pytest.mark.parametrize(("per_page", "expected"), [("1", 1), ("100", 100), (None, 25)])
def test_per_page_is_echoed_in_meta(
    api: Api, ticket: dict[str, Any], per_page: str | None, expected: int
) -> None:
    query = "" if per_page is None else f"?per_page={per_page}"
    meta = api("GET", f"/v1/tickets{query}").json["meta"]
    assert meta["per_page"] == expected
    assert meta["page"] == 1


def test_a_whole_number_written_with_a_fraction_is_that_integer(api: Api) -> None:
    # JSON (and the published JSON Schema) do not tell 2 from 2.0: both are the integer 2.
    made = api.create(priority=2.0)
    assert (made["priority"], made["priority_label"]) == (2, "High")
    assert isinstance(made["priority"], int)
    closed = api(
        "PUT", f"/v1/tickets/{made['id']}/close",
        {"customer_satisfaction": 9.0, "resolution_time": 30.0},
    )  # fmt: skip
    assert (
        closed.json["data"]["customer_satisfaction"],
        closed.json["data"]["resolution_time"],
    ) == (9, 30)
