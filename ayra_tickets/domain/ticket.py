"""The Ticket value, its events, and the pure operations that change it.

:func:`create`, :func:`update` and :func:`close` take a ticket (or fields) and the
current instant and return the new ticket with the events that describe the change.
They check every rule of the lifecycle and close rules; they never touch storage.
:func:`replay` rebuilds a ticket's persistent fields from its events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from . import sla as sla_clock
from .errors import TicketAlreadyClosed, TicketClosed
from .fields import API_ORDER, FIELDS, Convert, dict_maker, wire_value
from .fields import PERSISTENT_FIELDS as PERSISTENT_FIELDS
from .lifecycle import PAUSED_STATUSES, Status, check_transition
from .priority import DEFAULT_PRIORITY, Priority
from .times import format_time

UPDATABLE_FIELDS: tuple[str, ...] = (
    "subject",
    "description",
    "priority",
    "category",
    "assigned_to",
    "due_date",
    "tags",
    "custom_fields",
)
"""Fields an update may set besides ``status`` and ``internal_note``, in the order applied."""

CLOSE_FIELDS: tuple[str, ...] = (
    "resolution_note",
    "customer_satisfaction",
    "resolution_time",
    "root_cause",
)


@attrs.frozen
class Event:
    """One entry of a ticket's history.

    ``type`` is one of ``created``, ``field_changed``, ``status_changed``, ``closed``,
    ``reopened``, ``note_added``, an SLA event (``sla_applied``, ``sla_paused``,
    ``sla_resumed``, ``sla_fulfilled``, ``sla_breached``), ``assigned`` (routing or an
    escalation) or ``escalated`` (one action of an escalation level). A change of one
    field names it in ``field`` with its ``old`` and ``new`` values; ``data`` holds the
    other fields the change set (for a status change: ``resolved_at``, ``closed_at``,
    ...; for ``created``: the whole new ticket; for ``assigned`` and ``escalated``: why)
    or, for a note, its text. Values are as on the wire.
    """

    type: str
    at: datetime
    version: int
    field: str | None = None
    old: Any = None
    new: Any = None
    data: Mapping[str, Any] | None = None
    ticket_id: str = ""
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": f"evt_{self.id}" if self.id is not None else None,
            "ticket_id": self.ticket_id,
            "type": self.type,
            "field": self.field,
            "old_value": self.old,
            "new_value": self.new,
            "data": dict(self.data) if self.data is not None else None,
            "version": self.version,
            "created_at": format_time(self.at),
        }


@attrs.frozen(eq=True, hash=False)
class Ticket:
    """A support ticket. ``to_dict()`` gives the API's JSON object.

    ``sla`` and ``assigned_name`` are read-side values: the engine fills them in as of
    the moment it reads or writes the ticket.
    """

    id: str
    number: int
    subject: str
    description: str
    priority: int
    status: Status
    created_at: datetime
    updated_at: datetime
    clock: sla_clock.SlaClock
    category: str | None = None
    contact_id: str | None = None
    conversation_id: str | None = None
    assigned_to: str | None = None
    due_date: datetime | None = None
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, Any] = attrs.field(factory=dict)
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    resolution_note: str | None = None
    customer_satisfaction: int | None = None
    resolution_time: int | None = None
    root_cause: str | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_count: int = 0
    version: int = 1
    assigned_name: str | None = None
    sla: sla_clock.Sla | None = None

    @property
    def number_label(self) -> str:
        return f"TICK-{self.number}"

    @property
    def priority_label(self) -> str:
        return Priority(self.priority).label

    def read_at(
        self, calendar: sla_clock.Calendar, now: datetime, assigned_name: str | None
    ) -> Ticket:
        """This ticket with its read-side values as of ``now`` (frozen once closed)."""
        instant = self.closed_at if self.closed_at is not None else now
        return attrs.evolve(
            self, sla=sla_clock.evaluate(self.clock, calendar, instant), assigned_name=assigned_name
        )

    def persistent(self) -> dict[str, Any]:
        """The fields the event log carries (``PERSISTENT_FIELDS``), as JSON values."""
        return _LOGGED(self)

    def to_dict(self) -> dict[str, Any]:
        """The API's ticket object (see :mod:`~ayra_tickets.domain.fields`)."""
        if self.sla is None:
            raise ValueError("this ticket was not read through the engine; it has no sla view")
        return _API_OBJECT(self)


