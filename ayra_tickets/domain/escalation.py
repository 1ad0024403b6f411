"""Escalation policies: levels per priority, when each fires, and what its actions do.

A level (:class:`EscalationLevel`) is measured against one of a ticket's SLA deadlines
(``on``: ``response_due`` or ``resolution_due``), shifted by ``after``: a
:class:`~datetime.timedelta` (negative: before the deadline) or a fraction of the
target (``0.75``: three quarters of the way). The shift is working time of the ticket's
SLA calendar, as the deadline itself is: on business hours, fifteen minutes before the
deadline is fifteen working minutes before it. So a level fires at

- ``response_due``: ``calendar.add(started_at, max(0, response_target + offset))``
- ``resolution_due``: ``calendar.add(started_at, max(0, resolution_target + paused +
  offset))``

where ``offset`` is ``after`` in seconds, or ``round(fraction * target) - target``; at
offset 0 these are the deadlines the ticket's ``sla`` shows (:mod:`.sla`). A pause moves
a resolution level as it moves the deadline, and no resolution level fires while the
ticket is paused.

A level fires once per ticket, per clock run (``reopened_count``: a reopen starts a new
run) and per priority, and only while it still matters: a response level never for a
ticket answered first, no level for one resolved or closed first. The levels of the
ticket's current priority apply: after a :class:`RaisePriority`, the higher priority's.

Everything here is pure: the service (``ayra_tickets/escalation.py``) stores the policy,
keeps each ticket's next due instant, and writes what fires.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from . import sla as sla_clock
from .errors import ParameterInvalid
from .lifecycle import Status
from .priority import Priority
from .sla import SlaPolicy
from .ticket import Event, Ticket, update
from .times import format_time
from .validation import TAGS_MAX, validate_update
from .webhooks import EVENT_NAMES

RESPONSE_DUE = "response_due"
RESOLUTION_DUE = "resolution_due"
ON = (RESPONSE_DUE, RESOLUTION_DUE)
"""What a level is measured against: a ticket's response or resolution deadline."""

MAX_FRACTION = 10.0
MAX_LEVELS = 20
"""The most levels one priority's escalation has."""
MAX_SHIFT = timedelta(days=366)
"""The farthest a level's ``after`` may shift it from its deadline, either way: a
year's shift is past any support desk's use, and an unbounded one would put the level's
instant past the calendar's last date."""
"""The largest fraction of a target a level may wait for (ten times the target)."""

BUILT_IN_EVENTS = EVENT_NAMES
"""The events the engine announces of itself; a :class:`Notify` names another."""

_NOTIFY_NAME = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+\Z")
_ENDED = frozenset({Status.RESOLVED, Status.CLOSED})
_SECOND = timedelta(seconds=1)


def _invalid(message: str, param: str = "escalations") -> ParameterInvalid:
    return ParameterInvalid(message, param=param)


def _non_blank(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise _invalid(f"{what} must be a non-blank string of up to 100 characters: {value!r}")
    return value


def _tag(value: Any) -> str:
    (tag,) = validate_update({"tags": [value]})["tags"]
    return str(tag)


def _notify_name(value: Any) -> str:
    if not isinstance(value, str) or not _NOTIFY_NAME.match(value) or len(value) > 100:
        raise _invalid(
            "a Notify's event name is lower-case dotted words (such as ticket.at_risk),"
            f" not {value!r}"
        )
    if value in BUILT_IN_EVENTS:
        raise _invalid(f"{value} is an event the engine sends of itself; Notify names another")
    return value


@attrs.frozen
class RaisePriority:
    """Move the ticket to the next higher priority (Low to Normal, ..., High to
    Critical); a Critical ticket stays Critical (the event says so). Its SLA targets move
    as an update of its priority moves them."""

    action: ClassVar[str] = "raise_priority"

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action}


