"""Schemathesis, driven by the shipped OpenAPI document, sends generated requests (valid
and invalid) to the running server: no answer may be a 5xx, every answer must be one
the document describes (status, content type, headers, body schema), and a request the
document calls valid must not be refused as bad input. Bounded so that CI stays fast;
``FUZZ_EXAMPLES`` raises the bound for a longer run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ayra_tickets import Engine, ManualClock, TicketError
from ayra_tickets.domain.times import format_time, parse_time
from ayra_tickets.server import LocalServer
from ayra_tickets.wire import openapi_document
from tests.conftest import START

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
SECRET = "sk_test_fuzzing_key_1"

schema = schemathesis.openapi.from_dict(openapi_document(), config=schemathesis.Config())
schema.config.phases.update(phases=["examples", "fuzzing"])
# A valid request may still find the ticket missing, closed or at another version.
schema.config.checks.positive_data_acceptance.expected_statuses = [
    "2xx", "401", "403", "404", "409", "412",
]  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[LocalServer]:
    """A server with a key and tickets, among them the document's example id, so that
    requests for one ticket reach their success paths too."""
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        engine.keys.create(secret=SECRET)
        engine.tickets.import_many(
            [
                {
                    "id": f"ticket_fuzz{n:08d}",
                    "subject": f"Seeded {n}",
                    "description": "For fuzzing",
                }
                for n in range(5)
            ]
            + [{"id": "ticket_abc123xyz789", "subject": "The example", "description": "Its id"}]
        )
        with LocalServer(engine, port=0) as server:
            yield server


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None)
def test_generated_requests_get_no_5xx_and_answers_the_document_describes(
    case: schemathesis.Case, fuzz_server: LocalServer
) -> None:
    if case.query:  # a cursor is valid only as a page's next_cursor, which no schema says
        case.query.pop("cursor", None)
    if case.path == "/v1/tickets/metrics" and case.query and {"start", "end"} <= set(case.query):
        # Nor can a schema say that end comes after start, within 1,000 days (the
        # document says it in words): keep the generated start, and end a week later. A
        # start the document allows (years 1970 to 9998) leaves room for the week.
        try:
            start = parse_time(case.query["start"], "start")
        except TicketError:
            pass  # a start the document refuses: the answer must be a 400 all the same
        else:
            case.query["end"] = format_time(start + timedelta(days=7))
    case.call_and_validate(
        base_url=fuzz_server.url,
        headers={"Authorization": f"Bearer {SECRET}"},
        checks=[
            not_a_server_error,
            positive_data_acceptance,  # what the document allows is not refused as bad input
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
