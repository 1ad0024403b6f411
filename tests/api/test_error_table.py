"""The spec's error table, row by row and code by code, through ``engine.request``.

Every code the engine can produce today is provoked on the wire and checked for its
status, ``type``, ``code``, the ``{"error": {...}}`` envelope and its context keys; a
rejected request must leave the database as it was. The error classes themselves are
checked against a literal transcription of the table, so that the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ayra_tickets import Engine, ManualClock, Response, errors
from tests.conftest import Api, table_counts

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL

# The error table of docs/contract.md, transcribed by hand.
SPEC_ERROR_TABLE: dict[int, tuple[str, tuple[str, ...]]] = {
    400: (
        "validation_error",
        (
            "parameter_missing",
            "parameter_invalid",
            "parameter_too_long",
            "parameter_unknown",
            "invalid_json",
        ),
    ),
    401: ("authentication_error", ("missing_api_key", "invalid_api_key")),
    403: ("permission_error", ("insufficient_scope",)),
    404: ("not_found", ("ticket_not_found", "route_not_found")),
    405: ("method_not_allowed", ("method_not_allowed",)),
    409: (
        "conflict",
        (
            "ticket_already_closed",
            "ticket_closed",
            "invalid_status_transition",
            "idempotency_key_reused",
        ),
    ),
    412: ("precondition_failed", ("version_mismatch",)),
    413: ("request_too_large", ("request_too_large",)),
}
SPEC_ROWS = {
    code: (status, type_) for status, (type_, codes) in SPEC_ERROR_TABLE.items() for code in codes
}
LATER_CODES = {"idempotency_key_reused", "version_mismatch"}
"""Codes of a later issue: their classes exist, no request can produce them yet."""

MIB = 1_048_576
UNKNOWN_ID = "ticket_doesnotexist0"


def assert_error(response: Response, code: str, **context: Any) -> dict[str, Any]:
    """The response is the spec's error for ``code``, with these context values."""
    status, type_ = SPEC_ROWS[code]
    assert response.status == status, response.json
    assert set(response.json) == {"error"}
    error = response.json["error"]
    assert {"type", "message", "code"} <= set(error)
    assert error["type"] == type_
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"].strip()
    for key, value in context.items():
        assert error[key] == value, (key, error)
    return error  # type: ignore[no-any-return]


def snapshot(api: Api, ticket_id: str) -> tuple[dict[str, int], Any]:
    """What a rejected request must not change: every table's rows and the ticket."""
    return table_counts(api.engine), api("GET", f"/v1/tickets/{ticket_id}").json


