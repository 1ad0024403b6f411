"""The storage backends the tests run on: SQLite always, PostgreSQL when a server is
given (a pytest plugin, loaded by ``tests/conftest.py``).

A test that uses the ``engine`` fixture (or ``api``, built on it) runs on a SQLite file.
A module or test marked ``both_backends`` runs once per backend, as Dagster runs one
abstract storage suite per backend: the ``backend`` parameter is ``sqlite`` or
``postgres``; a test marked ``sqlite_only`` inside such a module (it reads the file
beneath the API: ``engine.db``, ``PRAGMA``, query plans, the file itself) runs on SQLite
alone, and so does one answered before any storage is read (a malformed body, a missing
key, an unknown route: the same on both, and each PostgreSQL test costs a schema). On
PostgreSQL the API tests run through ``engine.request`` only: the HTTP server and
``mock_api`` are transports, the same whatever the storage, and the SQLite half covers
them; ``tests/postgres/test_transports.py`` runs each transport (and the CLI) on
PostgreSQL once, on the reference's examples.

``AYRA_TICKETS_TEST_POSTGRES`` holds the URL of a database the tests may create schemas
in (``.ci/run`` starts the machine's cluster and sets it; see the README). Without it,
or when the server cannot be reached, the PostgreSQL half skips with one line saying
so; under CI it fails instead, so that a green run never means "PostgreSQL was not
tested". Each PostgreSQL test gets a schema of its own, made empty and dropped after,
so that tests in several processes share one database without seeing each other; the
engine opens it by its URL (``?options=-csearch_path%3D<schema>``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.storage.postgres.schema import new_schema, schema_address

ENV = "AYRA_TICKETS_TEST_POSTGRES"
NO_POSTGRES = f"no PostgreSQL: set {ENV} to a URL"
BACKENDS = ("sqlite", "postgres")
TRANSPORTS = ("engine", "http", "mock_api")
"""The contract suite runs once per transport on SQLite: ``engine.request``, the HTTP
server on a loopback port, and ``mock_api`` answering ``requests``."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Skip the test, or under CI fail it: CI must test PostgreSQL."""
    if in_ci():
        pytest.fail(f"{reason} (CI must run the PostgreSQL tests)", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_backends: run once on SQLite and once on PostgreSQL (backend)"
    )
    config.addinivalue_line(
        "markers",
        "sqlite_only: not run on PostgreSQL (it reads SQLite beneath the API, or is"
        " answered before any storage is read)",
    )


def on_both(node: pytest.Function | Any) -> bool:
    return bool(node.get_closest_marker("both_backends")) and not node.get_closest_marker(
        "sqlite_only"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``backend`` (and ``api``'s transport) for every test that uses them."""
    if "backend" not in metafunc.fixturenames:
        return
    both = on_both(metafunc.definition)
    if "api" in metafunc.fixturenames:
        pairs = [("sqlite", transport) for transport in TRANSPORTS]
        ids = list(TRANSPORTS)
        if both:
            pairs.append(("postgres", "engine"))
            ids.append("postgres")
        metafunc.parametrize(("backend", "api"), pairs, indirect=["api"], ids=ids)
    elif both:
        metafunc.parametrize("backend", BACKENDS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Every skip for want of PostgreSQL is told at one place, so that ``-ra`` folds
    them into one line however many tests and files there are."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple):
        _, _, reason = report.longrepr
        if "no PostgreSQL" in reason:
            report.longrepr = (__file__, None, reason)
    return report


@pytest.fixture(scope="session")
def _postgres_checked() -> dict[str, str]:
    """Whether the server answers, asked once a session: the URL, or why not."""
    url = os.environ.get(ENV, "").strip()
    if not url:
        return {"reason": NO_POSTGRES}
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return {"reason": f"no PostgreSQL: {ENV} cannot be reached ({first})"}
    return {"url": url}


@pytest.fixture(scope="session")
def postgres_server(_postgres_checked: dict[str, str]) -> str:
    """The URL of the test database, for a whole session (skips, or under CI fails,
    without one). Hypothesis tests take this one: it is not remade per example."""
    if "url" not in _postgres_checked:
        missing(_postgres_checked["reason"])
    return _postgres_checked["url"]


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """The URL of the test database (skips, or under CI fails, without one)."""
    return postgres_server


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """The name of a new, empty schema for this test alone, dropped after it."""
    with new_schema(postgres_url) as name:
        yield name


@contextlib.contextmanager
def fresh_engine(server: str | None, clock: ManualClock) -> Iterator[Engine]:
    """An engine on a new, empty database: SQLite in memory when ``server`` is
    ``None``, else a new schema of that PostgreSQL database (dropped after)."""
    if server is None:
        with Engine.open(":memory:", clock=clock) as engine:
            yield engine
        return
    with (
        new_schema(server) as schema,
        Engine.open(schema_address(server, schema), clock=clock) as engine,
    ):
        yield engine


def on_postgres(engine: Engine) -> bool:
    return type(engine.storage).__name__ == "PostgresStorage"


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """What ``sql`` (no parameters) reads from the engine's database, on either backend:
    for tests that look beneath the API."""
    if not on_postgres(engine):
        return [tuple(row) for row in engine.db.conn.execute(sql).fetchall()]
    storage: Any = engine.storage
    return storage.atomic(  # type: ignore[no-any-return]
        lambda: [tuple(row) for row in storage.connections.conn.execute(sql).fetchall()]
    )


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of every table: a rejected call must leave them all as they were."""
    if on_postgres(engine):
        names = rows(
            engine,
            "SELECT table_name FROM information_schema.tables WHERE table_schema ="
            " current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        counts = rows(
            engine,
            " UNION ALL ".join(f"SELECT '{name}', count(*) FROM \"{name}\"" for (name,) in names),
        )
        return {str(name): int(count) for name, count in counts}
    conn = engine.db.conn
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
