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

pytest.register_assert_rewrite("tests.backends")  # a plugin of this conftest's, imported here
from tests.backends import TRANSPORTS, schema_address, table_counts  # noqa: E402

settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# the pytest plugin's own tests run pytest; tests.backends: SQLite, and PostgreSQL if given
pytest_plugins = ["pytester", "tests.backends"]

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
"""A Wednesday, 09:00 UTC: where every manual clock in the tests starts."""


class FakeTime:
    """A monotonic clock that only ``sleep`` moves, and the pauses slept: for waits with
    a bound (:class:`~ayra_tickets.storage.backoff.Backoff`) run without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def db_path(tmp_path: Any) -> str:
    return str(tmp_path / "tickets.db")


@pytest.fixture
def backend() -> str:
    """The storage the ``engine`` fixture opens: ``sqlite``, or for a test marked
    ``both_backends`` each of ``sqlite`` and ``postgres`` (see ``tests/backends.py``)."""
    return "sqlite"


@pytest.fixture
def engine_address(backend: str, request: pytest.FixtureRequest) -> str:
    """The address of the fresh database the ``engine`` fixture opens: a SQLite file, or
    a new PostgreSQL schema (so that a test may open a second engine on it)."""
    if backend == "postgres":
        return schema_address(
            request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_schema")
        )
    return str(request.getfixturevalue("db_path"))


@pytest.fixture
def engine(engine_address: str, clock: ManualClock) -> Iterator[Engine]:
    """An engine on a fresh database: a SQLite file, or a new PostgreSQL schema."""
    with Engine.open(engine_address, clock=clock) as opened:
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


@pytest.fixture(scope="session")
def http_server() -> Iterator[LocalServer]:
    """One loopback server for the whole run; each test points it at its own engine."""
    with Engine.open(":memory:") as idle, LocalServer(idle, port=0) as server:
        yield server


@pytest.fixture
def api(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Api]:
    """A client of ``engine`` with both scopes, through one of ``TRANSPORTS`` (the
    parameter ``tests/backends.py`` gives)."""
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


__all__ = ["START", "TRANSPORTS", "Api", "ayra_tickets", "table_counts"]