def close_body_of(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (a close with a long resolution note)."""
    head, tail = b'{"resolution_note": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


# -- the classes against the table -------------------------------------------------


def test_the_error_classes_match_the_spec_table_row_for_row() -> None:
    carried = {cls.code: (cls.status, cls.type) for cls in errors.ALL_ERRORS}
    assert carried == SPEC_ROWS


def test_every_code_has_exactly_one_error_class() -> None:
    codes = [cls.code for cls in errors.ALL_ERRORS]
    assert len(codes) == len(set(codes)) == len(SPEC_ROWS)


@pytest.mark.parametrize("cls", errors.ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_class_is_a_ticket_error_exported_by_ayra_tickets_errors(
    cls: type[errors.TicketError],
) -> None:
    assert issubclass(cls, errors.TicketError)
    assert getattr(errors, cls.__name__) is cls


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(errors.IdempotencyKeyReused(), "idempotency_key_reused", id="idempotency"),
        pytest.param(errors.VersionMismatch(2, 3), "version_mismatch", id="version"),
    ],
)
def test_the_errors_of_a_later_issue_already_carry_their_row(
    error: errors.TicketError, code: str
) -> None:
    assert (error.status, error.type, error.code) == (*SPEC_ROWS[code], code)
    body = error.to_dict()
    assert set(body) == {"error"}
    assert body["error"]["type"] == SPEC_ROWS[code][1]
    assert body["error"]["code"] == code
    assert body["error"]["message"].strip()


# -- one representative request per code -----------------------------------------

Provoke = Callable[[Api, str, str], Response]
"""Sends one request that must be refused, given the API, a ticket's id and a read-only key."""


# code -> (close the ticket first?, the refused request)
REPRESENTATIVE: dict[str, tuple[bool, Provoke]] = {
    "parameter_missing": (False, lambda api, _, __: api("POST", "/v1/tickets", {"description": "d"})),
    "parameter_invalid": (False, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}", {"priority": 9})),
    "parameter_too_long": (False, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}", {"subject": "x" * 201})),
    "parameter_unknown": (False, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}", {"colour": "red"})),
    "invalid_json": (False, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}", body='{"subject": ')),
    "missing_api_key": (False, lambda api, tid, _: api.bare("PUT", f"/v1/tickets/{tid}/close")),
    "invalid_api_key": (False, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}/close", key="sk_test_no")),
    "insufficient_scope": (False, lambda api, tid, key: api("PUT", f"/v1/tickets/{tid}/close", key=key)),
    "ticket_not_found": (False, lambda api, _, __: api("PUT", f"/v1/tickets/{UNKNOWN_ID}", {"priority": 1})),
    "route_not_found": (False, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}/archive")),
    "method_not_allowed": (False, lambda api, tid, _: api("DELETE", f"/v1/tickets/{tid}")),
    "ticket_already_closed": (True, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}/close")),
    "ticket_closed": (True, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}", {"priority": 1})),
    "invalid_status_transition": (False, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}", {"status": "reopened"})),
    "request_too_large": (False, lambda api, tid, _: api("PUT", f"/v1/tickets/{tid}/close", body=close_body_of(MIB + 1))),
}  # fmt: skip


def test_every_code_of_the_table_but_the_later_ones_has_a_wire_case() -> None:
    assert set(REPRESENTATIVE) == set(SPEC_ROWS) - LATER_CODES


@pytest.mark.parametrize("code", sorted(REPRESENTATIVE))
def test_each_code_is_answered_with_its_row_and_changes_nothing(api: Api, code: str) -> None:
    close_first, provoke = REPRESENTATIVE[code]
    ticket_id = api.create()["id"]
    read_only_key = api.engine.keys.create(scopes=["tickets:read"])
    if close_first:
        assert api("PUT", f"/v1/tickets/{ticket_id}/close").status == 200
    before = snapshot(api, ticket_id)
    assert_error(provoke(api, ticket_id, read_only_key), code)
    assert snapshot(api, ticket_id) == before


# -- 400 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "json", "code", "param"),
    [
        ("POST", "/v1/tickets", {"subject": "s"}, "parameter_missing", "description"),
        ("POST", "/v1/tickets", {"subject": None, "description": "d"}, "parameter_missing", "subject"),
        ("POST", "/v1/tickets", {"subject": 7, "description": "d"}, "parameter_invalid", "subject"),
        ("PUT", "/v1/tickets/{id}", {"status": "pending"}, "parameter_invalid", "status"),
        ("PUT", "/v1/tickets/{id}/close", {"customer_satisfaction": 11}, "parameter_invalid", "customer_satisfaction"),
        ("PUT", "/v1/tickets/{id}", {"description": "d" * 10_001}, "parameter_too_long", "description"),
        ("PUT", "/v1/tickets/{id}/close", {"resolution_note": "n" * 5_001}, "parameter_too_long", "resolution_note"),
        ("POST", "/v1/tickets", {"subject": "s", "description": "d", "colour": "red"}, "parameter_unknown", "colour"),
        ("PUT", "/v1/tickets/{id}/close", {"status": "closed"}, "parameter_unknown", "status"),
        ("GET", "/v1/tickets?colour=red", None, "parameter_unknown", "colour"),
        ("GET", "/v1/tickets/{id}?expand=sla", None, "parameter_unknown", "expand"),
        ("GET", "/v1/tickets/{id}/events?page=2", None, "parameter_unknown", "page"),
        ("PUT", "/v1/tickets/{id}?notify=true", {"priority": 1}, "parameter_unknown", "notify"),
        ("POST", "/v1/tickets?draft=1", {"subject": "s", "description": "d"}, "parameter_unknown", "draft"),
        ("GET", "/v1/tickets?per_page=101", None, "parameter_invalid", "per_page"),
    ],
)  # fmt: skip
def test_a_validation_error_names_the_offending_parameter(
    api: Api, method: str, path: str, json: Any, code: str, param: str
) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    response = api(method, path.format(id=ticket_id), json)
    assert_error(response, code, param=param)
    assert param in response.json["error"]["message"]
    assert snapshot(api, ticket_id) == before


