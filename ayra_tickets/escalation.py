"""``engine.escalations``: escalation policies, each ticket's deadline timer, and the
due work that fires levels and announces SLA breaches.

The rules (when a level fires, what its actions do) are the domain's
(:mod:`ayra_tickets.domain.escalation`); this module stores the policy, keeps one timer
per ticket (the next instant something is due for it), recomputed by a reaction to
every ticket write of the API, and gives ``engine.run_due()`` its ``escalations`` part:
the due timers are claimed one ticket at a time, each in a write transaction of its
own, so that several processes running it at once fire nothing twice.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from .domain.errors import ParameterInvalid
from .domain.escalation import Due as DueLevel
from .domain.escalation import (
    EscalationLevel,
    Policy,
    Reassign,
    act,
    assign,
    breaches,
    escalated,
    finish,
    next_due,
    pending,
    validate_policy,
)
from .domain.ticket import Event, Ticket, not_before
from .service import UnitOfWork, Written
from .storage.errors import StorageUnavailable

log = logging.getLogger("ayra_tickets")

BATCH = 100
"""How many due timers one read of ``run_due`` takes."""


class GroupRouter(Protocol):
    """What a ``Reassign(group=...)`` hands a ticket to (the routing service)."""

    def to_group(self, ticket: Ticket, group: str, now: datetime, why: str) -> Ticket:
        """Assign ``ticket`` to an agent of ``group`` (or queue it there), in the
        caller's transaction; the ticket as written."""
        ...


