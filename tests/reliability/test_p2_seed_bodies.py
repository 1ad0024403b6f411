"""Issue 13, point 2: no silent truncation of the control plane's seed.

A seed body is read whole, up to its own documented limit
(:data:`ayra_tickets.local.SEED_MAX_BYTES`, larger than the API's 1 MiB), or refused with
413 before any of it is read, and then nothing is written. Never a prefix.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ayra_tickets import Engine, ManualClock, local
from ayra_tickets.local import SEED_MAX_BYTES
from ayra_tickets.server import LocalServer, WireApp
from ayra_tickets.wire import MAX_BODY_BYTES
from tests.conftest import START, table_counts


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open(":memory:", clock=ManualClock(START)) as opened:
        yield opened


@pytest.fixture
def server(engine: Engine) -> Iterator[LocalServer]:
    with LocalServer(engine, port=0, control=True) as running:
        yield running


def seed_lines(count: int, size: int) -> bytes:
    """``count`` create bodies of about ``size`` bytes each, one a line."""
    rows = [{"subject": f"Seeded {n}", "description": "d" * size} for n in range(count)]
    return "\n".join(json.dumps(row) for row in rows).encode()


def answer_of(server: LocalServer, raw: bytes) -> tuple[int, dict[str, Any]]:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = http.client.HTTPResponse(sock)
        try:
            answer.begin()
            return answer.status, json.loads(answer.read())
        finally:
            answer.close()


def test_a_seed_of_several_mebibytes_is_read_whole_and_every_line_imported(
    engine: Engine, server: LocalServer
) -> None:
    body = seed_lines(3000, 1000)
    assert MAX_BODY_BYTES < 2 * MAX_BODY_BYTES < len(body) < SEED_MAX_BYTES
    seeded = requests.post(f"{server.url}/_local/seed", data=body, timeout=60)
    assert seeded.status_code == 200, seeded.text
    report = seeded.json()["data"]
    assert (report["imported"], report["rejected"]) == (3000, [])
    assert engine.tickets.list(per_page=1).to_dict()["meta"]["total"] == 3000


def test_a_seed_over_its_limit_is_refused_with_413_before_it_is_read_and_writes_nothing(
    engine: Engine, server: LocalServer
) -> None:
    before = table_counts(engine)
    head = (
        f"POST /_local/seed HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Length: {SEED_MAX_BYTES + 1}\r\n\r\n"
    ).encode()
    status, answer = answer_of(server, head + seed_lines(10, 100))  # a valid start
    assert status == 413
    assert answer["error"]["code"] == "request_too_large"
    assert answer["error"]["limit"] == SEED_MAX_BYTES
    assert table_counts(engine) == before


def test_a_seed_at_its_limit_is_taken_and_one_byte_more_is_refused(
    engine: Engine, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = seed_lines(20, 200)
    monkeypatch.setattr(local, "SEED_MAX_BYTES", len(body))
    over = requests.post(f"{server.url}/_local/seed", data=body + b"\n ", timeout=10)
    assert (over.status_code, over.json()["error"]["limit"]) == (413, len(body))
    assert engine.tickets.list().to_dict()["meta"]["total"] == 0
    taken = requests.post(f"{server.url}/_local/seed", data=body, timeout=10)
    assert (taken.status_code, taken.json()["data"]["imported"]) == (200, 20)


class Unreadable(io.RawIOBase):
    """A request body that must not be read."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


def test_the_wsgi_app_refuses_an_oversized_seed_without_reading_it(engine: Engine) -> None:
    """Under any WSGI server, not only the one ``serve`` runs."""
    app = WireApp(engine, control=True)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/_local/seed",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_LENGTH": str(SEED_MAX_BYTES + 1),
        "wsgi.input": Unreadable(),
    }
    started: list[str] = []
    body = b"".join(app(environ, lambda status, headers: started.append(status)))
    assert [status.split()[0] for status in started] == ["413"]
    assert json.loads(body)["error"]["limit"] == SEED_MAX_BYTES
    assert table_counts(engine)["tickets"] == 0
