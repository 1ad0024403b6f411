"""``ayra-tickets serve``: the wire layer over real HTTP, on loopback.

:class:`WireApp` is a WSGI application that hands each request to the wire layer
unchanged (the same routes, bodies, status codes and headers as ``engine.request``, the
OpenAPI document at ``/openapi.json`` among them) and, when asked for, to the control
plane at ``/_local/`` (see :mod:`ayra_tickets.local`). :class:`LocalServer` runs it under
waitress, a production WSGI server (the ``[server]`` extra), in the foreground or in a
background thread for tests.

waitress reads a request whole (its headers, then its body) on one thread before a worker
thread runs the application, so a slow client holds a connection, never a worker. What
waitress does not do is narrowed in here, by small subclasses of its parser, channel,
error task and server (each says why):

- a body larger than its route takes (1 MiB; a seed, :data:`~ayra_tickets.local.SEED_MAX_BYTES`)
  is refused with 413 from its ``Content-Length`` before any of it is read, and a chunked
  one as soon as it grows past the limit;
- a request with both ``Content-Length`` and ``Transfer-Encoding`` (a smuggling attempt)
  is refused and its connection closed;
- waitress's own refusals (a malformed request, headers too large, an unknown
  ``Transfer-Encoding``) carry the API's JSON error and a ``Request-Id``, as 400 or 413;
- a request's headers must arrive within ``header_timeout`` of its first byte, and the
  whole request within ``request_timeout`` (slowloris); a connection idle for
  ``idle_timeout`` is closed; and when ``connection_limit`` connections are open, the one
  that has waited longest without a request being served makes room for a new one.
"""

from __future__ import annotations

import contextlib
import http
import logging
import re
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

try:
    from waitress.adjustments import Adjustments
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser, ParsingError
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask, ThreadedTaskDispatcher
    from waitress.utilities import (
        InternalServerError,
        RequestEntityTooLarge,
        RequestHeaderFieldsTooLarge,
        ServerNotImplemented,
    )
except ImportError as missing:  # depends on the install
    from .extras import MissingExtra

    raise MissingExtra("serving the API over HTTP", "server") from missing

from . import local
from .domain.errors import ParameterInvalid, RequestTooLarge, TicketError
from .local import PREFIX, control
from .wire import MAX_BODY_BYTES, MAX_HEADER_BYTES, Response, error_response, with_request_id

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

    def body_limit(self, path: str) -> int:
        """The largest body a request to ``path`` may carry (larger: 413, unread)."""
        return local.body_limit(path) if self.control else MAX_BODY_BYTES

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer one WSGI request, and log it in one line."""
        began = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        target = _request_target(environ)
        try:
            headers = _headers(environ)
            path = urlsplit(target).path
            limit = self.body_limit(path)
            body = _read_body(environ, limit)
            if body is None:
                response = with_request_id(error_response(RequestTooLarge(limit)))
            elif self.control and path.startswith(PREFIX):
                response = control(self.engine, method, path, headers, body)
            else:
                response = self.engine.request(method, target, headers=headers, body=body)
        except Exception:  # a bug: say so in the API's envelope, never a bare page
            # The traceback is logged as text, redacted: a key in the query string may
            # appear in an exception's message.
            log.error("%s %s failed\n%s", method, redact(target), redact(traceback.format_exc()))
            response = with_request_id(
                Response(500, INTERNAL_ERROR, {"Content-Type": "application/json"})
            )
        payload = response.body
        sent = [*response.headers.items(), ("Content-Length", str(len(payload)))]
        start_response(_status_line(response.status), sent)
        _log_answer(method, target, response.status, len(payload), began)
        return [payload]


def _status_line(status: int) -> str:
    return f"{status} {http.HTTPStatus(status).phrase}"


def _log_answer(method: str, target: str, status: int, size: int, began: float) -> None:
    elapsed = (time.perf_counter() - began) * 1000
    log.info("%s %s %d %dB %.1fms", method, redact(target), status, size, elapsed)


_API_KEY = re.compile(r"((?:^|[?&;])api[_-]?key=)[^&;#\s]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the value of any ``api_key=`` query parameter (in any case) hidden:
    a client that puts its key in the URL must not find it in the server's log."""
    return _API_KEY.sub(r"\1[redacted]", text)


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


