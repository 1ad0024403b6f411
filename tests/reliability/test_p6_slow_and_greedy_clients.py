"""Issue 13, point 6: the HTTP server survives slow and greedy clients.

Slow clients (200 connections trickling their headers a byte at a time, or idle) do not
starve a normal one; a body over the wire limit is refused from its headers, before it
is read; waitress's own refusals carry the API's JSON error and a Request-Id; a request
framed twice (Content-Length and Transfer-Encoding) is refused and its connection
closed; and a key in a query string never reaches the log.

Everything here speaks raw HTTP/1.1 over loopback sockets, as a hostile client would.
The timing bounds are generous (seconds where milliseconds are expected), and the
figures seen are printed (``pytest -s``).
"""

from __future__ import annotations

import http.client
import json
import logging
import select
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ayra_tickets import Engine, ManualClock
from ayra_tickets.server import LocalServer
from ayra_tickets.wire import MAX_BODY_BYTES
from tests.api.test_error_table import SPEC_ROWS
from tests.conftest import START, table_counts

GIB = 1 << 30


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open(":memory:", clock=ManualClock(START)) as opened:
        yield opened


@pytest.fixture
def server(engine: Engine) -> Iterator[LocalServer]:
    with LocalServer(engine, port=0) as running:
        yield running


def connect(server: LocalServer, timeout: float = 10) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=timeout)


def exchange(server: LocalServer, raw: bytes) -> tuple[http.client.HTTPResponse, bytes, bool]:
    """Send ``raw`` on a fresh connection; the answer, its body, and whether the server
    closed the connection after it."""
    with connect(server) as sock:
        sock.sendall(raw)
        answer, body = read_answer(sock)
        return answer, body, closed_by_server(sock)


def read_answer(sock: socket.socket) -> tuple[http.client.HTTPResponse, bytes]:
    answer = http.client.HTTPResponse(sock)
    try:
        answer.begin()
        return answer, answer.read()
    finally:
        answer.close()  # its file holds the socket open past the socket's own close


def closed_by_server(sock: socket.socket, wait: float = 5) -> bool:
    """Whether the server closes the connection within ``wait`` seconds (its reading end
    sees the end of the stream, or a reset)."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def assert_api_error(answer: http.client.HTTPResponse, body: bytes, code: str) -> dict[str, Any]:
    """The answer is the API's error ``code`` from the error table, with a Request-Id."""
    status, type_ = SPEC_ROWS[code]
    assert answer.status == status, body
    assert answer.getheader("Content-Type") == "application/json", body
    assert (answer.getheader("Request-Id") or "").startswith("req_")
    error = json.loads(body)["error"]
    assert (error["type"], error["code"]) == (type_, code)
    assert error["message"].strip()
    return error  # type: ignore[no-any-return]


# -- slow clients -------------------------------------------------------------------

HEAD = b"GET /v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: a\r\n" * 1000


class Slowloris:
    """``count`` connections that each send a request's headers a byte at a time, one
    byte every ``pause`` seconds, never finishing them; and ``idle`` that send nothing."""

    def __init__(self, server: LocalServer, count: int, idle: int = 0, pause: float = 0.5):
        self.trickling = [connect(server) for _ in range(count)]
        self.idle = [connect(server) for _ in range(idle)]
        self.pause = pause
        self.sent = 0
        self.closed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def _trickle(self) -> None:
        while not self._stop.wait(self.pause):
            for sock in self.trickling:
                if sock.fileno() < 0:
                    continue
                try:
                    sock.send(HEAD[self.sent : self.sent + 1])
                except OSError:  # closed by the server
                    sock.close()
                    self.closed += 1
            self.sent += 1

    def __enter__(self) -> Slowloris:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.trickling + self.idle:
            sock.close()


