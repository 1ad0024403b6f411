"""Routing: the agent directory with its routing fields, the routing rules, and the
group queues (``engine.agents``, ``engine.routing``).

A ticket created without ``assigned_to`` goes by the first rule that matches it to the
rule's group, and to the agent its strategy picks among the qualified (see
:mod:`ayra_tickets.domain.routing`); when nobody qualifies, it waits in the group's
queue. Queues are drained whenever an agent may have become free: one of their tickets
resolved, closed or given to someone else, an agent added or changed, the rules
configured, and by ``engine.run_due()`` (an agent's hours beginning). Every assignment
is an ``assigned`` event of the ticket naming the rule, strategy, group and reason.

Routing registers with the unit of work: a shape (a new ticket), a reaction (every
write), a due part (``assignments``) and a loader (the rules, cached, reloaded when
another connection may have changed them).
"""

from __future__ import annotations

import builtins
import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from .domain import ticket as ops
from .domain.errors import ParameterInvalid
from .domain.routing import (
    DEFAULT_STRATEGY,
    Agent,
    RoutingRule,
    assignment,
    choose,
    first_match,
    group_rule,
    is_open,
    validate_agent_fields,
    validate_rules,
)
from .domain.ticket import Event, Ticket
from .domain.validation import validate_agent
from .service import UnitOfWork, Written

_UNSET: Any = object()


class Agents:
    """``engine.agents``: the agent directory, which gives ``assigned_name`` and which
    routing assigns from."""

    def __init__(self, uow: UnitOfWork, routing: Routing) -> None:
        self._uow = uow
        self._routing = routing

    def add(
        self,
        agent_id: str,
        name: str,
        *,
        groups: Iterable[str] = (),
        skills: Iterable[str] = (),
        capacity: int | None = None,
        calendar: Any = None,
        available: bool = True,
    ) -> Agent:
        """Add an agent, or replace the one of this id with every field as given (to
        change some fields only, see :meth:`update`). ``capacity``: the most open
        tickets routing gives them (``None``: no limit); ``calendar``: a
        :class:`~ayra_tickets.BusinessCalendar` of their working hours (``None``: around
        the clock); ``available=False``: away. Queued tickets of their groups that they
        qualify for are assigned at once."""
        clean_id, clean_name = validate_agent(agent_id, name)
        fields = validate_agent_fields(
            {
                "groups": _listed(groups),
                "skills": _listed(skills),
                "capacity": capacity,
                "calendar": calendar,
                "available": available,
            }
        )
        agent = Agent(clean_id, clean_name, **fields)
        return self._put(agent)

    def update(
        self,
        agent_id: str,
        *,
        name: str = _UNSET,
        groups: Iterable[str] = _UNSET,
        skills: Iterable[str] = _UNSET,
        capacity: int | None = _UNSET,
        calendar: Any = _UNSET,
        available: bool = _UNSET,
    ) -> Agent:
        """Change the fields given of an existing agent (as for :meth:`add`); the others
        stay. Queued tickets of their groups are assigned when they may now take them."""
        given = {
            "name": name,
            "groups": _listed(groups),
            "skills": _listed(skills),
            "capacity": capacity,
            "calendar": calendar,
            "available": available,
        }
        fields = validate_agent_fields({k: v for k, v in given.items() if v is not _UNSET})
        uow = self._uow
        agents = uow.storage.agents

        def update() -> Agent:
            current = agents.get_agent(agent_id) if isinstance(agent_id, str) else None
            if current is None:
                raise ParameterInvalid(f"there is no agent with id {agent_id!r}", param="id")
            changed = attrs.evolve(current, **fields)
            agents.put_agent(changed)
            self._routing.drain(set(current.groups) | set(changed.groups), uow.now())
            return changed

        with self._routing.writing_agents():
            return uow.write(update)

    def _put(self, agent: Agent) -> Agent:
        uow = self._uow
        agents = uow.storage.agents

        def put() -> Agent:
            current = agents.get_agent(agent.id)
            agents.put_agent(agent)
            was = set() if current is None else set(current.groups)
            self._routing.drain(was | set(agent.groups), uow.now())
            return agent

        with self._routing.writing_agents():
            return uow.write(put)

    def get(self, agent_id: str) -> Agent:
        """The agent with this id (``ParameterInvalid`` if there is none)."""
        agents = self._uow.storage.agents
        found = (
            self._uow.read(lambda: agents.get_agent(agent_id))
            if isinstance(agent_id, str)
            else None
        )
        if found is None:
            raise ParameterInvalid(f"there is no agent with id {agent_id!r}", param="id")
        return found

    def all(self) -> builtins.list[Agent]:
        """Every agent, by id."""
        return self._uow.read(self._uow.storage.agents.agents)

    def remove(self, agent_id: str) -> bool:
        """Remove an agent; whether there was one. Their tickets stay theirs (and keep
        their ``assigned_to``), but routing no longer gives them any."""
        agents = self._uow.storage.agents
        with self._routing.writing_agents():
            return self._uow.write(lambda: agents.remove(agent_id))

    def list(self) -> dict[str, str]:
        """Every agent's name by id."""
        return self._uow.read(self._uow.storage.agents.all)


