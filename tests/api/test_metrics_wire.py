"""GET /v1/tickets/metrics: the same figures as engine.metrics, in the API's envelope."""

from __future__ import annotations

import pytest

from ayra_tickets import ManualClock
from tests.backends import rows
from tests.conftest import Api

pytestmark = pytest.mark.both_backends  # the contract suite, on SQLite and PostgreSQL

WINDOW = "start=2025-01-15T00:00:00Z&end=2025-01-22T00:00:00Z"


def test_the_wire_answers_the_engines_figures(api: Api, clock: ManualClock) -> None:
    first = api.create(priority=1, assigned_to="user_jane", category="billing")
    api.create(priority=3)
    clock.advance(hours=2)
    api(
        "PUT",
        f"/v1/tickets/{first['id']}/close",
        {"customer_satisfaction": 8, "root_cause": "user_error"},
    )
    answer = api("GET", f"/v1/tickets/metrics?{WINDOW}&interval=day&priority=1,2")
    assert answer.status == 200
    expected = api.engine.metrics(
        "2025-01-15T00:00:00Z", "2025-01-22T00:00:00Z", interval="day", priority="1,2"
    )
    assert answer.json == {"data": expected.to_dicts()}
    assert answer.json["data"]["volume"][0]["created"] == 1
    assert answer.json["data"]["csat_by_agent"] == {
        "user_jane": {
            "count": 1,
            "mean": 8.0,
            "distribution": {str(n): int(n == 8) for n in range(1, 11)},
        }
    }


@pytest.mark.parametrize(
    ("query", "code", "param"),
    [
        ("end=2025-01-22T00:00:00Z", "parameter_missing", "start"),
        ("start=2025-01-15T00:00:00Z", "parameter_missing", "end"),
        ("start=2025-01-22T00:00:00Z&end=2025-01-15T00:00:00Z", "parameter_invalid", "end"),
        ("start=2025-01-15T00:00:00Z&end=2030-01-15T00:00:00Z", "parameter_invalid", "end"),
        (f"{WINDOW}&interval=month", "parameter_invalid", "interval"),
        (f"{WINDOW}&status=open", "parameter_unknown", "status"),
        (f"{WINDOW}&priority=7", "parameter_invalid", "priority"),
        ("start=yesterday&end=2025-01-15T00:00:00Z", "parameter_invalid", "start"),
    ],
)
def test_a_bad_metrics_query_is_400_naming_the_parameter(
    api: Api, query: str, code: str, param: str
) -> None:
    answer = api("GET", f"/v1/tickets/metrics?{query}")
    assert answer.status == 400
    assert (answer.json["error"]["code"], answer.json["error"]["param"]) == (code, param)


def test_metrics_need_the_read_scope(api: Api) -> None:
    writer = api.engine.keys.create(scopes=["tickets:write"])
    answer = api("GET", f"/v1/tickets/metrics?{WINDOW}", key=writer)
    assert (answer.status, answer.json["error"]["code"]) == (403, "insufficient_scope")


def test_the_files_views_agree_with_the_metrics(api: Api, clock: ManualClock) -> None:
    made = [api.create(priority=p) for p in (1, 2, 3)]
    clock.advance(hours=3)
    api("PUT", f"/v1/tickets/{made[0]['id']}", {"status": "resolved"})
    api("PUT", f"/v1/tickets/{made[1]['id']}/close", {})
    clock.advance(days=1)
    api("PUT", f"/v1/tickets/{made[0]['id']}/close", {})
    figures = api.engine.metrics("2025-01-15T00:00:00Z", "2025-01-17T00:00:00Z")
    days = [
        (str(day), int(created), int(resolved), int(closed))
        for day, created, resolved, closed in rows(
            api.engine, "SELECT day, created, resolved, closed FROM daily_volume ORDER BY day"
        )
    ]
    assert days == [
        (b.start.date().isoformat(), b.created, b.resolved, b.closed) for b in figures.volume
    ]
    durations = rows(
        api.engine,
        "SELECT first_response_seconds, resolution_seconds FROM ticket_durations ORDER BY number",
    )
    # Both were answered and resolved three hours in (closing a resolved ticket keeps
    # the moment it was resolved); the third is untouched.
    assert durations == [(3 * 3600, 3 * 3600), (3 * 3600, 3 * 3600), (None, None)]