def timed_gets(server: LocalServer, key: str, count: int) -> list[float]:
    """Seconds each of ``count`` list requests took, each on a new connection."""
    headers = {"Authorization": f"Bearer {key}"}
    seconds = []
    for _ in range(count):
        began = time.perf_counter()
        answer = requests.get(f"{server.url}/v1/tickets", headers=headers, timeout=10)
        seconds.append(time.perf_counter() - began)
        assert answer.status_code == 200
    return seconds


def test_two_hundred_slowloris_and_two_hundred_idle_connections_do_not_starve_a_normal_client(
    engine: Engine, server: LocalServer
) -> None:
    key = engine.keys.create()
    with Slowloris(server, count=200, idle=200, pause=0.5) as slow:
        time.sleep(1.5)  # every slow connection has begun its request
        seconds = timed_gets(server, key, 100)
        assert slow.closed == 0  # they were all still open, trickling, meanwhile
    p50, p99 = statistics.median(seconds), statistics.quantiles(seconds, n=100)[98]
    print(f"\n200 slowloris + 200 idle connections open: GET p50 {p50 * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {max(seconds) * 1000:.1f} ms")  # fmt: skip
    assert p99 < 2  # milliseconds in practice; seconds would mean starved


def test_a_client_trickling_its_headers_is_closed_at_the_header_deadline(
    engine: Engine,
) -> None:
    with (
        LocalServer(engine, port=0, header_timeout=1, request_timeout=60) as server,
        Slowloris(server, count=5, pause=0.1) as slow,
    ):
        began = time.perf_counter()
        while slow.closed < 5 and time.perf_counter() - began < 10:
            time.sleep(0.1)
        waited = time.perf_counter() - began
        print(f"\n5 trickling connections closed after {waited:.1f} s (header deadline 1 s)")
        assert slow.closed == 5
        assert waited < 8


