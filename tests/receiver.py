"""A webhook receiver for the tests: an HTTP server on a loopback port, in a thread,
that records every POST it gets (headers and body, in order of arrival) and answers
each as the test plans: a status, or holding the request until the test lets go."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

HOLD = -1
"""A planned answer: hold the request (no answer) until :meth:`Receiver.release`."""


@attrs.frozen
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers["Idempotency-Key"]


class Receiver:
    """``url`` takes POSTs; ``plan`` holds the answers of the next requests (a status,
    or :data:`HOLD`), then ``default`` answers; ``received`` records them all."""

    def __init__(self, default: int = 200) -> None:
        self.default = default
        self.plan: list[int] = []
        self.received: list[Received] = []
        self._released = threading.Event()
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    answer = receiver.plan.pop(0) if receiver.plan else receiver.default
                    receiver._lock.notify_all()
                if answer == HOLD:
                    receiver._released.wait()
                    return  # closes the connection without an answer
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks?from=ayra"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Let every held request go (unanswered)."""
        self._released.set()

    def wait_for(self, count: int, bound: float = 60.0) -> bool:
        """Wait until ``count`` requests have arrived (at most ``bound`` seconds, a
        safety net: a test asserts on what arrived, never on how long it took)."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.received) >= count, bound)

    def ids(self) -> list[str]:
        return [each.id for each in self.received]

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


def receiving(default: int = 200) -> Iterator[Receiver]:
    receiver = Receiver(default)
    try:
        yield receiver
    finally:
        receiver.close()
