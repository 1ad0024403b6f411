"""Fixtures shared by every test layer: a manual clock, engines, keys, an API client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import ayra_tickets
from ayra_tickets import Engine, ManualClock, Response

settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
"""A Wednesday, 09:00 UTC: where every manual clock in the tests starts."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def db_path(tmp_path: Any) -> str:
    return str(tmp_path / "tickets.db")


@pytest.fixture
def engine(db_path: str, clock: ManualClock) -> Iterator[Engine]:
    """An engine on a fresh SQLite file."""
    with Engine.open(db_path, clock=clock) as opened:
        yield opened


@pytest.fixture
def memory_engine(clock: ManualClock) -> Iterator[Engine]:
    with Engine.open(":memory:", clock=clock) as opened:
        yield opened


class Api:
    """Sends requests through ``engine.request`` with a key that has both scopes."""

    def __init__(self, engine: Engine, key: str) -> None:
        self.engine = engine
        self.key = key

    def __call__(
        self, method: str, path: str, json: Any = None, *, body: Any = None,
        headers: dict[str, str] | None = None, key: str | None = None,
    ) -> Response:  # fmt: skip
        sent = {"Authorization": f"Bearer {key or self.key}", "Content-Type": "application/json"}
        sent.update(headers or {})
        return self.engine.request(method, path, headers=sent, json=json, body=body)

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"subject": "Printer on fire", "description": "Smoke from tray 2", **fields}
        response = self("POST", "/v1/tickets", body)
        assert response.status == 201, response.json
        return response.json["data"]  # type: ignore[no-any-return]


@pytest.fixture
def api(engine: Engine) -> Api:
    return Api(engine, engine.keys.create(scopes=["tickets:read", "tickets:write"]))


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of every table: a rejected call must leave them all as they were."""
    conn = engine.db.conn
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}


__all__ = ["START", "Api", "ayra_tickets", "table_counts"]