def _listed(value: Any) -> Any:
    """Groups or skills as given: a string is refused (not read as its letters)."""
    if value is _UNSET or isinstance(value, str) or not isinstance(value, Iterable):
        return value
    return tuple(value)


class OpenLoads:
    """How many open tickets each agent holds, as routing reads them: counted once and
    kept up to date with the engine's own writes of tickets, where the storage reports
    every other connection's commit (:attr:`~.storage.port.Storage.sees_every_commit`);
    read afresh in every transaction elsewhere. A routed create then reads no count.

    What is kept is exact as of the last commit this engine made, or made by its own
    transaction: a transaction's writes change it at once (its own later reads see
    them), and it is forgotten by the next transaction unless that one committed (a
    rollback, a retry, a failed write inside it) and whenever the unit of work reloads
    (another connection committed; an import or a reset wrote past the reactions)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._kept: dict[str, int] = {}
        self._owner: object | None = None  # the transaction that changed it, uncommitted

    def forget(self) -> None:
        self._kept = {}
        self._owner = None

    def _own(self) -> object | None:
        """The current transaction, having forgotten what another one left unconfirmed;
        ``None`` where nothing is kept across transactions."""
        attempt = self._uow.attempt()
        if attempt is None or not self._uow.storage.sees_every_commit:
            self.forget()
            return None
        if self._owner is not None and self._owner is not attempt:
            self.forget()
        return attempt

    def read(self, agent_ids: Sequence[str]) -> dict[str, int]:
        """The open loads of these agents, in the caller's transaction."""
        self._own()
        unread = [agent for agent in agent_ids if agent not in self._kept]
        if unread:
            self._kept.update(dict.fromkeys(unread, 0))
            self._kept.update(self._uow.storage.routing.loads(unread))
        return {agent: self._kept[agent] for agent in agent_ids}

    def react(self, written: Written) -> None:
        """A ticket written: its agents' loads moved, if they are kept."""
        before, after = written.before, written.after
        was = None if before is None or not is_open(before) else before.assigned_to
        now = after.assigned_to if is_open(after) else None
        if was == now or not self._kept:
            return
        attempt = self._own()
        if attempt is None:
            return
        for agent, step in ((was, -1), (now, 1)):
            if agent in self._kept:
                self._kept[agent] += step
        if self._owner is None:
            self._owner = attempt
            self._uow.after_commit(lambda: self._committed(attempt))

    def _committed(self, attempt: object) -> None:
        if self._owner is attempt:
            self._owner = None


