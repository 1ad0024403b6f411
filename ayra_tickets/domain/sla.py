"""The SLA clock: targets per priority, pauses, and the met/missed decisions.

A ticket's clock (:class:`SlaClock`) is plain data kept with the ticket; the functions
here move it along as the ticket changes, and :func:`evaluate` reads it at an instant
to give the ``sla`` object of the wire (:class:`Sla`). Durations are measured on a
:class:`Calendar`: round the clock by default, business hours when a policy says so.

The rules (see the contract's "Priorities and SLA" section):

- the response deadline is the creation time plus the response target; the first move
  out of ``new`` is the response;
- the resolution deadline is the creation time plus the resolution target plus every
  completed pause; the clock stands still in the paused statuses;
- ``response_met`` is decided by the first response or by the deadline passing,
  whichever comes first, and is then final;
- ``resolution_met`` is decided when the ticket is resolved or closed, and goes back to
  undecided on a reopen unless it was missed;
- a deadline is missed when the time is strictly after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs

from .calendar import BusinessCalendar
from .priority import Priority
from .times import format_time


class Calendar(Protocol):
    """Measures working time. Both methods are exact to the second."""

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant at which ``seconds`` of working time have passed since ``start``."""
        ...

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Working seconds from ``start`` to ``end`` (``end >= start``)."""
        ...


@attrs.frozen
class AlwaysOpen:
    """The 24x7 calendar: every second counts."""

    def add(self, start: datetime, seconds: int) -> datetime:
        return start + timedelta(seconds=seconds)

    def seconds_between(self, start: datetime, end: datetime) -> int:
        return int((end - start).total_seconds())


def _as_timedelta(value: Any) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(f"an SLA target must be a positive timedelta, not {value!r}")
    return value


@attrs.frozen
class Targets:
    """The first-response and resolution targets of one priority."""

    response: timedelta = attrs.field(converter=_as_timedelta)
    resolution: timedelta = attrs.field(converter=_as_timedelta)


DEFAULT_TARGETS: Mapping[Priority, Targets] = {
    Priority.CRITICAL: Targets(timedelta(hours=1), timedelta(hours=4)),
    Priority.HIGH: Targets(timedelta(hours=8), timedelta(days=2)),
    Priority.NORMAL: Targets(timedelta(days=2), timedelta(days=5)),
    Priority.LOW: Targets(timedelta(days=7), timedelta(days=14)),
}


def _targets(value: Mapping[Any, Any] | None) -> Mapping[Priority, Targets]:
    merged = dict(DEFAULT_TARGETS)
    for key, target in (value or {}).items():
        priority = Priority(int(key))
        merged[priority] = target if isinstance(target, Targets) else Targets(**target)
    return merged


def _policy_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise ValueError(f"a policy name is a non-blank string of up to 100 characters: {value!r}")
    return value


def _calendar(value: Any) -> Calendar | None:
    if value is None or isinstance(value, BusinessCalendar | AlwaysOpen):
        return value
    if isinstance(value, Mapping):
        return BusinessCalendar(**value)
    raise ValueError(f"calendar must be a BusinessCalendar or None, not {value!r}")


@attrs.frozen
class SlaPolicy:
    """SLA targets per priority, measured on a calendar.

    ``targets`` maps priorities 1-4 to ``{"response": timedelta, "resolution":
    timedelta}`` (or :class:`Targets`); priorities left out keep the defaults. ``calendar``
    is ``None`` for round-the-clock time, or a :class:`BusinessCalendar`.
    """

    targets: Mapping[Priority, Targets] = attrs.field(default=None, converter=_targets)
    calendar: Calendar | None = attrs.field(default=None, converter=_calendar)
    name: str = attrs.field(default="default", validator=lambda _, __, v: _policy_name(v))

    @property
    def measure(self) -> Calendar:
        return self.calendar if self.calendar is not None else AlwaysOpen()

    def targets_for(self, priority: int) -> Targets:
        return self.targets[Priority(priority)]

    def to_dict(self) -> dict[str, Any]:
        """The policy as JSON: targets in seconds, the calendar's own form or null."""
        calendar = self.calendar
        return {
            "name": self.name,
            "targets": {
                str(int(priority)): {
                    "response": _seconds(target.response),
                    "resolution": _seconds(target.resolution),
                }
                for priority, target in sorted(self.targets.items())
            },
            "calendar": calendar.to_dict() if isinstance(calendar, BusinessCalendar) else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlaPolicy:
        targets = {
            int(priority): Targets(
                timedelta(seconds=target["response"]), timedelta(seconds=target["resolution"])
            )
            for priority, target in data["targets"].items()
        }
        calendar = data.get("calendar")
        return cls(
            targets=targets,
            calendar=BusinessCalendar.from_dict(calendar) if calendar else None,
            name=data["name"],
        )


DEFAULT_POLICY = SlaPolicy()
_SECOND = timedelta(seconds=1)


@attrs.frozen
class SlaClock:
    """A ticket's SLA state as stored: enough to answer every question at any instant."""

    policy: str
    started_at: datetime
    response_target: int  # seconds of calendar time
    resolution_target: int
    response_due_at: datetime
    resolution_due_at: datetime  # while paused: the deadline as it stood when the pause began
    paused_since: datetime | None = None
    paused_seconds: int = 0  # calendar time of completed pauses
    response_met: bool | None = None  # decided for good once not None
    resolution_met: bool | None = None
    resolution_missed_at: datetime | None = None  # when a recorded resolution miss began


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def start(policy: SlaPolicy, priority: int, created_at: datetime) -> SlaClock:
    """A fresh clock for a ticket created at ``created_at``."""
    targets = policy.targets_for(priority)
    cal = policy.measure
    response, resolution = _seconds(targets.response), _seconds(targets.resolution)
    return SlaClock(
        policy=policy.name,
        started_at=created_at,
        response_target=response,
        resolution_target=resolution,
        response_due_at=cal.add(created_at, response),
        resolution_due_at=cal.add(created_at, resolution),
    )


def observe(clock: SlaClock, at: datetime) -> SlaClock:
    """Record what the passing of time has decided by ``at``: a missed response, a
    running resolution clock past its deadline."""
    if clock.response_met is None and at > clock.response_due_at:
        clock = attrs.evolve(clock, response_met=False)
    if clock.resolution_missed_at is None and resolution_missed(clock, at):
        clock = attrs.evolve(clock, resolution_missed_at=clock.resolution_due_at + _SECOND)
    return clock


def respond(clock: SlaClock, at: datetime) -> SlaClock:
    """The first response, at ``at``."""
    if clock.response_met is not None:
        return clock
    return attrs.evolve(clock, response_met=at <= clock.response_due_at)


def pause(clock: SlaClock, at: datetime) -> SlaClock:
    if clock.paused_since is not None:
        return clock
    return attrs.evolve(clock, paused_since=at)


def resume(clock: SlaClock, policy: SlaPolicy, at: datetime) -> SlaClock:
    if clock.paused_since is None:
        return clock
    cal = policy.measure
    paused = clock.paused_seconds + cal.seconds_between(clock.paused_since, at)
    return attrs.evolve(
        clock,
        paused_since=None,
        paused_seconds=paused,
        resolution_due_at=cal.add(clock.started_at, clock.resolution_target + paused),
    )


def resolve(clock: SlaClock, at: datetime) -> SlaClock:
    """Decide ``resolution_met`` as the ticket is resolved or closed at ``at``.

    A paused clock stopped counting when the pause began, so that instant is the one
    judged. A decision already made (resolved, then closed) stands, and so does a miss
    already recorded: time spent paused after a missed deadline does not undo the miss.
    """
    if clock.resolution_met is not None:
        return clock
    stopped = clock.paused_since if clock.paused_since is not None else at
    met = stopped <= clock.resolution_due_at and clock.resolution_missed_at is None
    missed_at = clock.resolution_missed_at
    if not met and missed_at is None:
        missed_at = clock.resolution_due_at + _SECOND
    return attrs.evolve(clock, resolution_met=met, resolution_missed_at=missed_at)


def reopen(clock: SlaClock, policy: SlaPolicy, at: datetime) -> SlaClock:
    """Resume the clock; an on-time resolution is undone, a missed one stays missed."""
    resumed = resume(clock, policy, at)
    met = None if resumed.resolution_met else resumed.resolution_met
    missed_at = resumed.resolution_missed_at if met is False else None
    return attrs.evolve(resumed, resolution_met=met, resolution_missed_at=missed_at)


def reprioritize(clock: SlaClock, policy: SlaPolicy, priority: int, at: datetime) -> SlaClock:
    """New targets from the creation time, keeping the paused time. Decisions stand."""
    clock = observe(clock, at)
    targets = policy.targets_for(priority)
    cal = policy.measure
    response, resolution = _seconds(targets.response), _seconds(targets.resolution)
    changes: dict[str, Any] = {
        "resolution_target": resolution,
        "resolution_due_at": cal.add(clock.started_at, resolution + clock.paused_seconds),
    }
    if clock.response_met is None:
        changes["response_target"] = response
        changes["response_due_at"] = cal.add(clock.started_at, response)
    moved = attrs.evolve(clock, **changes)
    if moved.resolution_met is None:
        # A new deadline is judged afresh: a miss already past it is recorded now, and
        # one not yet reached will be recorded when it comes.
        moved = attrs.evolve(moved, resolution_missed_at=None)
    return observe(moved, at)


@attrs.frozen
class Sla:
    """The ``sla`` object of a ticket, as read at one instant."""

    policy: str
    response_due_at: datetime
    resolution_due_at: datetime
    response_met: bool | None
    resolution_met: bool | None
    breached: bool
    paused: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "response_due_at": format_time(self.response_due_at),
            "resolution_due_at": format_time(self.resolution_due_at),
            "response_met": self.response_met,
            "resolution_met": self.resolution_met,
            "breached": self.breached,
            "paused": self.paused,
        }


