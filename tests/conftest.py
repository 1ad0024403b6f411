"""Fixtures shared by every test layer: a manual clock, engines, keys, an API client."""

from __future__ import annotations

import contextlib
import json as jsonlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, settings

import ayra_tickets
from ayra_tickets import Engine, ManualClock, Response
from ayra_tickets.server import LocalServer
from ayra_tickets.testing import mock_api
from tests import openapi_check

settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

pytest_plugins = ["pytester"]  # the pytest plugin's own tests run pytest

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
    """Sends requests through ``engine.request`` with a key that has both scopes; every
    answer is checked against the shipped OpenAPI document."""

    transport = "engine"

    def __init__(self, engine: Engine, key: str) -> None:
        self.engine = engine
        self.key = key

    def __call__(
        self, method: str, path: str, json: Any = None, *, body: Any = None,
        headers: dict[str, str] | None = None, key: str | None = None,
    ) -> Response:  # fmt: skip
        sent = {"Authorization": f"Bearer {key or self.key}", "Content-Type": "application/json"}
        sent.update(headers or {})
        response = self.send(method, path, sent, json, body)
        openapi_check.check(method, path, response)
        return response

    def bare(
        self, method: str, path: str, json: Any = None, *, headers: dict[str, str] | None = None
    ) -> Response:
        """A request with only the headers given (no key, no content type)."""
        response = self.send(method, path, dict(headers or {}), json, None)
        openapi_check.check(method, path, response)
        return response

    def send(
        self, method: str, path: str, headers: dict[str, str], json: Any, body: Any
    ) -> Response:
        return self.engine.request(method, path, headers=headers, json=json, body=body)

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"subject": "Printer on fire", "description": "Smoke from tray 2", **fields}
        response = self("POST", "/v1/tickets", body)
        assert response.status == 201, response.json
        return response.json["data"]  # type: ignore[no-any-return]


class HttpApi(Api):
    """The same requests as bytes over HTTP, with ``requests``: to a server on a loopback
    port, or to https://api.ayra.ai answered by ``mock_api``."""

    def __init__(self, engine: Engine, key: str, base_url: str, transport: str) -> None:
        super().__init__(engine, key)
        self.base_url = base_url
        self.transport = transport
        self.session = requests.Session()

    def send(
        self, method: str, path: str, headers: dict[str, str], json: Any, body: Any
    ) -> Response:
        if body is None and json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        answer = self.session.request(method, self.base_url + path, headers=headers, data=body)
        return Response(answer.status_code, answer.json(), answer.headers)

    def close(self) -> None:
        self.session.close()


TRANSPORTS = ("engine", "http", "mock_api")
"""The contract suite runs once per transport: ``engine.request``, the HTTP server on a
loopback port, and ``mock_api`` answering ``requests``."""


@pytest.fixture(scope="session")
def http_server() -> Iterator[LocalServer]:
    """One loopback server for the whole run; each test points it at its own engine."""
    with Engine.open(":memory:") as idle, LocalServer(idle, port=0) as server:
        yield server


@pytest.fixture(params=TRANSPORTS)
def api(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Api]:
    key = engine.keys.create(scopes=["tickets:read", "tickets:write"])
    if request.param == "engine":
        yield Api(engine, key)
    elif request.param == "http":
        server: LocalServer = request.getfixturevalue("http_server")
        server.app.engine = engine
        with contextlib.closing(HttpApi(engine, key, server.url, "http")) as api:
            yield api
    else:
        with (
            mock_api(engine=engine, key=key) as mocked,
            contextlib.closing(HttpApi(engine, key, mocked.base_url, "mock_api")) as api,
        ):
            yield api


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of every table: a rejected call must leave them all as they were."""
    conn = engine.db.conn
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}


__all__ = ["START", "Api", "ayra_tickets", "table_counts"]