def _api_value(name: str) -> Convert:
    """How the API object's ``name`` is written: as its field says, or for a read-side
    value, as it is (the SLA as its own object)."""
    if name == "sla":
        return _sla_object
    return FIELDS[name].to_wire if name in FIELDS else None


def _sla_object(sla: sla_clock.Sla) -> dict[str, Any]:
    return sla.to_dict()


_LOGGED = dict_maker(
    "persistent", [(name, f"o.{name}", FIELDS[name].to_wire) for name in PERSISTENT_FIELDS]
)
_API_OBJECT = dict_maker("to_dict", [(name, f"o.{name}", _api_value(name)) for name in API_ORDER])


# -- operations -----------------------------------------------------------------------


def create(
    ticket_id: str,
    number: int,
    fields: Mapping[str, Any],
    now: datetime,
    policy: sla_clock.SlaPolicy,
) -> tuple[Ticket, list[Event]]:
    """A new ticket from validated create fields."""
    return creator(now, policy)(ticket_id, number, fields)


Creator = Callable[[str, int, Mapping[str, Any]], tuple[Ticket, list[Event]]]
"""Makes a new ticket (and its events) from its id, number and validated create fields."""


def creator(now: datetime, policy: sla_clock.SlaPolicy) -> Creator:
    """:func:`create` for many tickets created at ``now`` under ``policy`` (an import):
    tickets of one priority, answered or not, share one SLA clock and the data of its
    events, worked out once."""
    clocks: dict[tuple[int, bool], tuple[sla_clock.SlaClock, list[tuple[str, Any]]]] = {}

    def make(ticket_id: str, number: int, fields: Mapping[str, Any]) -> tuple[Ticket, list[Event]]:
        status = Status(fields.get("status", Status.NEW))
        priority = int(fields.get("priority", DEFAULT_PRIORITY))
        answered = status is not Status.NEW
        shared = clocks.get((priority, answered))
        if shared is None:
            clock = sla_clock.start(policy, priority, now)
            if answered:
                clock = sla_clock.respond(clock, now)
            shared = clocks[priority, answered] = (clock, sla_clock.audit(None, clock))
        clock, audited = shared
        ticket = Ticket(
            id=ticket_id,
            number=number,
            subject=fields["subject"],
            description=fields["description"],
            priority=priority,
            status=status,
            created_at=now,
            updated_at=now,
            clock=clock,
            category=fields.get("category"),
            contact_id=fields.get("contact_id"),
            conversation_id=fields.get("conversation_id"),
            assigned_to=fields.get("assigned_to"),
            due_date=fields.get("due_date"),
            tags=tuple(fields.get("tags", ())),
            custom_fields=dict(fields.get("custom_fields", {})),
            metadata=dict(fields.get("metadata", {})),
            first_response_at=now if answered else None,
        )
        events = [Event("created", now, 1, data=ticket.persistent(), ticket_id=ticket_id)]
        events += [Event(kind, now, 1, data=data, ticket_id=ticket_id) for kind, data in audited]
        return ticket, events

    return make