def test_a_client_trickling_its_body_is_closed_at_the_request_deadline(engine: Engine) -> None:
    with (
        LocalServer(engine, port=0, header_timeout=60, request_timeout=1) as server,
        connect(server) as sock,
    ):
        sock.sendall(b"POST /v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        began = time.perf_counter()
        closed = False
        while not closed and time.perf_counter() - began < 10:
            try:
                sock.send(b"{")
            except OSError:
                break
            readable, _, _ = select.select([sock], [], [], 0.2)
            closed = bool(readable) and closed_by_server(sock, 0.1)
        else:
            assert closed
        assert time.perf_counter() - began < 8


def test_at_the_connection_limit_the_longest_waiting_connection_makes_room_for_a_new_one(
    engine: Engine,
) -> None:
    key = engine.keys.create()
    with (
        LocalServer(engine, port=0, connection_limit=30) as server,
        Slowloris(server, count=40, idle=40, pause=0.5),
    ):
        seconds = timed_gets(server, key, 20)
    print(f"\n80 slow connections over a limit of 30: GET max {max(seconds) * 1000:.1f} ms")
    assert max(seconds) < 5


# -- greedy clients -------------------------------------------------------------------


def test_a_body_declared_over_the_limit_is_refused_from_its_headers_before_it_is_read(
    server: LocalServer,
) -> None:
    head = f"POST /v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: {GIB}\r\n\r\n".encode()
    began = time.perf_counter()
    answer, body, closed = exchange(server, head)  # and not one byte of the body
    waited = time.perf_counter() - began
    print(f"\na 1 GiB Content-Length refused in {waited * 1000:.1f} ms, 0 body bytes sent")
    error = assert_api_error(answer, body, "request_too_large")
    assert error["limit"] == MAX_BODY_BYTES
    assert closed
    assert waited < 5


def test_a_body_declared_over_the_limit_is_refused_before_a_100_continue(
    server: LocalServer,
) -> None:
    head = (
        f"PUT /v1/tickets/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    ).encode()
    answer, body, _ = exchange(server, head)
    assert_api_error(answer, body, "request_too_large")


def test_a_request_without_a_body_that_expects_100_continue_is_answered(
    server: LocalServer,
) -> None:
    """waitress sends "100 Continue" to it, then waits for a body that never comes."""
    head = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"
    with connect(server, timeout=5) as sock:
        sock.sendall(head)
        answer, body = read_answer(sock)
    assert answer.status == 200
    assert json.loads(body)["openapi"].startswith("3.1")


def test_a_chunked_body_growing_past_the_limit_is_refused_as_it_grows(
    server: LocalServer,
) -> None:
    chunk = b"x" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with connect(server) as sock:
        sock.sendall(b"POST /v1/tickets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while sent < 16 * MAX_BODY_BYTES:  # never finished: only a refusal ends it
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(framed)
            except OSError:
                break
            sent += len(chunk)
        else:
            pytest.fail("16 MiB of chunks were taken without an answer")
        # (what was sent includes what the kernel's buffers still hold, unread)
        print(f"\nchunked body refused after {sent} bytes sent (limit {MAX_BODY_BYTES})")
        answer, body = read_answer(sock)
        assert_api_error(answer, body, "request_too_large")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(b"NOT A REQUEST LINE\r\n\r\n", "parameter_invalid", id="request-line"),
        pytest.param(b"get / HTTP/1.1\r\nHost: x\r\n\r\n", "parameter_invalid", id="lowercase"),
        pytest.param(b"GET / HTTP/1.1\r\nno colon\r\n\r\n", "parameter_invalid", id="header"),
        pytest.param(
            b"POST /v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
            "parameter_invalid",
            id="content-length",
        ),
        pytest.param(
            b"POST /v1/tickets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            "parameter_invalid",
            id="transfer-encoding",
        ),
        pytest.param(
            b"POST /v1/tickets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "parameter_invalid",
            id="chunk-size",
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            "request_too_large",
            id="headers-too-large",
        ),
    ],
)
def test_waitress_refusals_carry_the_apis_json_error_and_a_request_id(
    server: LocalServer, raw: bytes, code: str
) -> None:
    answer, body, closed = exchange(server, raw)
    assert_api_error(answer, body, code)
    assert closed


@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_a_request_with_both_content_length_and_transfer_encoding_is_refused_and_closed(
    engine: Engine, server: LocalServer, version: str
) -> None:
    key = engine.keys.create()
    before = table_counts(engine)
    ticket = b'{"subject": "Smuggled", "description": "in"}'
    smuggled = (
        f"POST /v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(ticket)}\r\n\r\n"
    ).encode() + ticket
    raw = (
        f"POST /v1/tickets HTTP/{version}\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ).encode() + smuggled
    answer, body, closed = exchange(server, raw)
    error = assert_api_error(answer, body, "parameter_invalid")
    assert error["param"] == "Transfer-Encoding"
    assert closed
    assert table_counts(engine) == before


# -- the log --------------------------------------------------------------------------


def test_an_api_key_in_a_query_string_never_reaches_the_log(
    engine: Engine, server: LocalServer, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    caplog.set_level(logging.INFO)
    secrets = ["sk_live_secret0001", "sk_live_secret0002", "sk_live_secret0003"]
    requests.get(f"{server.url}/v1/tickets?api_key={secrets[0]}", timeout=10)
    requests.get(f"{server.url}/v1/tickets?status=new&API_KEY={secrets[1]}", timeout=10)

    def broken(method: str, target: str, **kwargs: Any) -> Any:
        raise RuntimeError(f"failed on {target}")

    monkeypatch.setattr(engine, "request", broken)
    failed = requests.get(f"{server.url}/v1/tickets?Api_Key={secrets[2]}", timeout=10)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "internal_error"
    logged = caplog.text
    assert "GET /v1/tickets?api_key=[redacted] 401" in logged
    assert "API_KEY=[redacted]" in logged
    assert "failed on /v1/tickets?Api_Key=[redacted]" in logged  # the traceback too
    for secret in secrets:
        assert secret not in logged
