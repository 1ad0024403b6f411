"""Hostile input: Hypothesis throws methods, paths, headers and bodies at
``engine.request`` (deeply nested and enormous JSON, NaN and Infinity, lone surrogates,
NUL bytes, wrong content types, SQL and FTS metacharacters, path traversal in ids,
oversized headers). It never sees an exception or a 5xx, always sees the API's envelope,
and the database is unchanged after every refused call.

``HOSTILE_EXAMPLES`` sets the number of examples (a nightly run uses 5,000 or more)."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ayra_tickets import Engine, ManualClock
from tests.backends import fresh_engine, rows
from tests.conftest import START, table_counts

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "400"))

NASTY_TEXT = [
    "'; DROP TABLE tickets; --", '" OR 1=1 --', "NEAR(a b)", "printer*", '"unbalanced', "(((",
    "\x00", "\ud800", "\udfff", "a\x00b", "../../etc/passwd", "%2e%2e%2f", "ticket_%00",
    "\u202e", "\ufeff", "💥" * 50, "x" * 70_000, "", " ", "null", "NaN", "Infinity",
]  # fmt: skip

text = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40))
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), text,
)  # fmt: skip
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
fields = st.sampled_from(
    ["subject", "description", "priority", "status", "tags", "due_date", "custom_fields",
     "metadata", "category", "assigned_to", "contact_id", "internal_note", "resolution_note",
     "customer_satisfaction", "resolution_time", "root_cause", "idempotency_key", "id"]
)  # fmt: skip
bodies = st.one_of(
    st.dictionaries(fields, json_value, max_size=5).map(lambda d: json.dumps(d)),
    json_value.map(lambda v: json.dumps(v)),
    st.sampled_from([
        "[" * 5_000 + "]" * 5_000, '{"a":' * 3_000 + "1" + "}" * 3_000, "NaN", "Infinity",
        '{"subject": NaN}', '{"subject": "\\ud800", "description": "x"}', "\x00", "",
        '{"subject": "a", "description": "b"', "{" + '"k":1,' * 200_000 + '"k":1}',
        '{"subject": "x", "description": "' + "y" * 1_100_000 + '"}',
    ]),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    text,
)  # fmt: skip
ids = st.one_of(
    st.just("{id}"), st.sampled_from(["ticket_", "..%2F..%2Fetc", "%00", "ticket_x%2Fclose",
    "ticket_' OR '1'='1", "%F0%9F%92%A5", "ticket_" + "a" * 5_000]), text.map(lambda t: t.replace("/", "")),
)  # fmt: skip
paths = st.one_of(
    st.tuples(ids, st.sampled_from(["", "/close", "/events", "/../close", "/x"])).map(
        lambda p: f"/v1/tickets/{p[0]}{p[1]}"
    ),
    st.sampled_from(["/v1/tickets", "/v1/tickets/", "/v1//tickets", "/V1/TICKETS", "/", "",
                     "/openapi.json", "/_local/reset", "/v1/tickets?page=%FF", "*",
                     "/v1/tickets?search=%22%28NEAR", "/v1/tickets?status=open&status=new",
                     "/v1/tickets?sort_by=subject;DROP", "/v1/tickets?" + "a=1&" * 5_000]),
    text.map(lambda t: "/v1/tickets?search=" + t),
)  # fmt: skip
methods = st.sampled_from(
    ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "", "TRACE", "PUT\x00"]
)
header_values = st.one_of(text, st.just("x" * 40_000))
headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.one_of(st.just("Bearer {key}"), st.just("Bearer {read}"), header_values,
                                   st.just("Basic Zm9vOmJhcg=="), st.just("Bearer ")),
        "Content-Type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                         "application/json; charset=latin-1", "", "application/vnd.api+json"]),
        "If-Match": st.one_of(st.just('"v1"'), header_values),
        "Idempotency-Key": header_values,
        "X-Extra": header_values,
    },
)  # fmt: skip


def snapshot(engine: Engine) -> tuple[Any, ...]:
    return table_counts(engine), rows(engine, "SELECT * FROM tickets ORDER BY number")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(method=methods, path=paths, header_map=headers, body=st.one_of(st.none(), bodies))
def test_no_request_makes_the_engine_fail_and_a_refused_one_changes_nothing(
    method: str, path: str, header_map: dict[str, str], body: str | None
) -> None:
    no_request_makes_the_engine_fail(None, method, path, header_map, body)


POSTGRES_EXAMPLES = 40
"""The same requests on PostgreSQL (each on a new schema): what the server refuses (a NUL
in text, say) must be refused before it is sent, never be a 500."""


@settings(
    max_examples=POSTGRES_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(method=methods, path=paths, header_map=headers, body=st.one_of(st.none(), bodies))
def test_no_request_makes_the_engine_fail_on_postgres(
    postgres_server: str, method: str, path: str, header_map: dict[str, str], body: str | None
) -> None:
    no_request_makes_the_engine_fail(postgres_server, method, path, header_map, body)


def no_request_makes_the_engine_fail(
    server: str | None, method: str, path: str, header_map: dict[str, str], body: str | None
) -> None:
    with fresh_engine(server, ManualClock(START)) as engine:
        key = engine.keys.create()
        read = engine.keys.create(scopes=["tickets:read"])
        ticket = engine.tickets.create(subject="Target", description="Of hostile requests")
        sent = {
            name: value.replace("{key}", key).replace("{read}", read)
            for name, value in header_map.items()
        }
        before = snapshot(engine)
        answer = engine.request(method, path.replace("{id}", ticket.id), headers=sent, body=body)
        assert answer.status < 500, answer.json
        assert "Request-Id" in answer.headers
        if answer.status >= 400:
            error = answer.json["error"]
            assert set(error) >= {"type", "code", "message"}
            assert isinstance(error["message"], str)
            assert error["message"]
            assert snapshot(engine) == before
        json.dumps(answer.json)  # the answer is JSON, whatever came in