class Routing:
    """``engine.routing``: the routing rules, and the queues of tickets waiting for an
    agent of their group."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._rules: tuple[RoutingRule, ...] = ()
        self._agents: tuple[Agent, ...] | None = None  # the directory, read when needed
        self._local = threading.local()  # this thread is writing agents: no caching
        self._loads = OpenLoads(uow)
        uow.shapes.append(self._shape)
        uow.reactions.append(self._loads.react)
        uow.reactions.append(self._react)
        uow.due.append(("assignments", self._due))
        uow.loaders.append(self._load)

    # -- configuration ---------------------------------------------------------------

    def configure(self, rules: Iterable[RoutingRule]) -> builtins.list[RoutingRule]:
        """Replace the routing rules with ``rules``, in order (the first that matches a
        ticket routes it). The list is checked as a whole: a rule that tests anything but
        ``priority``, ``category``, ``tags`` and ``contact_id``, an unknown strategy, an
        empty group, a ``skills`` rule without skills, or two rules of one name, and
        nothing is stored. Queued tickets are then assigned where agents qualify."""
        clean = validate_rules(rules)
        uow = self._uow
        stored = uow.storage.routing

        def configure() -> builtins.list[RoutingRule]:
            stored.set_rules(clean)
            self._rules = clean
            self.drain(None, uow.now())
            return list(clean)

        previous = self._rules
        try:
            return uow.write(configure)
        except BaseException:
            self._rules = previous  # nothing was stored: the cache says so too
            raise

    @property
    def rules(self) -> builtins.list[RoutingRule]:
        """The configured rules, in order."""
        return self._uow.read(lambda: list(self._rules))

    def queued(self, group: str | None = None) -> builtins.list[str]:
        """The ids of the tickets waiting in ``group``'s queue (``None``: every group's),
        in the order they will be assigned."""
        uow = self._uow

        def queued() -> builtins.list[str]:
            waiting = uow.storage.routing.queued(None if group is None else [group])
            found = (uow.tickets.get_number(number) for number, _, _ in waiting)
            return [ticket.id for ticket in found if ticket is not None]

        return uow.read(queued)

    def _load(self) -> None:
        self._rules = tuple(self._uow.storage.routing.rules())
        self._agents = None
        self._loads.forget()

    def directory(self) -> tuple[Agent, ...]:
        """Every agent, by id, in the caller's transaction: cached until another
        connection may have changed them (as the rules are) or :meth:`writing_agents`
        ends; read afresh, and not cached, while this thread writes agents."""
        if getattr(self._local, "writing", False):
            return tuple(self._uow.storage.agents.agents())
        if self._agents is None:
            self._agents = tuple(self._uow.storage.agents.agents())
        return self._agents

    @contextlib.contextmanager
    def writing_agents(self) -> Iterator[None]:
        """Around a write of the directory: what it writes is not cached before it
        commits (nor if it rolls back), and the cache is read afresh after."""
        self._local.writing = True
        try:
            yield
        finally:
            self._local.writing = False
            self._agents = None

    # -- the unit of work's hooks ----------------------------------------------------

    def _shape(
        self, ticket: Ticket, events: list[Event], now: datetime
    ) -> tuple[Ticket, list[Event]]:
        """A new ticket without an assignee, by the first matching rule: to an agent, or
        into the group's queue. No rules: nothing read."""
        if not self._rules or ticket.assigned_to is not None:
            return ticket, events
        rule = first_match(self._rules, ticket)
        if rule is None:
            return ticket, events
        routing = self._uow.storage.routing
        agents = self.directory()
        picked = self._choose(rule, rule.group, agents, now, {})
        if picked is None:
            routing.enqueue(ticket.number, rule.group, rule.name)
            return ticket, events
        agent, data = picked
        routed, assigned = ops.assign(ticket, agent, now, data, new=True)
        return routed, [*events, *assigned]

    def _react(self, written: Written) -> None:
        """After a write of a ticket: out of its queue once it has an assignee or ends;
        its assignee's queues drained when it leaves them or ends."""
        before, after = written.before, written.after
        if before is None:
            return
        if before.assigned_to is None:
            if after.assigned_to is not None or not is_open(after):
                self._uow.storage.routing.dequeue(after.number)
            return
        left = after.assigned_to != before.assigned_to
        if left or (is_open(before) and not is_open(after)):
            freed = next((a for a in self.directory() if a.id == before.assigned_to), None)
            if freed is not None and freed.groups:
                self.drain(set(freed.groups), written.now)

    def _due(self, now: datetime) -> int:
        """``run_due``'s part: every queue drained as of ``now`` (agents whose hours have
        begun take what waits). Nothing queued, it takes no write lock."""
        uow = self._uow
        if not uow.read(uow.storage.routing.queued):
            return 0
        return uow.write(lambda: self.drain(None, now))

    # -- assigning ---------------------------------------------------------------------

    def _choose(
        self,
        rule: RoutingRule | None,
        group: str,
        agents: Sequence[Agent],
        now: datetime,
        loads: dict[str, int],
    ) -> tuple[str, dict[str, Any]] | None:
        """The agent of ``group`` that ``rule``'s strategy (no rule: least loaded) picks,
        and the ``assigned`` event's data; the turn taken is written. ``loads`` caches
        the open loads read (and is counted up by the assignment)."""
        strategy = DEFAULT_STRATEGY if rule is None else rule.strategy
        skills = () if rule is None else rule.skills
        members = [
            agent
            for agent in agents
            if group in agent.groups and agent.on_duty(now) and set(skills) <= set(agent.skills)
        ]
        if not members:
            return None
        # Loads are read for those who may be picked: round robin needs only the limited.
        counted = (a for a in members if strategy != "round_robin" or a.capacity is not None)
        unread = [agent.id for agent in counted if agent.id not in loads]
        if unread:
            loads.update(self._loads.read(unread))
        turn = "" if rule is None else rule.name
        routing = self._uow.storage.routing
        last = routing.last_turn(group, turn) if strategy == "round_robin" else None
        choice = choose(strategy, group, members, loads, now, skills=skills, last=last)
        if choice is None:
            return None
        routing.took_turn(group, turn, choice.agent)
        if choice.agent in loads:
            loads[choice.agent] += 1
        return choice.agent, assignment(rule, strategy, group, choice.reason)

    def _rule_for(self, group: str, name: str | None) -> RoutingRule | None:
        """The rule a queued ticket goes by: the one that queued it while it still sends
        tickets to this group, else the group's first rule (else none: least loaded)."""
        for rule in self._rules:
            if rule.name == name and rule.group == group:
                return rule
        return group_rule(self._rules, group)

    def drain(self, groups: set[str] | None, now: datetime) -> int:
        """Assign the queued tickets of ``groups`` (``None``: of every group) in queue
        order, each to the agent its strategy picks, passing over those nobody qualifies
        for; in the caller's transaction. How many were assigned."""
        routing = self._uow.storage.routing
        waiting = routing.queued(None if groups is None else sorted(groups))
        if not waiting:
            return 0
        agents = self.directory()
        loads: dict[str, int] = {}
        done = 0
        for number, group, name in waiting:
            ticket = self._uow.tickets.get_number(number)
            if ticket is None or ticket.assigned_to is not None or not is_open(ticket):
                routing.dequeue(number)
                continue
            picked = self._choose(self._rule_for(group, name), group, agents, now, loads)
            if picked is None:
                continue
            agent, data = picked
            after, events = ops.assign(ticket, agent, now, data)
            self._uow.save(ticket, after, events, now)
            done += 1
        return done

    def to_group(self, ticket: Ticket, group: str, now: datetime, why: str = "") -> Ticket:
        """Give a stored ticket to an agent of ``group`` by the strategy of the first
        rule naming the group (else least loaded), in the caller's transaction: an
        ``assigned`` event whose reason starts with ``why`` (if given). Nobody
        qualifying, the ticket is unassigned into the group's queue (an ``assigned``
        event to ``None``). Returns the ticket as written."""
        rule = group_rule(self._rules, group)
        agents = self.directory()
        picked = self._choose(rule, group, agents, now, {})
        if picked is None:
            strategy = DEFAULT_STRATEGY if rule is None else rule.strategy
            agent, data = None, assignment(rule, strategy, group, "queued: nobody qualifies")
            self._uow.storage.routing.enqueue(
                ticket.number, group, None if rule is None else rule.name
            )
        else:
            agent, data = picked
        if why:
            data = {**data, "reason": f"{why}; {data['reason']}"}
        after, events = ops.assign(ticket, agent, now, data)
        self._uow.save(ticket, after, events, now)
        # Unassigned, its former agent may have taken it straight back from the queue.
        return self._uow.tickets.get(ticket.id) if agent is None else after  # type: ignore[return-value]
