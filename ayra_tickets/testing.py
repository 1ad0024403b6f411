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
import re
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from .domain.clock import Clock, ManualClock
from .engine import Engine
from .wire import Response

DEFAULT_BASE_URL = "https://api.ayra.ai"
DEFAULT_START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
"""Where a fresh engine's manual clock starts: a fixed instant, so tests repeat exactly."""


class mock_api(contextlib.ContextDecorator):
    """Answer ``requests`` and ``httpx`` calls to ``base_url`` from an engine.

    ``engine``: the engine to answer from (default: a fresh in-memory one on a
    :class:`ManualClock` at ``start``, closed on exit). ``key``: the secret of an
    existing key to hand out as ``.key`` (default: a new key with both scopes).
    """

    def __init__(
        self,
        engine: Engine | None = None,
        base_url: str = DEFAULT_BASE_URL,
        *,
        key: str | None = None,
        start: datetime = DEFAULT_START,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._given_engine = engine
        self._given_key = key
        self._start = start
        self._stack: contextlib.ExitStack | None = None
        self._matches = re.compile(re.escape(self.base_url) + r"(?:[/?#]|$)")

    engine: Engine
    key: str

    @property
    def clock(self) -> Clock:
        return self.engine.clock

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
            self.key = self._given_key or self.engine.keys.create(name="mock_api")
            for patch in (self._requests_patch, self._httpx_patch):
                stack.enter_context(patch())
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

    def answer(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Response:
        """The engine's answer to one intercepted call."""
        target = url[len(self.base_url) :] or "/"
        if not target.startswith("/"):  # "?query" or "#fragment" right after the base
            target = "/" + target
        return self.engine.request(method, target.split("#", 1)[0], headers=headers, body=body)

    @contextlib.contextmanager
    def _requests_patch(self) -> Any:
        try:
            import requests  # noqa: F401
            import responses
        except ImportError:
            yield
            return

        def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
            body = request.body
            raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
            answer = self.answer(request.method, request.url, dict(request.headers), raw)
            return (
                answer.status,
                dict(answer.headers),
                b"" if request.method == "HEAD" else answer.body,
            )

        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
            mock.add_callback(method, self._matches, callback=callback, content_type=None)
        mock.add_passthru(re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://"))  # every other host
        mock.start()
        try:
            yield
        finally:
            mock.stop(allow_assert=False)
            mock.reset()

    @contextlib.contextmanager
    def _httpx_patch(self) -> Any:
        try:
            import httpx
            import respx
        except ImportError:
            yield
            return

        def side_effect(request: Any) -> Any:
            answer = self.answer(
                request.method, str(request.url), dict(request.headers), request.content
            )
            content = b"" if request.method == "HEAD" else answer.body
            return httpx.Response(answer.status, headers=dict(answer.headers), content=content)

        router = respx.mock(assert_all_called=False, assert_all_mocked=True)
        router.route(url__regex="^" + self._matches.pattern).mock(side_effect=side_effect)
        router.route().pass_through()  # every other host
        router.start()
        try:
            yield
        finally:
            router.stop()