def _move(
    ticket: Ticket,
    clock: sla_clock.SlaClock,
    new: Status,
    now: datetime,
    policy: sla_clock.SlaPolicy,
) -> tuple[dict[str, Any], sla_clock.SlaClock, str]:
    """Apply a status move: the fields it sets, the new clock and the event type."""
    current = ticket.status
    check_transition(current, new)
    sets: dict[str, Any] = {"status": new}
    if ticket.first_response_at is None:
        sets["first_response_at"] = now
        clock = sla_clock.respond(clock, now)
    if new in PAUSED_STATUSES:
        clock = sla_clock.pause(clock, now)
    kind = "status_changed"
    if new is Status.RESOLVED:
        sets["resolved_at"] = now
        clock = sla_clock.resolve(clock, now)
    elif new is Status.CLOSED:
        kind = "closed"
        sets["closed_at"] = now
        sets["resolved_at"] = ticket.resolved_at if current is Status.RESOLVED else now
        clock = sla_clock.resolve(clock, now)
    elif new is Status.REOPENED:
        kind = "reopened"
        sets.update(resolved_at=None, closed_at=None, reopened_count=ticket.reopened_count + 1)
        clock = sla_clock.reopen(clock, policy, now)
    elif current in PAUSED_STATUSES and new not in PAUSED_STATUSES:
        clock = sla_clock.resume(clock, policy, now)
    return sets, clock, kind


def _status_event(
    ticket: Ticket, sets: Mapping[str, Any], kind: str, now: datetime, version: int
) -> Event:
    data = {name: wire_value(name, value) for name, value in sets.items() if name != "status"}
    return Event(
        kind,
        now,
        version,
        field="status",
        old=str(ticket.status),
        new=str(sets["status"]),
        data=data,
        ticket_id=ticket.id,
    )


def not_before(ticket: Ticket, now: datetime) -> datetime:
    """The instant to stamp a change with: ``now``, unless the clock reads earlier than the
    ticket's last change (a clock stepped back, or another process's clock behind ours);
    then that last change's time, so that a ticket's own history never runs backwards."""
    return max(now, ticket.updated_at)


def merge_object(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``patch`` into ``current``; a ``None`` value removes the key."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def update(
    ticket: Ticket, changes: Mapping[str, Any], now: datetime, policy: sla_clock.SlaPolicy
) -> tuple[Ticket, list[Event]]:
    """Apply validated update fields. Unchanged values make no event; no events, no change.

    A closed ticket accepts only a reopen (which may carry other changes, applied after
    it) or a no-op ``status: closed``.
    """
    now = not_before(ticket, now)
    requested = changes.get("status")
    if ticket.status is Status.CLOSED and requested is not Status.REOPENED:
        if set(changes) - {"status"}:
            raise TicketClosed()
        if requested is None or requested is Status.CLOSED:
            return ticket, []
        check_transition(ticket.status, requested)

    version = ticket.version + 1
    clock = sla_clock.observe(ticket.clock, now)
    sets: dict[str, Any] = {}
    events: list[Event] = []

    def move(target: Status) -> None:
        nonlocal clock
        current = attrs.evolve(ticket, **sets)
        moved, clock, kind = _move(current, clock, target, now, policy)
        events.append(_status_event(current, moved, kind, now, version))
        sets.update(moved)

    if ticket.status is Status.CLOSED and requested is Status.REOPENED:
        move(Status.REOPENED)

    for name in UPDATABLE_FIELDS:
        if name not in changes:
            continue
        old = getattr(ticket, name)
        new = changes[name]
        if name == "custom_fields":
            new = merge_object(old, new)
        elif name == "tags":
            new = tuple(new)
        if new == old:
            continue
        events.append(
            Event(
                "field_changed",
                now,
                version,
                field=name,
                old=wire_value(name, old),
                new=wire_value(name, new),
                ticket_id=ticket.id,
            )
        )
        sets[name] = new
        if name == "priority":
            clock = sla_clock.reprioritize(clock, policy, new, now)

    current_status = sets.get("status", ticket.status)
    if requested is not None and requested is not current_status:
        move(requested)

    note = changes.get("internal_note")
    if note is not None:
        events.append(Event("note_added", now, version, data={"note": note}, ticket_id=ticket.id))

    if not events:
        return ticket, []
    after = attrs.evolve(ticket, **sets, clock=clock, version=version, updated_at=now)
    return after, [*events, *_sla_events(ticket, after, now)]