@pytest.mark.sqlite_only  # answered before any storage is read: the same on both
@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"subject": ', id="truncated"),
        pytest.param("{'subject': 'Printer'}", id="single-quotes"),
        pytest.param("subject=Printer", id="form-encoded"),
        pytest.param('{"priority": NaN}', id="NaN"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param("[]", id="array"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/tickets", "/v1/tickets/{id}", "/v1/tickets/{id}/close"])
def test_a_body_that_is_not_a_json_object_is_invalid_json(
    api: Api, path: str, body: str | bytes
) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    method = "POST" if path == "/v1/tickets" else "PUT"
    assert_error(api(method, path.format(id=ticket_id), body=body), "invalid_json")
    assert snapshot(api, ticket_id) == before


# -- 401 / 403 ---------------------------------------------------------------------


@pytest.mark.sqlite_only  # answered before any storage is read: the same on both
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({}, "missing_api_key", id="no-header"),
        pytest.param({"Authorization": ""}, "missing_api_key", id="empty-header"),
        pytest.param({"Authorization": "Bearer sk_test_unknown"}, "invalid_api_key", id="unknown"),
        pytest.param({"Authorization": "Bearer "}, "invalid_api_key", id="bearer-nothing"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_api_key", id="basic"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("GET", "/v1/tickets", None),
        ("POST", "/v1/tickets", {"subject": "s", "description": "d"}),
        ("GET", "/v1/tickets/{id}", None),
        ("PUT", "/v1/tickets/{id}", {"priority": 1}),
        ("PUT", "/v1/tickets/{id}/close", None),
        ("GET", "/v1/tickets/{id}/events", None),
        # Authentication comes first: no key, no hint whether a ticket exists.
        ("GET", f"/v1/tickets/{UNKNOWN_ID}", None),
        # ... nor whether a body would have been valid.
        ("POST", "/v1/tickets", {"colour": "red"}),
    ],
)
def test_a_request_without_a_valid_key_is_unauthenticated(
    api: Api,
    engine: Engine,
    method: str,
    path: str,
    json: Any,
    headers: dict[str, str],
    code: str,
) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    response = api.bare(method, path.format(id=ticket_id), json, headers=headers)
    assert_error(response, code)
    assert snapshot(api, ticket_id) == before


def test_a_revoked_key_is_an_invalid_key(api: Api, engine: Engine) -> None:
    key = engine.keys.create(scopes=["tickets:read", "tickets:write"])
    assert api("GET", "/v1/tickets", key=key).status == 200
    (record,) = [k for k in engine.keys.list() if key.startswith(k.prefix)]
    assert engine.keys.revoke(record.id)
    assert_error(api("GET", "/v1/tickets", key=key), "invalid_api_key")


@pytest.mark.parametrize(
    ("scopes", "method", "path", "json", "needed"),
    [
        (["tickets:read"], "POST", "/v1/tickets", {"subject": "s", "description": "d"}, "tickets:write"),
        (["tickets:read"], "PUT", "/v1/tickets/{id}", {"priority": 1}, "tickets:write"),
        (["tickets:read"], "PUT", "/v1/tickets/{id}/close", None, "tickets:write"),
        (["tickets:write"], "GET", "/v1/tickets", None, "tickets:read"),
        (["tickets:write"], "GET", "/v1/tickets/{id}", None, "tickets:read"),
        (["tickets:write"], "GET", "/v1/tickets/{id}/events", None, "tickets:read"),
    ],
)  # fmt: skip
def test_a_key_without_the_scope_is_refused_naming_the_scope(
    api: Api,
    engine: Engine,
    scopes: list[str],
    method: str,
    path: str,
    json: Any,
    needed: str,
) -> None:
    ticket_id = api.create()["id"]
    key = engine.keys.create(scopes=scopes)
    before = snapshot(api, ticket_id)
    response = api(method, path.format(id=ticket_id), json, key=key)
    error = assert_error(response, "insufficient_scope", scope=needed)
    assert needed in error["message"]
    assert snapshot(api, ticket_id) == before


# -- 404 / 405 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("GET", f"/v1/tickets/{UNKNOWN_ID}", None),
        ("PUT", f"/v1/tickets/{UNKNOWN_ID}", {"priority": 1}),
        ("PUT", f"/v1/tickets/{UNKNOWN_ID}/close", None),
        ("GET", f"/v1/tickets/{UNKNOWN_ID}/events", None),
        ("GET", "/v1/tickets/TICK-1", None),
        ("PUT", "/v1/tickets/1/close", None),
    ],
)
def test_an_unknown_ticket_is_not_found(api: Api, method: str, path: str, json: Any) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    assert_error(api(method, path, json), "ticket_not_found")
    assert snapshot(api, ticket_id) == before


