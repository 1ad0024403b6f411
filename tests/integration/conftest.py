"""Fixtures of the integration tests: the remote Ticket API that sync pushes to (an
engine of its own served by ``LocalServer`` on a loopback port), behind the
fault-injecting proxy of ``tests/faults.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ayra_tickets import Engine, ManualClock
from ayra_tickets.server import LocalServer
from tests.conftest import START
from tests.faults import FaultProxy, proxying


@pytest.fixture
def remote() -> Iterator[Engine]:
    """The remote API's engine (its own clock): what ``serve`` answers from."""
    with Engine.open(":memory:", clock=ManualClock(START)) as engine:
        yield engine


@pytest.fixture
def proxy(remote: Engine) -> Iterator[FaultProxy]:
    """The proxy in front of the remote, served on loopback."""
    with LocalServer(remote, port=0) as server:
        yield from proxying(server.url)