@attrs.frozen(kw_only=True)
class Reassign:
    """Assign the ticket to an agent of ``group`` (routing picks one, or queues it), or
    to ``agent``: exactly one of the two."""

    action: ClassVar[str] = "reassign"
    group: str | None = None
    agent: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.group is None) == (self.agent is None):
            raise _invalid("Reassign takes exactly one of group= and agent=")
        if self.group is not None:
            _non_blank(self.group, "a Reassign's group")
        else:
            _non_blank(self.agent, "a Reassign's agent")

    def to_dict(self) -> dict[str, Any]:
        if self.group is not None:
            return {"action": self.action, "group": self.group}
        return {"action": self.action, "agent": self.agent}


@attrs.frozen
class AddTag:
    """Add ``tag`` to the ticket's tags (nothing changes if it is there already)."""

    action: ClassVar[str] = "add_tag"
    tag: str = attrs.field(converter=_tag)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "tag": self.tag}


@attrs.frozen
class Notify:
    """Announce ``event_name`` (such as ``ticket.at_risk``) about the ticket: the
    ``escalated`` event records it, and webhook subscribers of that name hear it."""

    action: ClassVar[str] = "notify"
    event_name: str = attrs.field(converter=_notify_name)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "event": self.event_name}


Action = RaisePriority | Reassign | AddTag | Notify
ACTIONS = (RaisePriority, Reassign, AddTag, Notify)


def _on(value: Any) -> str:
    if value not in ON:
        raise _invalid(f"a level's on must be one of {', '.join(ON)}, not {value!r}")
    return str(value)


def _after(value: Any) -> timedelta | float:
    if isinstance(value, timedelta):
        if value % _SECOND:
            raise _invalid(f"a level's after must be whole seconds, not {value}")
        if abs(value) > MAX_SHIFT:
            raise _invalid(
                f"a level's after must be within {MAX_SHIFT.days} days of the deadline, not {value}"
            )
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not (math.isfinite(value) and 0 < value <= MAX_FRACTION):
            raise _invalid(
                f"a level's after, as a fraction of the target, must be above 0 and at most"
                f" {MAX_FRACTION:g}, not {value!r}"
            )
        return float(value)
    raise _invalid(
        "a level's after is a timedelta (negative: before the deadline) or a fraction of"
        f" the target such as 0.75, not {value!r}"
    )


