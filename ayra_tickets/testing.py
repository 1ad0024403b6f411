"""Testing code that calls the Ticket API, offline: :func:`mock_api`.

Inside ``with mock_api() as api:`` every ``requests`` and ``httpx`` call to
``https://api.ayra.ai`` (or the ``base_url`` given) is answered by an in-process engine,
exactly as the wire layer answers (the same bodies, status codes and headers), without
a socket; calls to other hosts go out as usual. ``api.engine`` is the engine,
``api.clock`` its clock and ``api.key`` a key with both scopes::

    from ayra_tickets.testing import mock_api

    def test_my_integration():
        with mock_api() as api:
            ticket = my_code.open_ticket(api_key=api.key)   # calls requests.post(...)
            api.clock.advance(hours=5)
            assert api.engine.tickets.get(ticket["id"]).sla.breached

``mock_api`` is also a decorator; the pytest plugin (:mod:`ayra_tickets.pytest_plugin`)
gives the same as fixtures. Interception uses ``responses`` for requests and ``respx``
for httpx (the ``[testing]`` extra), each only if its client library is installed.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from .domain.clock import ManualClock
from .engine import Engine
from .extras import require
from .wire import Response

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_BASE_URL = "https://api.ayra.ai"
DEFAULT_START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
"""Where a fresh engine's manual clock starts: a fixed instant, so tests repeat exactly."""


class mock_api(contextlib.ContextDecorator):
    """Answer ``requests`` and ``httpx`` calls to ``base_url`` from an engine.

    ``engine``: the engine to answer from (default: a fresh in-memory one on a
    :class:`ManualClock` at ``start``, closed on exit). ``key``: the secret of an
    existing key to hand out as ``.key`` (default: a new key with both scopes, revoked
    on exit when the engine is the caller's). As a decorator, keep the instance to reach
    its ``.engine``, ``.clock`` and ``.key``: ``api = mock_api()``, then ``@api``.
    Calls under ``base_url`` never reach the network, whatever their host's case or
    port spelling; if ``requests`` (or ``httpx``) is installed without the library that
    intercepts it, entering fails rather than let a call out.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        key: str | None = None,
        start: datetime = DEFAULT_START,
    ) -> None:
        self.base_url, self._matches = _normalized(base_url)
        self._given_engine = engine
        self._given_key = key
        self._start = start
        self._stack: contextlib.ExitStack | None = None

    engine: Engine
    """The engine that answers (set on entering)."""
    key: str
    """A key of ``engine`` with both scopes (set on entering)."""

    @property
    def clock(self) -> ManualClock:
        """The engine's clock: a :class:`ManualClock`, unless the engine given runs on
        another clock (then that one)."""
        return cast(ManualClock, self.engine.clock)

    def __call__(self, func: F) -> F:
        """Decorate ``func`` (a plain or an ``async`` function) to run inside the mock."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def inside(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return cast(F, inside)
        return super().__call__(func)

    def __enter__(self) -> mock_api:
        if self._stack is not None:
            raise RuntimeError("this mock_api is already active")
        stack = contextlib.ExitStack()
        try:
            if self._given_engine is None:
                self.engine = stack.enter_context(
                    Engine.open(":memory:", clock=ManualClock(self._start))
                )
            else:
                self.engine = self._given_engine
            if self._given_key is not None:
                self.key = self._given_key
            else:
                self.key = self.engine.keys.create(name="mock_api")
                if self._given_engine is not None:  # leave the caller's engine as it was
                    made = self.engine.keys.authenticate(self.key)
                    assert made is not None
                    stack.callback(self.engine.keys.revoke, made.id)
            stack.enter_context(self._requests_patch())
            stack.enter_context(self._httpx_patch())
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def answer(self, method: str, url: str, headers: dict[str, str], body: Any) -> Response:
        """The engine's answer to one intercepted call (to a URL under ``base_url``)."""
        found = self._matches.match(url)
        assert found is not None, url
        target = url[found.end() :].split("#", 1)[0]
        if not target.startswith("/"):  # "?query" right after the base
            target = "/" + target
        return self.engine.request(method, target, headers=headers, body=_bytes(body))

    @contextlib.contextmanager
    def _requests_patch(self) -> Iterator[None]:
        if importlib.util.find_spec("requests") is None:
            yield
            return
        responses = _interceptor("responses", "requests")
        from requests.adapters import HTTPAdapter

        def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
            answer = self.answer(request.method, request.url, dict(request.headers), request.body)
            empty = request.method == "HEAD"
            return answer.status, dict(answer.headers), b"" if empty else answer.body

        # Other hosts go on to whatever sends requests' calls now: the network, or a mock
        # of the caller's that was started first.
        mock = responses.RequestsMock(
            assert_all_requests_are_fired=False, real_adapter_send=HTTPAdapter.send
        )
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
            mock.add_callback(method, self._matches, callback=callback, content_type=None)
        mock.add_passthru(re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://"))
        mock.start()
        try:
            yield
        finally:
            mock.stop(allow_assert=False)
            mock.reset()

    @contextlib.contextmanager
    def _httpx_patch(self) -> Iterator[None]:
        if importlib.util.find_spec("httpx") is None:
            yield
            return
        respx = _interceptor("respx", "httpx")
        import httpx

        def side_effect(request: Any) -> Any:
            answer = self.answer(
                request.method, str(request.url), dict(request.headers), request.content
            )
            content = b"" if request.method == "HEAD" else answer.body
            return httpx.Response(answer.status, headers=dict(answer.headers), content=content)

        router = respx.mock(assert_all_called=False, assert_all_mocked=True)
        router.route(url__regex=self._matches).mock(side_effect=side_effect)
        router.route().pass_through()  # every other host
        router.start()
        try:
            yield
        finally:
            router.stop()


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalized(base_url: str) -> tuple[str, re.Pattern[str]]:
    """The base URL as clients send it (scheme and host in lower case, no default port),
    and a pattern for every URL under it: the host in any case, the default port
    written or not."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL with a host, not {base_url!r}")
    host = parts.hostname.lower()
    default = _DEFAULT_PORTS[scheme]
    port = None if parts.port in (None, default) else parts.port
    path = parts.path.rstrip("/")
    shown = f"{scheme}://{host}" + (f":{port}" if port else "") + path
    port_pattern = f":{port}" if port else f"(?::{default})?"
    pattern = re.compile(
        f"{re.escape(scheme)}://{re.escape(host)}{port_pattern}{re.escape(path)}(?=[/?#]|$)",
        re.IGNORECASE,
    )
    return shown, pattern


def _bytes(body: Any) -> bytes:
    """A client's request body as bytes (a streamed body is an iterable of chunks)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return b"".join(part.encode("utf-8") if isinstance(part, str) else bytes(part) for part in body)


def _interceptor(name: str, client: str) -> Any:
    """The library that intercepts ``client``'s calls; a clear error if it is missing, so
    that a call meant for the mock never goes out to the real API."""
    return require(name, extra="testing", purpose=f"mock_api's answers to {client} ({name})")
