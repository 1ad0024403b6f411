"""The pytest plugin (registered through the ``pytest11`` entry point): fixtures for
testing code that calls the Ticket API, each fresh for every test.

- ``ayra_clock``: a :class:`~ayra_tickets.ManualClock` at a fixed instant;
- ``ayra_engine``: an engine on an in-memory database, on that clock;
- ``ayra_key``: a key with both scopes;
- ``ayra_api``: :func:`~ayra_tickets.testing.mock_api` active for the test, answering
  ``requests`` and ``httpx`` calls to ``https://api.ayra.ai`` from ``ayra_engine``.

Nothing is shared between tests, so nothing leaks from one to the next, also when
tests run in several processes (pytest-xdist).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .domain.clock import ManualClock
from .engine import Engine
from .testing import DEFAULT_START, mock_api


@pytest.fixture
def ayra_clock() -> ManualClock:
    """A manual clock at 2025-01-15T09:00:00Z; move it with ``advance`` or ``set``."""
    return ManualClock(DEFAULT_START)


@pytest.fixture
def ayra_engine(ayra_clock: ManualClock) -> Iterator[Engine]:
    """A fresh engine on an in-memory database, on ``ayra_clock``."""
    with Engine.open(":memory:", clock=ayra_clock) as engine:
        yield engine


@pytest.fixture
def ayra_key(ayra_engine: Engine) -> str:
    """A key of ``ayra_engine`` with both scopes."""
    return ayra_engine.keys.create(name="pytest")


@pytest.fixture
def ayra_api(ayra_engine: Engine, ayra_key: str) -> Iterator[mock_api]:
    """``requests`` and ``httpx`` calls to https://api.ayra.ai answered by ``ayra_engine``
    (``.engine``, ``.clock``, ``.key`` as for ``mock_api``)."""
    with mock_api(engine=ayra_engine, key=ayra_key) as api:
        yield api