def resolution_missed(clock: SlaClock, now: datetime) -> bool:
    """Whether the resolution target is missed at ``now``: a decision, once made, stands;
    so does a miss once recorded (see :func:`observe`); otherwise the running clock is
    past the deadline, or it stopped after it."""
    if clock.resolution_met is not None:
        return not clock.resolution_met
    if clock.resolution_missed_at is not None:
        return True
    if clock.paused_since is None:
        return now > clock.resolution_due_at
    return clock.paused_since > clock.resolution_due_at


def breach_at(clock: SlaClock) -> datetime | None:
    """The first instant at which :func:`evaluate` reads this clock as breached, if nothing
    else happens to it; ``None`` when it cannot breach as it stands. Stored beside the
    clock, it lets a store answer "breached at ``now``?" as ``breach_at <= now``."""
    candidates = []
    if clock.response_met is not None:
        if not clock.response_met:
            candidates.append(clock.response_due_at + _SECOND)
    else:
        candidates.append(clock.response_due_at + _SECOND)
    resolution_due = clock.resolution_due_at + _SECOND
    if clock.resolution_met is not None:
        if not clock.resolution_met:
            candidates.append(clock.resolution_missed_at or resolution_due)
    elif clock.resolution_missed_at is not None:
        candidates.append(clock.resolution_missed_at)
    elif clock.paused_since is None or clock.paused_since > clock.resolution_due_at:
        candidates.append(resolution_due)
    return min(candidates, default=None)


