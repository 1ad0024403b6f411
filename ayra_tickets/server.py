"""``ayra-tickets serve``: the wire layer over real HTTP, on loopback.

:class:`WireApp` is a WSGI application that hands each request to the wire layer
unchanged (the same routes, bodies, status codes and headers as ``engine.request``, the
OpenAPI document at ``/openapi.json`` among them) and, when asked for, to the control
plane at ``/_local/`` (see :mod:`ayra_tickets.local`). :class:`LocalServer` runs it under
waitress, a production WSGI server (the ``[server]`` extra), in the foreground or in a
background thread for tests.
"""

from __future__ import annotations

import http
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from .local import PREFIX, control
from .wire import MAX_BODY_BYTES, Response, with_request_id

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("ayra_tickets.server")

INTERNAL_ERROR = {
    "error": {
        "type": "api_error",
        "code": "internal_error",
        "message": "The server failed to answer; the request may not have been applied",
    }
}

StartResponse = Callable[..., Any]


class WireApp:
    """A WSGI application answering as the API does, from ``engine``.

    ``engine`` may be swapped between requests (a test server reused by many tests
    serves each test's engine). ``control`` turns on ``/_local/``.
    """

    def __init__(self, engine: Engine, *, control: bool = False) -> None:
        self.engine = engine
        self.control = control

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer one WSGI request, and log it in one line."""
        began = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        target = _request_target(environ)
        try:
            headers = _headers(environ)
            body = _read_body(environ)
            path = urlsplit(target).path
            if self.control and path.startswith(PREFIX):
                response = control(self.engine, method, path, headers, body)
            else:
                response = self.engine.request(method, target, headers=headers, body=body)
        except Exception:  # a bug: say so in the API's envelope, never a bare page
            log.exception("%s %s failed", method, target)
            response = with_request_id(
                Response(500, INTERNAL_ERROR, {"Content-Type": "application/json"})
            )
        payload = response.body
        reason = http.HTTPStatus(response.status).phrase
        sent = [*response.headers.items(), ("Content-Length", str(len(payload)))]
        start_response(f"{response.status} {reason}", sent)
        log.info(
            "%s %s %d %dB %.1fms",
            method,
            target,
            response.status,
            len(payload),
            (time.perf_counter() - began) * 1000,
        )
        return [payload]


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _request_target(environ: dict[str, Any]) -> str:
    """The path and query as the client sent them (still percent-encoded)."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        return str(raw)
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = str(environ[key])
    return headers


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read no further than one byte past the limit (the wire layer
    answers 413 for that)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    data: bytes = stream.read(min(length, MAX_BODY_BYTES + 1)) if length > 0 else b""
    return data


class LocalServer:
    """The API on ``http://host:port`` from ``engine``, served by waitress.

    ``with LocalServer(engine) as server:`` starts it in a background thread (port 0
    picks a free port; ``server.url`` says which) and stops it on exit; ``run()`` serves
    in the foreground until Ctrl-C.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        port: int = 8787,
        control: bool = False,
        threads: int = 4,
    ) -> None:
        try:
            from waitress.server import create_server
        except ImportError as error:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "serving over HTTP needs the server extra: pip install 'ayra-tickets[server]'"
            ) from error
        self.app = WireApp(engine, control=control)
        # One address: a name such as localhost may stand for several (IPv4 and IPv6),
        # and waitress would then listen on each, as a server of another kind.
        host = str(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0])
        self._server: Any = create_server(
            self.app,
            host=host,
            port=port,
            threads=threads,
            ident="ayra-tickets",
            clear_untrusted_proxy_headers=True,
        )
        self.host = str(self._server.effective_host)
        self.port = int(self._server.effective_port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C, or SIGTERM), then stop cleanly. Both signals
        are taken here even when the shell that started the server ignores them."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, _interrupt)
        try:
            self._server.run()  # returns on KeyboardInterrupt, its workers stopped
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._close_connections()

    def start(self) -> LocalServer:
        """Serve from a background thread; :meth:`stop` ends it."""
        self._thread = threading.Thread(
            target=self._server.run, name="ayra-tickets-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop a server started by :meth:`start`: its connections are closed from its
        own loop (closing the listening socket alone leaves kept-alive clients served)."""
        if self._thread is None:
            return
        self._server.trigger.pull_trigger(self._close_connections)
        self._thread.join(timeout=5)
        self._thread = None
        self._server.task_dispatcher.shutdown()

    def _close_connections(self) -> None:
        from waitress import wasyncore

        wasyncore.close_all(self._server._map)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