@pytest.mark.sqlite_only  # answered before any storage is read: the same on both
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/v1"),
        ("GET", "/v2/tickets"),
        ("GET", "/v1/ticket"),
        ("GET", "/v1/tickets/"),
        ("POST", "/v1/tickets/{id}/reopen"),
        ("GET", "/v1/tickets/{id}/events/1"),
    ],
)
def test_an_unknown_path_is_route_not_found(api: Api, method: str, path: str) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    assert_error(api(method, path.format(id=ticket_id)), "route_not_found")
    assert snapshot(api, ticket_id) == before


@pytest.mark.sqlite_only  # answered before any storage is read: the same on both
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/tickets", {"GET", "POST"}),
        ("PUT", "/v1/tickets", {"GET", "POST"}),
        ("POST", "/v1/tickets/{id}", {"GET", "PUT"}),
        ("PATCH", "/v1/tickets/{id}", {"GET", "PUT"}),
        ("DELETE", "/v1/tickets/{id}", {"GET", "PUT"}),
        ("GET", "/v1/tickets/{id}/close", {"PUT"}),
        ("POST", "/v1/tickets/{id}/close", {"PUT"}),
        ("PUT", "/v1/tickets/{id}/events", {"GET"}),
    ],
)
def test_a_wrong_method_is_not_allowed_and_says_what_is(
    api: Api, method: str, path: str, allowed: set[str]
) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    response = api(method, path.format(id=ticket_id), {"priority": 1})
    assert_error(response, "method_not_allowed")
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    assert snapshot(api, ticket_id) == before


# -- 409 ---------------------------------------------------------------------------


def test_closing_a_closed_ticket_is_a_conflict_naming_when_it_closed(
    api: Api, clock: ManualClock
) -> None:
    ticket_id = api.create()["id"]
    closed_at = api("PUT", f"/v1/tickets/{ticket_id}/close").json["data"]["closed_at"]
    clock.advance(hours=1)
    before = snapshot(api, ticket_id)
    response = api("PUT", f"/v1/tickets/{ticket_id}/close", {"resolution_note": "again"})
    assert_error(response, "ticket_already_closed", closed_at=closed_at)
    assert closed_at == "2025-01-15T09:00:00Z"
    assert snapshot(api, ticket_id) == before


