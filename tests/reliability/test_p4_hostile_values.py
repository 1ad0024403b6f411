"""Issue 13, point 4: Hypothesis sends the API's operations values at and past every
edge: integers beyond 64 bits, date-times from the year 1 to 9999 in any offset, JSON
nested from 19 to 5,000 levels deep, NaN and Infinity, forged cursors (huge numbers,
wrong shapes, bytes that are not UTF-8), strings around and far past their lengths.

Whatever comes in: no exception and no 5xx; every refusal is a status, type and code of
the error table (a parameter error names its parameter); and a refused request writes
nothing (the connection's change count and every table stay as they were).

``HOSTILE_EXAMPLES`` sets the number of examples (400 by default)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ayra_tickets import Engine, ManualClock
from ayra_tickets.domain.errors import ALL_ERRORS
from ayra_tickets.domain.validation import validate_list
from tests.conftest import START, table_counts

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "400"))
ERROR_TABLE = {(error.status, error.type, error.code) for error in ALL_ERRORS}
PARAMETER_CODES = {"parameter_missing", "parameter_invalid", "parameter_too_long"}

BODIES = {
    "create": ["subject", "description", "priority", "status", "category", "contact_id",
               "conversation_id", "assigned_to", "due_date", "tags", "custom_fields", "metadata"],
    "update": ["subject", "priority", "status", "category", "assigned_to", "due_date", "tags",
               "custom_fields", "internal_note"],
    "close": ["resolution_note", "customer_satisfaction", "resolution_time", "root_cause"],
}  # fmt: skip
QUERIES = {
    "list": ["page", "per_page", "status", "priority", "category", "created_after",
             "created_before", "due_after", "due_before", "sla_breach", "tags", "search",
             "sort_by", "sort_order", "cursor"],
    "metrics": ["start", "end", "interval", "priority", "category", "assigned_to", "tags"],
}  # fmt: skip

# -- values, as the JSON text (or the query text) that carries them --------------------

huge_integers = st.one_of(
    st.sampled_from([2**63 - 1, 2**63, 2**64, -(2**63), -(2**63) - 1, 10**30, 10**4000]),
    st.integers(-(2**80), 2**80),
    st.integers(-3, 12),
    st.integers(9_999_990, 10_000_010),
)
years = st.sampled_from([1, 2, 1969, 1970, 2025, 9998, 9999]) | st.integers(1, 9999)
offsets = st.sampled_from(["Z", "+00:00", "+05:45", "-11:00", "+23:59", "-23:59", ""])
edge_dates = st.builds(
    lambda y, m, d, t, z: f"{y:04d}-{m:02d}-{d:02d}T{t}{z}",
    years,
    st.sampled_from([1, 12]),
    st.sampled_from([1, 28, 31]),
    st.sampled_from(["00:00:00", "23:59:59", "12:00:00.999999"]),
    offsets,
)
depths = st.sampled_from([19, 20, 21, 22, 99, 900, 1_100, 5_000])
nested_json = st.builds(
    lambda depth, kind: (
        '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)
        if kind == "object"
        else '{"a":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    ),
    depths,
    st.sampled_from(["object", "array"]),
)
constants = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400"])
lengths = st.sampled_from([0, 1, 64, 65, 100, 101, 200, 201, 255, 256, 500, 501, 5_000,
                           5_001, 10_000, 10_001, 70_000])  # fmt: skip
long_text = st.builds(lambda n, c: c * n, lengths, st.sampled_from(["a", "é", "💥", " ", ","]))


def _cursor(items: list[Any]) -> str:
    raw = json.dumps(items).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


digests = st.sampled_from(
    [validate_list({"sort_by": s}).fingerprint() for s in ("created_at", "priority")] + ["x"]
)
cursor_keys = st.one_of(st.none(), huge_integers, edge_dates, st.booleans())
forged_cursors = st.one_of(
    st.builds(lambda k, n, d: _cursor([1, k, n, d]), cursor_keys, huge_integers, digests),
    st.builds(lambda v, n, d: _cursor([v, "2025-01-15T09:00:00Z", n, d]), huge_integers,
              huge_integers, digests),
    st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode("ascii")),
    st.builds(lambda n: "A" * n, st.sampled_from([511, 512, 513, 4_000])),
    st.just(_cursor([1, None])),
    st.just(base64.urlsafe_b64encode(b"[" * 200 + b"]" * 200).decode("ascii")),
)  # fmt: skip

json_values = st.one_of(
    huge_integers.map(str),
    edge_dates.map(json.dumps),
    nested_json,
    constants,
    long_text.map(json.dumps),
    st.lists(long_text | edge_dates, max_size=60).map(json.dumps),
    st.sampled_from(["null", "true", "2.0", "2.5", '"2"', "[]", "{}", '{"": 1}']),
)
query_values = st.one_of(
    huge_integers.map(str),
    edge_dates,
    forged_cursors,
    long_text,
    st.lists(st.sampled_from(["new", "1", "5", "vip", "a" * 65]), min_size=1, max_size=80).map(
        ",".join
    ),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str | None, dict[str, str]]:
    """(method, path with ``{id}`` for the ticket, body text, extra headers)."""
    operation = draw(st.sampled_from([*BODIES, *QUERIES]))
    headers = {}
    if operation in BODIES:
        names = draw(st.lists(st.sampled_from(BODIES[operation]), max_size=3, unique=True))
        fields = {name: draw(json_values) for name in names}
        if operation == "create":
            fields = {"subject": '"Printer"', "description": '"On fire"', **fields}
        body = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}"
        if operation != "create" and draw(st.booleans()):
            headers["If-Match"] = draw(huge_integers.map(lambda n: f'"v{n}"'))
        path = {"create": "/v1/tickets", "update": "/v1/tickets/{id}",
                "close": "/v1/tickets/{id}/close"}[operation]  # fmt: skip
        return ("POST" if operation == "create" else "PUT"), path, body, headers
    names = draw(st.lists(st.sampled_from(QUERIES[operation]), max_size=3, unique=True))
    query = {name: draw(query_values) for name in names}
    if operation == "metrics":
        query = {"start": draw(edge_dates), "end": draw(edge_dates), **query}
    text = "&".join(f"{name}={quote(value, safe='')}" for name, value in query.items())
    path = "/v1/tickets" if operation == "list" else "/v1/tickets/metrics"
    return "GET", f"{path}?{text}", None, headers


def snapshot(engine: Engine) -> tuple[Any, ...]:
    conn = engine.db.conn
    rows = conn.execute("SELECT * FROM tickets ORDER BY number").fetchall()
    return conn.total_changes, table_counts(engine), rows


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request=requests())
def test_p4_values_at_and_past_every_edge_get_a_refusal_of_the_error_table_that_writes_nothing(
    request: tuple[str, str, str | None, dict[str, str]],
) -> None:
    method, path, body, extra = request
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        key = engine.keys.create()
        ticket = engine.tickets.create(subject="Target", description="Of hostile values")
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **extra}
        before = snapshot(engine)
        answer = engine.request(method, path.replace("{id}", ticket.id), headers=headers, body=body)
        assert answer.status < 500, answer.json
        if answer.status >= 400:
            error = answer.json["error"]
            assert (answer.status, error["type"], error["code"]) in ERROR_TABLE, error
            if error["code"] in PARAMETER_CODES:
                assert isinstance(error.get("param"), str), error
            assert snapshot(engine) == before
        json.dumps(answer.json, allow_nan=False)
