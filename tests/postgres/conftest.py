"""Fixtures for the tests of the PostgreSQL schema and search beneath the adapter:
connections to this test's schema (``tests/backends.py`` says where the server is, and
gives each test a schema of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from ayra_tickets.storage.postgres import search
from ayra_tickets.storage.postgres.schema import upgrade
from tests.conftest import START

# The server's URL and a schema per test (``postgres_url``, ``pg_schema``, skipped or
# under CI failed without a server) are tests/backends.py's, for every test.


def connect(url: str, schema: str, **options: Any) -> psycopg.Connection[Any]:
    """A connection whose tables are those of ``schema`` (it heads the search_path)."""
    return psycopg.connect(url, options=f"-c search_path={schema}", **options)


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
