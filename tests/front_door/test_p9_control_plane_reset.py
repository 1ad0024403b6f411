"""Issue 14, point 9: ``/_local/reset`` resets fully.

It empties the database and puts the manual clock back where ``serve --start`` started
it, or to a ``now`` given in the body; a bad ``now`` changes nothing. The plane's times
are RFC 3339 with a ``Z``, like the API's.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from ayra_tickets import Engine, ManualClock, SystemClock
from ayra_tickets.server import LocalServer

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
ZULU = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``ayra-tickets serve --control --start ...`` in its own process; its URL."""
    command = [
        sys.executable, "-c", "from ayra_tickets.cli import main; main()",
        "--db", str(tmp_path / "t.db"),
        "serve", "--port", "0", "--control", "--start", "2025-01-15T09:00:00Z",
    ]  # fmt: skip
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+), control plane", banner)
        assert found, banner
        yield found.group(1)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr is not None:
            server.stderr.close()


def post(url: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    return requests.post(url + path, json=body, timeout=10, **kwargs)


def test_reset_puts_the_clock_back_to_serves_start(served: str) -> None:
    made = post(served, "/_local/keys", {}).json()["data"]["key"]
    auth = {"Authorization": f"Bearer {made}"}
    post(served, "/_local/clock/advance", {"seconds": 3 * 86400})
    first = post(served, "/v1/tickets", {"subject": "Before", "description": "Reset"}, headers=auth)
    assert first.json()["data"]["created_at"] == "2025-01-18T09:00:00Z"

    reset = post(served, "/_local/reset")
    assert reset.status_code == 200
    assert reset.json() == {"data": {"reset": True, "now": "2025-01-15T09:00:00Z"}}
    now = requests.get(served + "/_local/clock", timeout=10).json()["data"]["now"]
    assert now == "2025-01-15T09:00:00Z"

    made = post(served, "/_local/keys", {}).json()["data"]["key"]
    auth = {"Authorization": f"Bearer {made}"}
    again = post(served, "/v1/tickets", {"subject": "After", "description": "Reset"}, headers=auth)
    assert (again.json()["data"]["number"], again.json()["data"]["created_at"]) == (
        "TICK-1",
        "2025-01-15T09:00:00Z",
    )


@pytest.fixture
def plane() -> Iterator[tuple[Engine, str]]:
    with (
        Engine.open(":memory:", clock=ManualClock(START)) as engine,
        LocalServer(engine, port=0, control=True) as server,
    ):
        yield engine, server.url


@pytest.mark.parametrize(
    ("given", "answered"),
    [
        ("2024-06-01T12:00:00Z", "2024-06-01T12:00:00Z"),  # before the start: allowed
        ("2030-01-01T00:00:00+02:00", "2029-12-31T22:00:00Z"),  # an offset, answered in Z
    ],
)
def test_reset_with_a_now_puts_the_clock_there(
    plane: tuple[Engine, str], given: str, answered: str
) -> None:
    engine, url = plane
    engine.clock.advance(days=400)  # type: ignore[attr-defined]
    reset = post(url, "/_local/reset", {"now": given})
    assert reset.json() == {"data": {"reset": True, "now": answered}}
    assert requests.get(url + "/_local/clock", timeout=10).json() == {"data": {"now": answered}}
    assert engine.tickets.create(subject="a", description="b").to_dict()["created_at"] == answered


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"now": "yesterday"}, "parameter_invalid"),
        ({"now": "9500-01-01T00:00:00Z"}, "parameter_invalid"),
        ({"now": 1736931600}, "parameter_invalid"),
        ({"now": "2025-01-15T09:00:00Z", "keys": True}, "parameter_unknown"),
    ],
)
def test_a_bad_now_changes_nothing(
    plane: tuple[Engine, str], body: dict[str, Any], code: str
) -> None:
    engine, url = plane
    engine.tickets.create(subject="Kept", description="A bad reset empties nothing")
    engine.clock.advance(hours=5)  # type: ignore[attr-defined]
    refused = post(url, "/_local/reset", body)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == code
    assert engine.tickets.count() == 1
    assert engine.clock.now() == datetime(2025, 1, 15, 14, 0, tzinfo=UTC)


def test_a_system_clock_server_resets_the_data_and_refuses_to_set_its_clock() -> None:
    with (
        Engine.open(":memory:", clock=SystemClock()) as engine,
        LocalServer(engine, port=0, control=True) as server,
    ):
        engine.tickets.create(subject="Kept", description="The clock cannot be set")
        refused = post(server.url, "/_local/reset", {"now": "2025-01-15T09:00:00Z"})
        assert (refused.status_code, refused.json()["error"]["param"]) == (400, "now")
        assert engine.tickets.count() == 1
        reset = post(server.url, "/_local/reset").json()["data"]
        assert reset["reset"] is True
        assert ZULU.match(reset["now"]), reset
        assert engine.tickets.count() == 0


def test_every_time_the_plane_answers_with_ends_in_z(plane: tuple[Engine, str]) -> None:
    _, url = plane
    answers = [
        requests.put(url + "/_local/clock", json={"now": "2025-03-01T10:00:00+05:30"}, timeout=10),
        post(url, "/_local/clock/advance", {"seconds": 90.5}),
        requests.get(url + "/_local/clock", timeout=10),
        post(url, "/_local/reset", {"now": "2025-03-01T00:00:00-08:00"}),
    ]
    times = [answer.json()["data"]["now"] for answer in answers]
    assert times == [
        "2025-03-01T04:30:00Z",
        "2025-03-01T04:31:30Z",
        "2025-03-01T04:31:30Z",
        "2025-03-01T08:00:00Z",
    ]