def _read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """The request body, read whole; ``None`` when its length is over ``limit``, which
    is then not read at all (under waitress the parser has refused it already)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return None
    data: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return data


# -- waitress, narrowed ---------------------------------------------------------------


def _refusal(error: Any) -> Response:
    """The API's answer for a request waitress (or our parser) refused before the
    application saw it."""
    if isinstance(error, TicketError):
        refused = error
    elif isinstance(error, RequestHeaderFieldsTooLarge):
        refused = RequestTooLarge(MAX_REQUEST_HEAD_BYTES, "The request line with its headers")
    elif isinstance(error, RequestEntityTooLarge):
        refused = RequestTooLarge(MAX_BODY_BYTES)
    elif isinstance(error, ServerNotImplemented):
        refused = ParameterInvalid(
            "Transfer-Encoding may only be chunked", param="Transfer-Encoding"
        )
    elif isinstance(error, InternalServerError):
        return with_request_id(Response(500, INTERNAL_ERROR, {"Content-Type": "application/json"}))
    else:  # BadRequest, a chunked body's bad framing among them
        refused = ParameterInvalid(f"The request is not valid HTTP/1.1: {error.body}")
    return with_request_id(error_response(refused))


MAX_REQUEST_HEAD_BYTES = 2 * MAX_HEADER_BYTES
"""The request line and headers as sent, at most (waitress's limit; above the wire
layer's own, which counts names and values only, so that the wire's 413 comes first)."""


class _Request(HTTPRequestParser):  # type: ignore[misc]
    """waitress's request parser knows one body limit for every route (1 GiB by default;
    what it takes of a body is spooled to disk before the application runs). This one
    refuses a body over its own route's limit from its ``Content-Length``, or a chunked
    one as it grows past it, and refuses ambiguous framing (waitress lets chunked win
    over ``Content-Length``). It also notes when the request began, for the deadlines."""

    error: Any = None  # a waitress error, or one of ours (a TicketError)

    def __init__(self, adj: Any, body_limit: Callable[[str], int]) -> None:
        super().__init__(adj)
        self.body_limit = body_limit
        self.began = time.monotonic()
        self.framing: TicketError | None = None

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if "CONTENT_LENGTH" in self.headers and self.chunked:
            self.framing = ParameterInvalid(
                "A request may not carry both Content-Length and Transfer-Encoding",
                param="Transfer-Encoding",
            )
        elif "TRANSFER_ENCODING" in self.headers:  # kept by waitress outside HTTP/1.1
            self.framing = ParameterInvalid(
                "Transfer-Encoding is only understood in HTTP/1.1", param="Transfer-Encoding"
            )
        if self.framing is not None:
            raise ParsingError(self.framing.message)  # waitress marks the request done

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        error = self.error
        too_large = isinstance(error, RequestEntityTooLarge)  # waitress's backstop
        if (error is None or too_large) and self.headers_finished and not self.empty:
            limit = self.body_limit(self.path)
            size = len(self.body_rcv) if self.chunked else self.content_length
            if size > limit or too_large:
                error = RequestTooLarge(limit)
                self.completed = True
        if error is not None:
            self.error = self.framing or error
        if self.completed:
            # waitress sends "100 Continue" to a request it has read whole (one without a
            # body: it then waits for more and never answers) or refused (it then reads
            # the body it refused): a client waiting for it gets the answer instead.
            self.expect_continue = False
        return consumed


class _ErrorTask(ErrorTask):  # type: ignore[misc]
    """waitress answers its refusals in plain text; these are the API's JSON errors,
    with a ``Request-Id``, logged as the application's answers are. The connection is
    closed after it (as waitress does: what follows a refused request cannot be
    trusted to start a new one)."""

    def execute(self) -> None:
        began = time.perf_counter()
        response = _refusal(self.request.error)
        payload = response.body
        self.status = _status_line(response.status)
        self.response_headers.extend(response.headers.items())
        self.set_close_on_finish()
        self.content_length = len(payload)
        self.write(payload)
        method = getattr(self.request, "command", None) or "-"
        target = getattr(self.request, "request_uri", None) or "-"
        _log_answer(method, target, response.status, len(payload), began)


class _Channel(HTTPChannel):  # type: ignore[misc]
    error_task_class = _ErrorTask

    def parser_class(self, adj: Any) -> _Request:
        """waitress calls ``self.parser_class(adj)`` for each request: this one knows
        the server's routes' body limits."""
        return _Request(adj, self.server.body_limit)


class _Server(TcpWSGIServer):  # type: ignore[misc]
    """waitress's server, whose only deadline is ``channel_timeout`` of silence (a
    client trickling a byte a second is never closed) and which stops accepting once
    ``connection_limit`` connections are open (so that idle or trickling ones lock
    everyone else out). This one also closes a connection whose request is late (its
    headers past ``header_timeout``, all of it past ``request_timeout``), and, at the
    limit, closes the connection that has waited longest without a request being
    served, so that a new one can be accepted."""

    channel_class = _Channel

    def __init__(
        self,
        app: WireApp,
        adj: Any,
        *,
        header_timeout: float,
        request_timeout: float,
    ) -> None:
        self.body_limit = app.body_limit
        self.header_timeout = header_timeout
        self.request_timeout = request_timeout
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
        super().__init__(app, map={}, dispatcher=dispatcher, adj=adj)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections
        clock = time.monotonic()
        for channel in list(self.active_channels.values()):
            request = channel.request
            if channel.requests or request is None or request.completed:
                continue
            allowed = self.request_timeout if request.headers_finished else self.header_timeout
            if clock - request.began > allowed:
                channel.will_close = True

    def readable(self) -> bool:
        if self.accepting:
            self._make_room()
        return bool(super().readable())

    def _make_room(self) -> None:
        """At the connection limit, mark the connection waiting longest for its request
        (or idle longest) to be closed; the loop closes it before accepting again."""
        if len(self._map) < self.adj.connection_limit:
            return
        channels = list(self.active_channels.values())
        closing = sum(1 for c in channels if c.will_close or c.close_when_flushed)
        if len(self._map) - closing < self.adj.connection_limit:
            return
        waiting = [
            c
            for c in channels
            if not (c.requests or c.will_close or c.close_when_flushed or c.total_outbufs_len)
        ]
        if waiting:
            min(waiting, key=_waited_since).will_close = True


def _waited_since(channel: Any) -> float:
    """When a connection began to wait for the request it has not finished sending (or,
    with none begun, when it last did anything), on the monotonic clock."""
    if channel.request is not None:
        return float(channel.request.began)
    return time.monotonic() - (time.time() - float(channel.last_activity))


def _connection_limit(wanted: int) -> int:
    """``wanted``, or fewer if this process may not open that many files (with room for
    the database and the server's own)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows: no such limit to ask
        return wanted
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - 64))


