"""The open loads that ``least_loaded`` routing reads stay exact however tickets change:
by this engine, by another engine on the same database, by an import, and by writes
that roll back. (On SQLite they are counted once and kept up to date between
transactions; these tests fail if what is kept goes stale.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ayra_tickets import Engine, RoutingRule

pytestmark = pytest.mark.both_backends

RULE = RoutingRule("all", match={}, group="desk", strategy="least_loaded")


@pytest.fixture
def desk(engine: Engine) -> Engine:
    """Two agents of one least-loaded group; one routed ticket, which goes to ``ann``
    (ties by id), so that the loads are read: ann 1, bea 0."""
    engine.agents.add("ann", "Ann", groups=["desk"])
    engine.agents.add("bea", "Bea", groups=["desk"])
    engine.routing.configure([RULE])
    assert routed(engine) == "ann"
    return engine


@pytest.fixture
def other(desk: Engine, engine_address: str) -> Iterator[Engine]:
    with Engine.open(engine_address, clock=desk.clock) as second:
        yield second


def routed(engine: Engine, **fields: Any) -> str | None:
    ticket = engine.tickets.create(**({"subject": "Help", "description": "Please"} | fields))
    return ticket.assigned_to


def test_the_engines_own_writes_move_the_loads(desk: Engine) -> None:
    assert routed(desk) == "bea"  # 1 against 0
    mine = desk.tickets.create(subject="Mine", description="x", assigned_to="bea")
    assert routed(desk) == "ann"  # ann 1, bea 2
    desk.tickets.update(mine.id, assigned_to="ann")  # ann 3, bea 1
    assert routed(desk) == "bea"
    desk.tickets.close(mine.id)  # ann 2, bea 2
    assert routed(desk) == "ann"
    desk.tickets.update(mine.id, status="reopened")  # ann 4, bea 2: open again
    assert routed(desk) == "bea"
    assert routed(desk) == "bea"  # ann 4, bea 4
    assert routed(desk) == "ann"


def test_another_engines_writes_are_seen(desk: Engine, other: Engine) -> None:
    other.tickets.create(subject="Theirs", description="x", assigned_to="bea")
    other.tickets.create(subject="Theirs", description="x", assigned_to="bea")
    assert routed(desk) == "ann"  # ann 1, bea 2: not the 0 read before


def test_an_import_is_seen(desk: Engine) -> None:
    rows = [{"subject": "Old", "description": "imported", "assigned_to": "bea"}] * 2
    desk.tickets.import_many(rows)
    assert routed(desk) == "ann"  # ann 1, bea 2


def test_a_create_that_rolls_back_leaves_the_loads_as_they_were(desk: Engine) -> None:
    def refuse(written: Any) -> None:
        if written.after.subject == "Doomed":
            raise RuntimeError("refused after the ticket was written")

    desk._uow.reactions.append(refuse)
    with pytest.raises(RuntimeError):
        routed(desk, subject="Doomed")  # would have gone to bea, then rolled back
    assert routed(desk) == "bea"  # ann 1, bea 0 still
    assert routed(desk) == "ann"


def test_a_write_inside_a_transaction_that_fails_leaves_the_loads_of_the_rest(
    desk: Engine,
) -> None:
    uow = desk._uow

    def outer() -> list[str | None]:
        got = []
        with pytest.raises(RuntimeError):
            uow.write(lambda: fail_after(routed(desk)))
        got.append(routed(desk))  # the failed one's ticket is gone: bea is at 0
        got.append(routed(desk))
        return got

    def fail_after(agent: str | None) -> None:
        assert agent == "bea"
        raise RuntimeError("the inner write fails")

    assert uow.write(outer) == ["bea", "ann"]
    assert routed(desk) == "bea"  # ann 2, bea 1