def _actions(value: Any) -> tuple[Action, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise _invalid(f"a level's actions must be a list of actions, not {value!r}")
    actions = tuple(value)
    if not actions:
        raise _invalid("a level needs at least one action")
    for action in actions:
        if not isinstance(action, ACTIONS):
            raise _invalid(
                "an action is RaisePriority(), Reassign(group=... | agent=...), AddTag(tag)"
                f" or Notify(event_name), not {action!r}"
            )
    return actions


@attrs.frozen
class EscalationLevel:
    """One level of a priority's escalation: when (``on`` a deadline, ``after`` a shift
    or a fraction of the target) and what (``actions``, applied in order)."""

    on: str = attrs.field(converter=_on)
    after: timedelta | float = attrs.field(converter=_after)
    actions: tuple[Action, ...] = attrs.field(converter=_actions)

    def offset(self, target: int) -> int:
        """The shift from the deadline, in working seconds, for a target of ``target``."""
        if isinstance(self.after, timedelta):
            return int(self.after.total_seconds())
        return round(self.after * target) - target

    def to_dict(self) -> dict[str, Any]:
        after = (
            {"seconds": int(self.after.total_seconds())}
            if isinstance(self.after, timedelta)
            else {"fraction": self.after}
        )
        return {
            "on": self.on,
            "after": after,
            "actions": [action.to_dict() for action in self.actions],
        }


Policy = Mapping[int, tuple[EscalationLevel, ...]]
"""The levels of each priority that has any."""


def validate_policy(value: Any) -> dict[int, tuple[EscalationLevel, ...]]:
    """A whole policy, checked: priorities 1 to 4 (or their :class:`Priority`), each with
    a list of :class:`EscalationLevel`. Raises :class:`ParameterInvalid` naming what is
    wrong."""
    if not isinstance(value, Mapping):
        raise _invalid(f"escalations take a mapping of priority to levels, not {value!r}")
    policy: dict[int, tuple[EscalationLevel, ...]] = {}
    for key, levels in value.items():
        if (
            isinstance(key, bool)
            or not isinstance(key, int)
            or key not in Priority._value2member_map_
        ):
            raise _invalid(f"a priority is 1, 2, 3 or 4, not {key!r}")
        if isinstance(levels, str | bytes | Mapping) or not isinstance(levels, Iterable):
            raise _invalid(f"priority {int(key)}'s levels must be a list, not {levels!r}")
        listed = tuple(itertools.islice(levels, MAX_LEVELS + 1))
        if len(listed) > MAX_LEVELS:
            raise _invalid(f"priority {int(key)} may have at most {MAX_LEVELS} levels")
        for n, level in enumerate(listed, 1):
            if not isinstance(level, EscalationLevel):
                raise _invalid(
                    f"priority {int(key)}'s level {n} must be an EscalationLevel, not {level!r}"
                )
        if listed:
            policy[int(key)] = listed
    return dict(sorted(policy.items()))


def policy_to_dict(policy: Policy) -> dict[str, list[dict[str, Any]]]:
    """A policy as JSON: ``{"1": [level, ...], ...}`` (see :meth:`EscalationLevel.to_dict`)."""
    return {str(p): [level.to_dict() for level in levels] for p, levels in policy.items()}


def policy_from_dict(data: Any) -> dict[int, tuple[EscalationLevel, ...]]:
    """A policy from its JSON form, checked as :func:`validate_policy` checks one."""
    if not isinstance(data, Mapping):
        raise _invalid("an escalation policy is a JSON object of priority to levels")
    policy: dict[Any, Any] = {}
    for key, levels in data.items():
        if not isinstance(key, str) or not key.isdigit():
            raise _invalid(f"a priority is 1, 2, 3 or 4, not {key!r}")
        if not isinstance(levels, list):
            raise _invalid(f"priority {key}'s levels must be a list, not {levels!r}")
        policy[int(key)] = [_level_from_dict(level, key, n) for n, level in enumerate(levels, 1)]
    return validate_policy(policy)


def _level_from_dict(data: Any, priority: str, n: int) -> EscalationLevel:
    where = f"priority {priority}'s level {n}"
    if not isinstance(data, Mapping) or set(data) != {"on", "after", "actions"}:
        raise _invalid(f"{where} must be an object of on, after and actions")
    after = data["after"]
    if isinstance(after, Mapping) and set(after) == {"seconds"}:
        seconds = after["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise _invalid(f"{where}'s after.seconds must be a whole number, not {seconds!r}")
        if abs(seconds) > MAX_SHIFT.total_seconds():
            raise _invalid(
                f"{where}'s after.seconds must be within {MAX_SHIFT.days} days of the"
                f" deadline, not {seconds}"
            )
        shift: Any = timedelta(seconds=seconds)
    elif isinstance(after, Mapping) and set(after) == {"fraction"}:
        shift = after["fraction"]
    else:
        raise _invalid(f'{where}\'s after must be {{"seconds": n}} or {{"fraction": f}}')
    actions = data["actions"]
    if not isinstance(actions, list):
        raise _invalid(f"{where}'s actions must be a list")
    return EscalationLevel(on=data["on"], after=shift, actions=[_action(a) for a in actions])


def _action(data: Any) -> Action:
    if isinstance(data, Mapping):
        kind = data.get("action")
        rest = {key: value for key, value in data.items() if key != "action"}
        given = set(rest)
        if kind == RaisePriority.action and not given:
            return RaisePriority()
        if kind == Reassign.action and given in ({"group"}, {"agent"}):
            return Reassign(**rest)
        if kind == AddTag.action and given == {"tag"}:
            return AddTag(rest["tag"])
        if kind == Notify.action and given == {"event"}:
            return Notify(rest["event"])
    raise _invalid(
        'an action is {"action": "raise_priority"}, {"action": "reassign", "group": ...}'
        ' (or "agent"), {"action": "add_tag", "tag": ...} or {"action": "notify",'
        f' "event": ...}}, not {data!r}'
    )


# -- when levels fire -----------------------------------------------------------------


@attrs.frozen
class Due:
    """A level of a ticket that will fire at ``at``, measured against ``deadline``."""

    at: datetime
    priority: int
    level: int  # 1-based within the priority's list
    on: str
    deadline: datetime
    spec: EscalationLevel


Fired = set[tuple[int, int, int]]
"""The levels that fired for one ticket: (run, priority, level)."""


def fire_at(
    level: EscalationLevel, clock: sla_clock.SlaClock, calendar: sla_clock.Calendar
) -> tuple[datetime, datetime]:
    """When ``level`` fires for a ticket with this clock, and the deadline it is measured
    against (for a resolution level, as moved by the pauses completed so far)."""
    if level.on == RESPONSE_DUE:
        target, paused = clock.response_target, 0
    else:
        target, paused = clock.resolution_target, clock.paused_seconds
    deadline = calendar.add(clock.started_at, target + paused)
    at = calendar.add(clock.started_at, max(0, target + paused + level.offset(target)))
    return at, deadline


def live(ticket: Ticket, on: str) -> bool:
    """Whether a level measured ``on`` may still fire for ``ticket`` as it stands."""
    if ticket.status in _ENDED:
        return False
    if on == RESPONSE_DUE:
        return ticket.first_response_at is None
    return ticket.clock.paused_since is None


def pending(
    ticket: Ticket, policy: Policy, calendar: sla_clock.Calendar, fired: Fired
) -> list[Due]:
    """The levels of the ticket's priority that may still fire in its current run, in
    the order they fire (by instant, then by their order in the list)."""
    run = ticket.reopened_count
    found = []
    for n, level in enumerate(policy.get(ticket.priority, ()), 1):
        if (run, ticket.priority, n) in fired or not live(ticket, level.on):
            continue
        at, deadline = fire_at(level, ticket.clock, calendar)
        found.append(Due(at, ticket.priority, n, level.on, deadline, level))
    return sorted(found, key=lambda due: (due.at, due.level))


@attrs.frozen
class Breach:
    """An SLA deadline of a ticket that will read as missed from ``at`` on, unless a
    write of the ticket comes first (which records it itself)."""

    at: datetime
    target: str  # "response" or "resolution"
    due_at: datetime

    def key(self, ticket_id: str) -> str:
        """What names this occurrence for good (one announcement, however often told)."""
        return f"{ticket_id}:{self.target}:{format_time(self.due_at)}"

    def data(self) -> dict[str, Any]:
        return {"target": self.target, "due_at": format_time(self.due_at)}


def breaches(ticket: Ticket) -> list[Breach]:
    """The ticket's deadlines not yet decided nor recorded as missed, running: each will
    be missed one second after it, if nothing happens to the ticket first."""
    clock = ticket.clock
    found = []
    if ticket.first_response_at is None and clock.response_met is None:
        found.append(Breach(clock.response_due_at + _SECOND, "response", clock.response_due_at))
    if (
        ticket.status not in _ENDED
        and clock.resolution_met is None
        and clock.resolution_missed_at is None
        and clock.paused_since is None
    ):
        due = clock.resolution_due_at
        found.append(Breach(due + _SECOND, "resolution", due))
    return sorted(found, key=lambda breach: breach.at)


def next_due(
    ticket: Ticket,
    policy: Policy,
    calendar: sla_clock.Calendar,
    fired: Fired,
    announced_through: datetime | None,
    announcing: bool,
) -> datetime | None:
    """The next instant something is due for the ticket: a level to fire, or (when
    breaches are announced) a deadline to announce after ``announced_through``."""
    instants = [due.at for due in pending(ticket, policy, calendar, fired)]
    if announcing:
        instants += [
            b.at for b in breaches(ticket) if announced_through is None or b.at > announced_through
        ]
    return min(instants, default=None)


# -- what a level does ----------------------------------------------------------------


def escalated(ticket: Ticket, due: Due, action: str, now: datetime, **details: Any) -> Event:
    """The ``escalated`` event of one action of a level (at the next version)."""
    data = {
        "level": due.level,
        "on": due.on,
        "action": action,
        "deadline": format_time(due.deadline),
        "fire_at": format_time(due.at),
        **details,
    }
    return Event("escalated", now, ticket.version + 1, data=data, ticket_id=ticket.id)


def act(
    ticket: Ticket,
    due: Due,
    action: RaisePriority | AddTag | Notify,
    now: datetime,
    policy: sla_clock.SlaPolicy,
) -> tuple[Ticket, list[Event]]:
    """One action of a level on ``ticket``: the ticket after it, at the same version
    (a level's actions make one version together, see :func:`finish`), and its events:
    the ``escalated`` event, then the change's own."""
    if isinstance(action, Notify):
        return ticket, [escalated(ticket, due, action.action, now, event=action.event_name)]
    if isinstance(action, RaisePriority):
        if ticket.priority == Priority.CRITICAL:
            note = "already at the highest priority"
            event = escalated(ticket, due, action.action, now, priority=1, note=note)
            return ticket, [event]
        raised = ticket.priority - 1
        first = escalated(ticket, due, action.action, now, priority=raised)
        return _changed(ticket, first, {"priority": raised}, now, policy)
    if action.tag in ticket.tags:
        return ticket, [
            escalated(ticket, due, action.action, now, tag=action.tag, note="already tagged")
        ]
    if len(ticket.tags) >= TAGS_MAX:
        note = f"the ticket has {TAGS_MAX} tags, the most allowed"
        return ticket, [escalated(ticket, due, action.action, now, tag=action.tag, note=note)]
    first = escalated(ticket, due, action.action, now, tag=action.tag)
    return _changed(ticket, first, {"tags": [*ticket.tags, action.tag]}, now, policy)


def assign(
    ticket: Ticket, due: Due, agent: str, known: bool, now: datetime
) -> tuple[Ticket, list[Event]]:
    """A ``Reassign(agent=...)``: the ``escalated`` event, then an ``assigned`` one
    (strategy ``escalation``), unless the agent holds the ticket already or has left the
    directory (the event then says so)."""
    kind = Reassign.action
    if ticket.assigned_to == agent:
        return ticket, [escalated(ticket, due, kind, now, agent=agent, note="already assigned")]
    if not known:
        note = "no such agent in the directory"
        return ticket, [escalated(ticket, due, kind, now, agent=agent, note=note)]
    reason = f"escalation: priority {due.priority} level {due.level}"
    assigned = Event(
        "assigned",
        now,
        ticket.version + 1,
        field="assigned_to",
        old=ticket.assigned_to,
        new=agent,
        data={"rule": None, "strategy": "escalation", "group": None, "reason": reason},
        ticket_id=ticket.id,
    )
    first = escalated(ticket, due, kind, now, agent=agent)
    return attrs.evolve(ticket, assigned_to=agent), [first, assigned]


def _changed(
    ticket: Ticket, first: Event, changes: Mapping[str, Any], now: datetime, sla: SlaPolicy
) -> tuple[Ticket, list[Event]]:
    """An update's change and events after ``first``, at the ticket's version still."""
    after, events = update(ticket, validate_update(dict(changes)), now, sla)
    return attrs.evolve(after, version=ticket.version), [first, *events]


def finish(ticket: Ticket, now: datetime) -> Ticket:
    """The ticket after a level's actions: one version past the one they started from."""
    return attrs.evolve(ticket, version=ticket.version + 1, updated_at=now)