def close(
    ticket: Ticket, details: Mapping[str, Any], now: datetime, policy: sla_clock.SlaPolicy
) -> tuple[Ticket, list[Event]]:
    """Close a ticket with validated close details (resolution note, CSAT, ...)."""
    if ticket.status is Status.CLOSED:
        assert ticket.closed_at is not None
        raise TicketAlreadyClosed(format_time(ticket.closed_at))
    now = not_before(ticket, now)
    version = ticket.version + 1
    clock = sla_clock.observe(ticket.clock, now)
    sets, clock, kind = _move(ticket, clock, Status.CLOSED, now, policy)
    sets.update({name: details[name] for name in CLOSE_FIELDS if name in details})
    event = _status_event(ticket, sets, kind, now, version)
    after = attrs.evolve(ticket, **sets, clock=clock, version=version, updated_at=now)
    return after, [event, *_sla_events(ticket, after, now)]


def assign(
    ticket: Ticket, agent: str | None, now: datetime, data: Mapping[str, Any], *, new: bool = False
) -> tuple[Ticket, list[Event]]:
    """Give the ticket to ``agent`` (``None``: to nobody, into a queue) as routing does:
    an ``assigned`` event naming the old and new assignee, with ``data`` saying by which
    rule, strategy and reason (see :mod:`~ayra_tickets.domain.routing`). ``new``: the
    ticket is being created (not yet written), and the event is of its version 1;
    else the change is the ticket's next version. Assigning is no response: the SLA
    clock only observes the time passed."""
    if new:
        event = Event("assigned", now, 1, "assigned_to", ticket.assigned_to, agent, data, ticket.id)
        return attrs.evolve(ticket, assigned_to=agent), [event]
    now = not_before(ticket, now)
    version = ticket.version + 1
    clock = sla_clock.observe(ticket.clock, now)
    event = Event(
        "assigned", now, version, "assigned_to", ticket.assigned_to, agent, data, ticket.id
    )
    after = attrs.evolve(ticket, assigned_to=agent, clock=clock, version=version, updated_at=now)
    return after, [event, *_sla_events(ticket, after, now)]


ANNOTATED_EVENTS = frozenset({"assigned"})
"""Events whose ``data`` says why the change was made (not what else it set): a replay
applies their ``field`` alone."""


def _sla_events(before: Ticket | None, after: Ticket, now: datetime) -> list[Event]:
    """What the change did to the SLA clock, as events (``sla_applied``, ...)."""
    return [
        Event(kind, now, after.version, data=data, ticket_id=after.id)
        for kind, data in sla_clock.audit(before.clock if before else None, after.clock)
    ]


_NOT_REPLAYED = frozenset({"note_added", "escalated"})
"""Events that change no field (an escalation's record; its changes have events of
their own)."""


def replay(events: Sequence[Event]) -> dict[str, Any]:
    """Rebuild a ticket's persistent fields, ``version`` and ``updated_at`` from its log."""
    if not events or events[0].type != "created" or events[0].data is None:
        raise ValueError("a ticket's history starts with its 'created' event")
    state: dict[str, Any] = dict(events[0].data)
    for event in events[1:]:
        if event.type in _NOT_REPLAYED or event.type.startswith("sla_"):
            continue
        if event.field is not None:
            state[event.field] = event.new
        if event.data and event.type not in ANNOTATED_EVENTS:
            state.update(event.data)
    state["version"] = events[-1].version
    state["updated_at"] = format_time(events[-1].at)
    return state


def unlinked(events: Sequence[Event]) -> list[tuple[Event, Any]]:
    """The changes of a log whose ``old`` value is not the one the log had before them,
    each with the value it had. Every change names the value it replaced, so a change
    lost from between two others shows here even when a later one hides it from
    :func:`replay`."""
    if not events or events[0].type != "created" or events[0].data is None:
        return []  # replay() says why
    state: dict[str, Any] = dict(events[0].data)
    found: list[tuple[Event, Any]] = []
    for event in events[1:]:
        if event.type in _NOT_REPLAYED or event.type.startswith("sla_"):
            continue
        if event.field is not None:
            if event.old != state.get(event.field):
                found.append((event, state.get(event.field)))
            state[event.field] = event.new
        if event.data and event.type not in ANNOTATED_EVENTS:
            state.update(event.data)
    return found
