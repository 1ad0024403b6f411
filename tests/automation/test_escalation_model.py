"""The engine's escalations against a plain model of when levels fire: random levels, a
random walk of the clock with the due work run at each stop, and the ticket answered or
resolved along the way. After each run, exactly the levels the model says have fired,
each once, stamped with the run's instant and naming its own instant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ayra_tickets import Engine, EscalationLevel, ManualClock, Notify
from tests.conftest import START

TARGETS = {"response_due": 2 * 86_400, "resolution_due": 5 * 86_400}  # Normal's defaults

spread = st.tuples(st.integers(-24, 8), st.integers(-3_600, 3_600)).map(
    lambda p: p[0] * 21_600 + p[1]  # over the whole range, not only near 0, to the second
)
levels = st.lists(
    st.tuples(
        st.sampled_from(sorted(TARGETS)),
        st.one_of(
            spread.map(lambda s: ("seconds", s)),
            st.floats(0.05, 1.5).map(lambda f: ("fraction", f)),
        ),
    ),
    min_size=1,
    max_size=4,
)
moves = st.one_of(
    st.tuples(st.just("by"), st.integers(0, 16).map(lambda h: h * 10_800)),
    st.tuples(st.just("to"), st.tuples(st.integers(0, 3), st.sampled_from([-1, 0]))),
)
"""The clock's moves: by some hours, or to a level's instant (or the second before it)."""
steps = st.lists(
    st.tuples(moves, st.sampled_from(["wait", "wait", "answer", "resolve"])),
    min_size=1,
    max_size=8,
)


def instant(on: str, after: tuple[str, Any]) -> int:
    """Seconds after the creation: the model's own arithmetic, on round-the-clock time."""
    target = TARGETS[on]
    kind, value = after
    offset = value if kind == "seconds" else round(value * target) - target
    return max(0, target + offset)


@settings(max_examples=60)
@given(levels, steps)
def test_levels_fire_exactly_when_and_while_the_model_says(
    spec: list[tuple[str, tuple[str, Any]]], walk: list[tuple[tuple[str, Any], str]]
) -> None:
    clock = ManualClock(START)
    with Engine.open(":memory:", clock=clock) as engine:
        engine.escalations.configure(
            {
                3: [
                    EscalationLevel(
                        on=on,
                        after=timedelta(seconds=a[1]) if a[0] == "seconds" else a[1],
                        actions=[Notify("ticket.nudge")],
                    )
                    for on, a in spec
                ]
            }
        )
        ticket = engine.tickets.create(subject="Model", description="checked")
        answered = resolved = False
        fired: dict[int, int] = {}  # level -> the second it fired at
        elapsed = 0
        for (move, value), action in walk:
            if move == "by":
                elapsed += value
            else:
                on, after = spec[value[0] % len(spec)]
                elapsed = max(elapsed, instant(on, after) + value[1])
            clock.set(START + timedelta(seconds=elapsed))
            if action == "answer" and not answered and not resolved:
                engine.tickets.update(ticket.id, status="open")
                answered = True
            elif action == "resolve" and not resolved:
                engine.tickets.update(ticket.id, status="resolved")
                answered = resolved = True
            engine.run_due()
            for n, (on, after) in enumerate(spec, 1):
                live = not resolved and (on == "resolution_due" or not answered)
                if n not in fired and live and instant(on, after) <= elapsed:
                    fired[n] = elapsed
            events = [e for e in engine.tickets.events(ticket.id) if e.type == "escalated"]
            assert {e.data["level"]: int((e.at - START).total_seconds()) for e in events} == fired
            assert len(events) == len(fired)
            for event in events:
                on, after = spec[event.data["level"] - 1]
                shown = START + timedelta(seconds=instant(on, after))
                assert event.data["fire_at"] == shown.strftime("%Y-%m-%dT%H:%M:%SZ")