class Escalations:
    """``engine.escalations``: ``configure({priority: [EscalationLevel(...), ...]})``
    stores the policy (in the database: every engine on it sees it), and
    ``engine.run_due()`` fires what is due (see :mod:`ayra_tickets.domain.escalation`).
    ``routing`` is what a ``Reassign(group=...)`` hands a ticket to."""

    def __init__(self, uow: UnitOfWork, routing: GroupRouter | None = None) -> None:
        self._uow = uow
        self.routing = routing
        self._store = uow.storage.escalations
        self._policy: Policy = {}
        uow.reactions.append(self._react)
        uow.due.append(("escalations", self.run_due))
        uow.loaders.append(self._load)

    def _load(self) -> None:
        self._policy = self._store.load_policy()

    def configure(self, policy: Mapping[int, Any]) -> dict[int, tuple[EscalationLevel, ...]]:
        """Store ``policy`` (priority to a list of levels; an empty mapping: none) in
        place of the one there, and retime every open ticket by it. Checked as a whole
        first: on bad input, :class:`~ayra_tickets.domain.errors.ParameterInvalid` says
        what is wrong, and nothing is stored."""
        clean = validate_policy(policy)
        actions = [a for levels in clean.values() for lv in levels for a in lv.actions]
        agents = {a.agent for a in actions if isinstance(a, Reassign) and a.agent is not None}
        if self.routing is None and any(isinstance(a, Reassign) and a.group for a in actions):
            raise ParameterInvalid(
                "Reassign(group=...) needs routing, which this engine has not",
                param="escalations",
            )
        uow = self._uow
        store = self._store

        def configure() -> dict[int, tuple[EscalationLevel, ...]]:
            known = uow.storage.agents.all()
            missing = sorted(agents - set(known))
            if missing:
                raise ParameterInvalid(
                    f"Reassign(agent={missing[0]!r}) names no agent of the directory",
                    param="escalations",
                )
            store.put_policy(clean)
            now = uow.now()
            for number in store.open_numbers():
                ticket = uow.tickets.get_number(number)
                if ticket is None:
                    continue
                if store.timer(number) is None:  # (an import's): its past is not announced
                    store.set_timer(number, None, ticket.version)
                    store.announced(number, now)
                self._retime(ticket, clean)
            uow.after_commit(functools.partial(setattr, self, "_policy", clean))
            return clean

        return uow.write(configure)

    @property
    def policy(self) -> dict[int, tuple[EscalationLevel, ...]]:
        """The stored policy: each priority's levels (priorities without any left out)."""
        return self._uow.read(lambda: dict(self._policy))

    # -- timers ------------------------------------------------------------------------

    def _react(self, written: Written) -> None:
        if self._policy or self._uow.announcers:
            self._retime(written.after, self._policy, fresh=written.before is None)

    def _retime(self, ticket: Ticket, policy: Policy, *, fresh: bool = False) -> None:
        """Set the ticket's timer to the next instant something is due for it (a new
        ticket has no timer yet, and no level fired: nothing to read)."""
        store = self._store
        timer = None if fresh else store.timer(ticket.number)
        fired = store.fired(ticket.number) if policy and not fresh else set()
        calendar = self._uow.policy_for(ticket).measure
        through = None if timer is None else timer.announced_through
        at = next_due(ticket, policy, calendar, fired, through, bool(self._uow.announcers))
        if at is not None or timer is not None:
            store.set_timer(ticket.number, at, ticket.version)

    # -- due work ----------------------------------------------------------------------

    def run_due(self, now: datetime) -> int:
        """Fire the levels and announce the breaches due by ``now``: each due ticket in a
        write transaction of its own (one that fails is rolled back whole, logged, and
        tried again by the next run). How many levels fired (the breaches told are
        counted by what hears them: the webhooks' deliveries)."""
        uow = self._uow
        done = 0
        after: tuple[datetime, int] | None = None
        while batch := uow.read(functools.partial(self._store.due, now, after, BATCH)):
            after = batch[-1]
            for _, number in batch:
                try:
                    done += uow.write(functools.partial(self._fire, number, now))
                except StorageUnavailable:
                    raise
                except Exception:  # rolled back whole; its timer stays due for the next run
                    log.exception("escalating ticket number %s failed", number)
        return done

    def _fire(self, number: int, now: datetime) -> int:
        """What is due for one ticket, if it still is and no other process has it."""
        uow = self._uow
        store = self._store
        timer = store.claim(number, now)
        if timer is None:
            return 0
        ticket = uow.tickets.get_number(number)
        if ticket is None:  # gone (a reset, elsewhere): nothing to keep
            store.set_timer(number, None, 0)
            return 0
        policy = self._policy
        calendar = uow.policy_for(ticket).measure
        done = 0
        while True:
            due = [d for d in pending(ticket, policy, calendar, store.fired(number)) if d.at <= now]
            if not due:
                break
            ticket = self._fire_level(ticket, due[0], now)
            done += 1
        if uow.announcers:
            self._announce(ticket, timer.announced_through, now)
            store.announced(number, now)
        self._retime(ticket, policy)
        return done

    def _announce(self, ticket: Ticket, through: datetime | None, now: datetime) -> None:
        """Announce the ticket's deadlines missed by ``now`` and not yet told."""
        uow = self._uow
        told = [b for b in breaches(ticket) if b.at <= now and (through is None or b.at > through)]
        if told:
            agent = ticket.assigned_to
            name = None if agent is None else uow.storage.agents.name(agent)
            shown = ticket.read_at(uow.policy_for(ticket).measure, now, name)
            for breach in told:
                uow.announce("sla.breached", shown, now, breach.key(ticket.id), breach.data())

    def _fire_level(self, ticket: Ticket, due: DueLevel, now: datetime) -> Ticket:
        """Fire one level: its actions in order, one ticket version (a ``Reassign`` to a
        group is routing's own write, the version after what came before it)."""
        uow = self._uow
        now = not_before(ticket, now)
        self._store.record(ticket.number, ticket.reopened_count, due.priority, due.level, now)
        sla = uow.policy_for(ticket)
        before = current = ticket
        events: list[Event] = []
        for action in due.spec.actions:
            if not isinstance(action, Reassign):
                current, done = act(current, due, action, now, sla)
            elif action.agent is not None:
                known = uow.storage.agents.name(action.agent) is not None
                current, done = assign(current, due, action.agent, known, now)
            elif self.routing is None:
                note = "no routing in this engine to reassign with"
                done = [escalated(current, due, action.action, now, group=action.group, note=note)]
            else:
                events.append(escalated(current, due, action.action, now, group=action.group))
                before = current = self._write(before, current, events, now)
                events = []
                why = f"escalation: priority {due.priority} level {due.level}"
                before = current = self.routing.to_group(current, str(action.group), now, why)
                continue
            events += done
        if events:
            current = self._write(before, current, events, now)
        return current

    def _write(self, before: Ticket, current: Ticket, events: list[Event], now: datetime) -> Ticket:
        after = finish(current, now)
        self._uow.save(before, after, events, now)
        return after
