"""A fault-injecting proxy for the sync tests: an HTTP server on a loopback port, in a
thread, that forwards each request to the remote (``ayra-tickets serve``'s
``LocalServer``) and, as the test plans, drops the request before it arrives, drops the
answer after the remote committed, answers 429 with ``Retry-After`` or a 5xx in the
remote's place, or holds the answer until the test lets go. It records every request
it saw, in order of arrival, with what it did to it."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import attrs

PASS = "pass"
DROP_REQUEST = "drop_request"
"""Close the connection without forwarding: the remote never sees the request."""
DROP_ANSWER = "drop_answer"
"""Forward, let the remote commit and answer, then close the connection unanswered."""
DUPLICATE = "duplicate"
"""Forward the request twice (a replay), and answer with the second answer."""
HOLD = "hold"
"""Forward, then hold the answer until :meth:`FaultProxy.release` (and then drop it)."""


@attrs.frozen
class Fault:
    """What to do to the next request ``matching`` (method, path, headers): an action
    above, or an answer given in the remote's place: ``(status, headers)``."""

    matching: Callable[[str, str, dict[str, str]], bool]
    action: str | tuple[int, dict[str, str]]


@attrs.frozen
class Seen:
    """A request the proxy saw: method, path, headers, JSON body, what it did, and the
    remote's status (``None``: not forwarded, or no answer)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    action: str
    status: int | None


def anything(method: str, path: str, headers: dict[str, str]) -> bool:
    return True


class FaultProxy:
    """``url`` forwards to ``remote``; ``faults`` are consumed in order, each by the
    first request it matches; ``seen`` records every request."""

    def __init__(self, remote: str) -> None:
        self.remote = urlsplit(remote)
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._lock = threading.Condition()
        self._released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                action = proxy._take(self.command, self.path, headers)
                status = None
                answer: tuple[int, list[tuple[str, str]], bytes] | None = None
                if isinstance(action, tuple):
                    status, extra = action
                    error = {"error": {"type": "api_error", "code": "injected", "message": "x"}}
                    payload = json.dumps(error).encode()
                    answer = (status, [*extra.items(), ("Content-Type", "application/json")],
                              payload)  # fmt: skip
                elif action != DROP_REQUEST:
                    answer = proxy._forward(self.command, self.path, headers, body)
                    if action == DUPLICATE:
                        answer = proxy._forward(self.command, self.path, headers, body)
                    status = answer[0]
                proxy._saw(Seen(self.command, self.path, headers, _loaded(body),
                                action if isinstance(action, str) else "answered", status))  # fmt: skip
                if action == HOLD:
                    proxy._released.wait()
                if answer is None or action in (DROP_REQUEST, DROP_ANSWER, HOLD):
                    self.close_connection = True
                    return
                code, answer_headers, payload = answer
                self.send_response(code)
                for name, value in answer_headers:
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _take(self, method: str, path: str, headers: dict[str, str]) -> str | tuple[int, Any]:
        with self._lock:
            for n, fault in enumerate(self.faults):
                if fault.matching(method, path, headers):
                    del self.faults[n]
                    return fault.action
        return PASS

    def _saw(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)
            self._lock.notify_all()

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.remote.hostname or "", self.remote.port, timeout=30)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            conn.request(method, path, body=body or None, headers=sent)
            answer = conn.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            conn.close()

    def add(self, action: str | tuple[int, dict[str, str]], matching: Any = anything) -> None:
        """Plan ``action`` for the next request ``matching``."""
        with self._lock:
            self.faults.append(Fault(matching, action))

    def wait_until(self, condition: Callable[[list[Seen]], bool], timeout: float = 30) -> bool:
        """Whether the requests seen meet ``condition`` within ``timeout`` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: condition(self.seen), timeout)

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


def _loaded(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


def proxying(remote: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(remote)
    try:
        yield proxy
    finally:
        proxy.close()


def writes(seen: list[Seen]) -> list[Seen]:
    """The requests that change something (not the reads of a check)."""
    return [each for each in seen if each.method != "GET"]
