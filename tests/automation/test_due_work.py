"""The seams automation hangs on: ``engine.run_due()`` and its parts, the control plane's
clock moves running it, ``serve``'s timer running it, and work done after a commit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from ayra_tickets import Engine, ManualClock
from ayra_tickets.server import DueTimer, LocalServer
from tests.conftest import START


class Recorder:
    """A due part that notes the instants it was run at, and says it did one thing."""

    def __init__(self) -> None:
        self.ran: list[datetime] = []
        self.called = threading.Event()

    def __call__(self, now: datetime) -> int:
        self.ran.append(now)
        self.called.set()
        return 1


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open(":memory:", clock=ManualClock(START)) as opened:
        yield opened


def test_run_due_runs_every_part_in_order_at_the_engines_now(engine: Engine) -> None:
    first, second = Recorder(), Recorder()
    order: list[str] = []
    engine._uow.due[:] = [
        ("first", lambda now: order.append("first") or first(now)),
        ("second", lambda now: order.append("second") or second(now)),
    ]
    engine.clock.advance(timedelta(seconds=90.7))  # type: ignore[attr-defined]
    assert engine.run_due() == {"first": 1, "second": 1}
    assert order == ["first", "second"]
    assert first.ran == second.ran == [START + timedelta(seconds=90)]  # to the second


@pytest.mark.parametrize(
    ("method", "path", "body", "moved_to"),
    [
        ("POST", "/_local/clock/advance", {"seconds": 3600}, START + timedelta(hours=1)),
        ("PUT", "/_local/clock", {"now": "2025-02-01T00:00:00Z"}, None),
    ],
)
def test_a_move_of_the_control_planes_clock_runs_the_due_work_and_says_what_it_did(
    engine: Engine, method: str, path: str, body: dict[str, object], moved_to: datetime | None
) -> None:
    part = Recorder()
    engine._uow.due[:] = [("recorded", part)]
    with LocalServer(engine, port=0, control=True) as server:
        answer = requests.request(method, server.url + path, json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["due"] == {"recorded": 1}
        assert part.ran == [engine.clock.now()]
        if moved_to is not None:
            assert part.ran == [moved_to]
        refused = requests.request(method, server.url + path, json={"seconds": -1}, timeout=10)
        assert refused.status_code == 400
        assert len(part.ran) == 1  # a refused move runs nothing


def test_a_served_engine_runs_its_due_work_on_a_timer(engine: Engine) -> None:
    part = Recorder()
    engine._uow.due[:] = [("recorded", part)]
    with LocalServer(engine, port=0, due_every=0.05):
        assert part.called.wait(timeout=30)
    count = len(part.ran)
    part.called.clear()
    assert not part.called.wait(timeout=0.3)  # stopped with the server
    assert len(part.ran) == count


def test_a_failing_run_is_logged_and_the_timer_goes_on(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    part = Recorder()
    failures = iter([RuntimeError("the database is gone for a moment")])

    def flaky(now: datetime) -> int:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return part(now)

    engine._uow.due[:] = [("flaky", flaky)]
    timer = DueTimer(engine, 0.02).start()
    try:
        assert part.called.wait(timeout=30)
    finally:
        timer.stop()
    assert "the due work failed" in caplog.text
    with pytest.raises(ValueError, match="positive"):
        DueTimer(engine, 0)


def test_work_after_a_commit_runs_once_and_never_after_a_rollback(engine: Engine) -> None:
    uow = engine._uow
    seen: list[str] = []

    def committed() -> None:
        uow.after_commit(lambda: seen.append("committed"))

    uow.write(committed)
    assert seen == ["committed"]

    def rolled_back() -> None:
        uow.after_commit(lambda: seen.append("rolled back"))
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        uow.write(rolled_back)
    assert seen == ["committed"]

    def nested() -> None:
        uow.after_commit(lambda: seen.append("outer"))
        with pytest.raises(RuntimeError):
            uow.write(rolled_back)  # a savepoint: rolled back, its work dropped
        uow.write(lambda: uow.after_commit(lambda: seen.append("inner")))
        assert seen == ["committed"]  # nothing runs before the outer commit

    uow.write(nested)
    assert seen == ["committed", "outer", "inner"]


def test_a_failing_callback_after_a_commit_stops_no_other(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    uow = engine._uow
    seen: list[str] = []

    def work() -> None:
        uow.after_commit(lambda: 1 / 0)  # type: ignore[func-returns-value]
        uow.after_commit(lambda: seen.append("second"))

    uow.write(work)
    assert seen == ["second"]
    assert "a callback after a commit failed" in caplog.text


def test_run_due_assigns_then_escalates_then_sends(engine: Engine) -> None:
    assert [name for name, _ in engine._uow.due] == ["assignments", "escalations", "webhooks"]
    assert list(engine.run_due()) == ["assignments", "escalations", "webhooks"]


def test_one_run_due_sends_what_its_escalations_announced(engine: Engine) -> None:
    from ayra_tickets import EscalationLevel, Notify
    from tests.receiver import receiving

    for receiver in receiving():
        engine.webhooks.subscribe(receiver.url, events=["ticket.at_risk"])
        engine.escalations.configure(
            {2: [EscalationLevel(on="response_due", after=timedelta(0),
                                 actions=[Notify("ticket.at_risk")])]}
        )  # fmt: skip
        engine.tickets.create(subject="Checkout down", description="500s", priority=2)
        engine.clock.advance(timedelta(hours=8))  # type: ignore[attr-defined]
        assert engine.run_due() == {"assignments": 0, "escalations": 1, "webhooks": 1}
        assert [each.json["type"] for each in receiver.received] == ["ticket.at_risk"]