class DueTimer:
    """``engine.run_due()`` every ``every`` seconds, from a daemon thread, until
    :meth:`stop`: the queued assignments, escalations and webhook sends of a served
    engine happen without anyone asking. A run that fails (the database busy past its
    bound, say) is logged, and the next one tries again."""

    def __init__(self, engine: Engine, every: float) -> None:
        if not every > 0:
            raise ValueError("the due work's interval must be a positive number of seconds")
        self.engine = engine
        self.every = every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DueTimer:
        self._thread = threading.Thread(target=self._run, name="ayra-tickets-due", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self.every):
            try:
                self.engine.run_due()
            except Exception:
                log.exception("the due work failed; it runs again in %s s", self.every)

    def stop(self) -> None:
        """Stop, after the run under way (if any) ends."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None


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
        connection_limit: int = 1000,
        header_timeout: float = 10,
        request_timeout: float = 60,
        idle_timeout: int = 30,
        due_every: float | None = None,
    ) -> None:
        """``threads`` run the application (a request is read whole before one is
        taken). At most ``connection_limit`` connections are open (fewer if the process
        may not open that many files); at the limit, the one that has waited longest for
        its request makes room for a new one. A request's headers must arrive within
        ``header_timeout`` seconds of its first byte, all of it within
        ``request_timeout``; a connection silent for ``idle_timeout`` seconds between
        requests is closed. ``due_every``: run ``engine.run_due()`` every so many seconds
        while serving (``None``: never; a test then runs it, or moves the control
        plane's clock, which runs it)."""
        self.app = WireApp(engine, control=control)
        self._due = None if due_every is None else DueTimer(engine, due_every)
        # One address: a name such as localhost may stand for several (IPv4 and IPv6),
        # and waitress would then listen on each, as a server of another kind.
        host = str(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0])
        adjustments = Adjustments(
            host=host,
            port=port,
            threads=threads,
            ident="ayra-tickets",
            clear_untrusted_proxy_headers=True,
            connection_limit=_connection_limit(connection_limit),
            channel_timeout=idle_timeout,
            cleanup_interval=1,  # the deadlines are checked every second
            asyncore_use_poll=True,  # select() fails past 1024 open files
            max_request_header_size=MAX_REQUEST_HEAD_BYTES,
            # The routes' own limits are checked first; this is waitress's backstop.
            max_request_body_size=max(local.SEED_MAX_BYTES, MAX_BODY_BYTES) + 1,
        )
        self._server: Any = _Server(
            self.app,
            adjustments,
            header_timeout=header_timeout,
            request_timeout=request_timeout,
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
        if self._due is not None:
            self._due.start()
        try:
            self._server.run()  # returns on KeyboardInterrupt, its workers stopped
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self._due is not None:
                self._due.stop()
            self._close_connections()

    def start(self) -> LocalServer:
        """Serve from a background thread; :meth:`stop` ends it."""
        self._thread = threading.Thread(
            target=self._server.run, name="ayra-tickets-server", daemon=True
        )
        self._thread.start()
        if self._due is not None:
            self._due.start()
        return self

    def stop(self) -> None:
        """Stop a server started by :meth:`start`: its connections are closed from its
        own loop (closing the listening socket alone leaves kept-alive clients served)."""
        if self._thread is None:
            return
        if self._due is not None:
            self._due.stop()
        # The workers first: a worker that finishes a request wakes the loop through its
        # trigger, which closing the connections closes too (EBADF in a late worker).
        self._server.task_dispatcher.shutdown()
        with contextlib.suppress(OSError):  # the loop has closed its trigger already
            self._server.trigger.pull_trigger(self._close_connections)
        self._thread.join(timeout=5)
        self._thread = None

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