@pytest.mark.parametrize(
    "json",
    [
        {"subject": "New subject"},
        {"priority": 1},
        {"internal_note": "Called the customer"},
        {"status": "closed", "tags": ["late"]},
        {"status": "open", "assigned_to": "user_jane"},
    ],
)
def test_changing_a_closed_ticket_without_reopening_it_is_a_conflict(
    api: Api, json: dict[str, Any]
) -> None:
    ticket_id = api.create()["id"]
    assert api("PUT", f"/v1/tickets/{ticket_id}/close").status == 200
    before = snapshot(api, ticket_id)
    assert_error(api("PUT", f"/v1/tickets/{ticket_id}", json), "ticket_closed")
    assert snapshot(api, ticket_id) == before


@pytest.mark.parametrize(
    ("setup", "requested", "current"),
    [
        ([], "reopened", "new"),
        (["open"], "new", "open"),
        (["resolved"], "in_progress", "resolved"),
        (["close"], "open", "closed"),
    ],
)
def test_a_move_the_lifecycle_forbids_is_a_conflict_naming_both_states(
    api: Api, setup: list[str], requested: str, current: str
) -> None:
    ticket_id = api.create()["id"]
    for step in setup:
        if step == "close":
            assert api("PUT", f"/v1/tickets/{ticket_id}/close").status == 200
        else:
            assert api("PUT", f"/v1/tickets/{ticket_id}", {"status": step}).status == 200
    before = snapshot(api, ticket_id)
    response = api("PUT", f"/v1/tickets/{ticket_id}", {"status": requested})
    error = assert_error(
        response, "invalid_status_transition", **{"from": current, "to": requested}
    )
    assert current in error["message"]
    assert requested in error["message"]
    assert snapshot(api, ticket_id) == before


# -- 413 ---------------------------------------------------------------------------


@pytest.mark.sqlite_only  # answered before any storage is read: the same on both
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/tickets"), ("PUT", "/v1/tickets/{id}"), ("PUT", "/v1/tickets/{id}/close")],
)
def test_a_body_over_one_mebibyte_is_too_large(api: Api, method: str, path: str) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    body = close_body_of(MIB + 1)
    assert len(body) == MIB + 1
    assert_error(api(method, path.format(id=ticket_id), body=body), "request_too_large")
    assert snapshot(api, ticket_id) == before


def test_a_body_of_exactly_one_mebibyte_is_read_and_validated(api: Api) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    body = close_body_of(MIB)
    assert len(body) == MIB
    response = api("PUT", f"/v1/tickets/{ticket_id}/close", body=body)
    assert_error(response, "parameter_too_long", param="resolution_note")
    assert snapshot(api, ticket_id) == before


def test_a_json_value_over_one_mebibyte_is_too_large_as_well(api: Api) -> None:
    ticket_id = api.create()["id"]
    before = snapshot(api, ticket_id)
    response = api("PUT", f"/v1/tickets/{ticket_id}/close", {"resolution_note": "x" * (MIB + 1)})
    assert_error(response, "request_too_large")
    assert snapshot(api, ticket_id) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "ticket_%00"),
        ("PUT", "ticket_%00"),
        ("GET", "ticket_a%00b/events"),
        ("PUT", "ticket_a%00b/close"),
        ("GET", "TICK-99999999999999999999"),
        ("PUT", "TICK-9223372036854775808"),
    ],
)
def test_an_id_that_no_ticket_can_have_is_simply_not_found(
    api: Api, method: str, path: str
) -> None:
    # A NUL, or a number past any column's range: PostgreSQL would refuse to look (a 500).
    response = api(method, f"/v1/tickets/{path}", None if method == "GET" else {})
    assert response.status == 404, response.json
    assert response.json["error"]["code"] == "ticket_not_found"