def evaluate(clock: SlaClock, calendar: Calendar, now: datetime) -> Sla:
    """The ``sla`` object at ``now`` (for a closed ticket, pass its ``closed_at``)."""
    response_met = clock.response_met
    if response_met is None and now > clock.response_due_at:
        response_met = False
    due = clock.resolution_due_at
    if clock.paused_since is not None:
        paused = clock.paused_seconds + calendar.seconds_between(clock.paused_since, now)
        due = calendar.add(clock.started_at, clock.resolution_target + paused)
    return Sla(
        policy=clock.policy,
        response_due_at=clock.response_due_at,
        resolution_due_at=due,
        response_met=response_met,
        resolution_met=clock.resolution_met,
        breached=response_met is False or resolution_missed(clock, now),
        paused=clock.paused_since is not None,
    )


def audit(before: SlaClock | None, after: SlaClock) -> list[tuple[str, dict[str, Any]]]:
    """The SLA events between two states of a ticket's clock, as (type, data) pairs:
    ``sla_applied`` (targets set), ``sla_paused``, ``sla_resumed``, ``sla_fulfilled``
    and ``sla_breached`` (each naming its ``target`` and the ``due_at`` it was held to)."""
    events: list[tuple[str, dict[str, Any]]] = []
    if before is None or (before.response_due_at, before.resolution_target) != (
        after.response_due_at,
        after.resolution_target,
    ):
        events.append(
            (
                "sla_applied",
                {
                    "policy": after.policy,
                    "response_due_at": format_time(after.response_due_at),
                    "resolution_due_at": format_time(after.resolution_due_at),
                },
            )
        )
    was_paused = before is not None and before.paused_since is not None
    if not was_paused and after.paused_since is not None:
        events.append(("sla_paused", {"resolution_due_at": format_time(after.resolution_due_at)}))
    if was_paused and after.paused_since is None:
        events.append(
            (
                "sla_resumed",
                {
                    "paused_seconds": after.paused_seconds,
                    "resolution_due_at": format_time(after.resolution_due_at),
                },
            )
        )
    if (before is None or before.response_met is None) and after.response_met is not None:
        kind = "sla_fulfilled" if after.response_met else "sla_breached"
        events.append((kind, {"target": "response", "due_at": format_time(after.response_due_at)}))
    due = {"target": "resolution", "due_at": format_time(after.resolution_due_at)}
    if (before is None or before.resolution_met is None) and after.resolution_met:
        events.append(("sla_fulfilled", due))
    if after.resolution_missed_at is not None and (
        before is None or before.resolution_missed_at is None
    ):
        events.append(("sla_breached", due))
    return events
