"""Fixtures for the tests that need a PostgreSQL server.

``AYRA_TICKETS_TEST_POSTGRES`` holds the URL of a database the tests may create schemas
in (``.ci/run`` starts the machine's cluster and sets it; see the README). Without it,
or when the server cannot be reached, those tests skip with one line saying so; under
CI they fail instead, so that a green run never means "PostgreSQL was not tested".

Each test gets a schema of its own, made empty and dropped after, so that tests in
several processes share one database without seeing each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from ayra_tickets.storage.postgres import search
from ayra_tickets.storage.postgres.schema import upgrade
from tests.conftest import START

ENV = "AYRA_TICKETS_TEST_POSTGRES"
NO_POSTGRES = f"no PostgreSQL: set {ENV} to a URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _missing(reason: str) -> None:
    """Skip the test, or under CI fail it: CI must test PostgreSQL."""
    if _in_ci():
        pytest.fail(f"{reason} (CI must run the PostgreSQL tests)", pytrace=False)
    pytest.skip(reason)


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


@pytest.fixture
def postgres_url(_postgres_checked: dict[str, str]) -> str:
    """The URL of the test database (skips, or under CI fails, without one)."""
    if "url" not in _postgres_checked:
        _missing(_postgres_checked["reason"])
    return _postgres_checked["url"]


def connect(url: str, schema: str, **options: Any) -> psycopg.Connection[Any]:
    """A connection whose tables are those of ``schema`` (it heads the search_path)."""
    return psycopg.connect(url, options=f"-c search_path={schema}", **options)


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """The name of a new, empty schema for this test alone, dropped after it."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def pg(postgres_url: str, pg_schema: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to this test's empty schema, in autocommit (``conn.transaction()``
    makes a transaction), as the adapter's will be."""
    with connect(postgres_url, pg_schema, autocommit=True) as conn:
        yield conn


@pytest.fixture
def tickets_db(pg: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """A connection to this test's schema, upgraded to the latest migration."""
    upgrade(pg)
    return pg


def insert_ticket(
    conn: psycopg.Connection[Any],
    number: int,
    subject: str,
    description: str,
    *,
    created_at: datetime = START,
    status: str = "new",
) -> None:
    """A ticket row with what the schema requires, and its search words (as the adapter
    will write them)."""
    conn.execute(
        "INSERT INTO tickets (number, id, subject, description, priority, status,"
        " created_at, updated_at, sla_policy, sla_response_target, sla_resolution_target,"
        " sla_response_due_at, sla_resolution_due_at, search)"
        " VALUES (%s, %s, %s, %s, 3, %s, %s, %s, 'default', 3600, 86400, %s, %s,"
        " %s::tsvector)",
        (
            number, f"ticket_{number:08d}", subject, description, status, created_at,
            created_at, created_at + timedelta(hours=1), created_at + timedelta(days=1),
            search.document(subject, description),
        ),
    )  # fmt: skip
