"""The storage port: what the services need of a database, and nothing more.

The services (``service.py``) reach storage only through these protocols, and the engine
holds a :class:`Storage`; an adapter implements them for one kind of database
(``storage/sqlite/`` for a file, ``storage/postgres/`` for a PostgreSQL database).
Nothing here knows SQL. Values cross the port as the
domain's (:class:`~ayra_tickets.domain.ticket.Ticket`, :class:`~ayra_tickets.domain.ticket.Event`,
:class:`~ayra_tickets.domain.validation.ListQuery`, aware UTC datetimes); how they are
stored is the adapter's business (the columns of a ticket follow
:mod:`ayra_tickets.domain.fields`).

Every repository method runs in the caller's transaction (:meth:`Storage.atomic`), and
raises :class:`~ayra_tickets.storage.errors.StorageUnavailable` (or a subclass) when the
database cannot take the call.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

import attrs

from ..domain.escalation import EscalationLevel
from ..domain.escalation import Policy as EscalationPolicy
from ..domain.keys import ApiKey
from ..domain.metrics import Metrics
from ..domain.routing import Agent, RoutingRule
from ..domain.sla import Calendar, Sla, SlaClock, SlaPolicy
from ..domain.sync import Command, Conflict, Figures, Link, NewCommand, SyncConfig
from ..domain.ticket import Event, Ticket
from ..domain.validation import ListQuery
from ..domain.webhooks import Delivery, Subscription
from .consistency import Stretch
from .findings import Progress, Report

T = TypeVar("T")

SlaView = Callable[[SlaClock, "datetime | None"], Sla]
"""How a ticket's SLA reads, from its clock and its ``closed_at``: the services know the
moment and the calendars, and hand this to the reads that build many tickets."""

Built = Sequence[tuple[Ticket, Sequence[Event]]]
"""New tickets, each with the events that made it."""


# -- records as stored, for copying a whole database ---------------------------------


@attrs.frozen
class StoredTicket:
    """A ticket as stored (with its assignee's name), its events (ids kept, oldest
    first) and its states (by version): everything a copy writes of one ticket. Its
    tags and search words are written from the ticket itself."""

    ticket: Ticket
    events: tuple[Event, ...]
    states: tuple[Stretch, ...]


@attrs.frozen
class Timer:
    """A ticket's escalation timer: the next instant something is due for it (``None``:
    nothing), the version it was computed from, and the instant through which its SLA
    breaches were announced."""

    due_at: datetime | None
    version: int
    announced_through: datetime | None


@attrs.frozen
class StoredTimer:
    """A ticket's timer as stored, and the levels that fired for it: (run, priority,
    level, when), in that order."""

    number: int
    timer: Timer
    fired: tuple[tuple[int, int, int, datetime], ...]


@attrs.frozen
class StoredKey:
    """An API key as stored: its record and the digest its secret is found by."""

    key: ApiKey
    digest: str


@attrs.frozen
class StoredPolicy:
    """An SLA policy as stored, and when it was last configured."""

    policy: SlaPolicy
    updated_at: datetime


@attrs.frozen
class Remembered:
    """An idempotency key's remembered answer: whose (``owner``: an API key's id, or
    '' for Python calls) and which ``key``, the request's fingerprint, the ticket as it
    was answered (with its assignee's name then), and when."""

    owner: str
    key: str
    request: str
    ticket: Ticket
    created_at: datetime


COUNTED = (
    "tickets",
    "events",
    "states",
    "tags",
    "keys",
    "agents",
    "policies",
    "idempotency_keys",
    "routing_rules",
    "routing_turns",
    "routing_queue",
    "escalation_policies",
    "escalation_timers",
    "escalations_fired",
    "webhook_subscriptions",
    "webhook_deliveries",
)
"""The kinds of record :meth:`Storage.counts` counts, in the order reports show them."""


class TicketRepository(Protocol):
    """Tickets and everything kept with them: the event log, the tags, the states the
    figures read (each stretch of a ticket in one status and priority) and the search
    index. A write keeps them all in step, in the caller's transaction."""

    def get(self, ticket_id: str) -> Ticket | None:
        """The ticket with this id (``ticket_...``), with its assignee's name."""
        ...

    def get_number(self, number: int) -> Ticket | None:
        """The ticket with this number, with its assignee's name."""
        ...

    def next_number(self) -> tuple[int, datetime | None]:
        """The next ticket's number (numbers have no gaps), and when the last ticket was
        created (a new one is never created before it)."""
        ...

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these ticket ids are taken."""
        ...

    def insert(self, ticket: Ticket, events: Iterable[Event]) -> None:
        """A new ticket and its first events."""
        ...

    def insert_many(self, built: Built) -> None:
        """Many new tickets and their events (an import): as few round trips as the
        database allows."""
        ...

    def save(self, before: Ticket, after: Ticket, events: Iterable[Event]) -> None:
        """Write ``after`` over ``before`` and append its events: a versioned update,
        which raises :class:`~ayra_tickets.storage.errors.WriteConflict` if the stored
        ticket is no longer at ``before.version``."""
        ...

    def events(self, number: int) -> list[Event]:
        """The history of the ticket with this number, oldest first."""
        ...

    def count(self) -> int:
        """How many tickets there are."""
        ...

    def list(
        self, query: ListQuery, now: datetime, view: SlaView | None = None
    ) -> tuple[list[Ticket], int]:
        """One page of the tickets matching ``query`` (filters, search, order, page), and
        how many match in all. ``now`` decides ``sla_breach``."""
        ...

    def after(
        self, query: ListQuery, now: datetime, view: SlaView | None = None
    ) -> tuple[builtins.list[Ticket], bool]:
        """The page after ``query.cursor`` (keyset paging: no count), and whether more
        follow."""
        ...

    def scan(
        self, query: ListQuery, now: datetime, after: int, limit: int, view: SlaView | None = None
    ) -> builtins.list[Ticket]:
        """Up to ``limit`` tickets matching ``query``'s filters with a number above
        ``after``, in number order (an export's steps)."""
        ...

    def stored(self, after: int, limit: int) -> builtins.list[StoredTicket]:
        """Up to ``limit`` tickets with a number above ``after``, in number order, as
        stored, with their events and states (a copy's steps: in one read transaction,
        the steps read one snapshot)."""
        ...

    def insert_stored(self, batch: Sequence[StoredTicket]) -> None:
        """Write tickets as they were stored elsewhere, in number order, above any held
        here: numbers, versions, times, events (with their ids) and states kept; tags
        and search words written from the tickets; the next number and the next event id
        follow the last written. As few round trips as the database allows."""
        ...

    def defer_indexes(self) -> None:
        """Before the rest of a big import: stop keeping the list indexes row by row, so
        that :meth:`restore_indexes` builds them once. Reads stay right meanwhile; a
        database left so (the import stopped) gets them back when next opened."""
        ...

    def restore_indexes(self) -> None:
        """Build what :meth:`defer_indexes` put off, if anything."""
        ...

    def analyze(self) -> None:
        """Refresh the query planner's statistics (after an import changed the data's
        shape)."""
        ...


class IdempotencyKeys(Protocol):
    """What a create with an idempotency key made, remembered for its retries."""

    def remembered(self, owner: str, key: str, since: datetime) -> tuple[str, Ticket] | None:
        """The request fingerprint and the ticket (as answered) of ``owner``'s create with
        ``key``, if it was made at ``since`` or later."""
        ...

    def remember(self, owner: str, key: str, request: str, ticket: Ticket, now: datetime) -> None:
        """Keep what ``owner``'s create with ``key`` answered (replacing an expired use)."""
        ...

    def forget_before(self, cutoff: datetime) -> None:
        """Forget every key used before ``cutoff``."""
        ...

    def stored(self, after: tuple[str, str] | None, limit: int) -> list[Remembered]:
        """Up to ``limit`` remembered answers after ``(owner, key)`` ``after`` (from the
        first when ``None``), in that order: a copy's steps. Expired ones too."""
        ...


class KeyRepository(Protocol):
    """API keys, stored as salted, stretched digests (:mod:`ayra_tickets.domain.keys`)
    with the database's own salt."""

    def digest(self, secret: object) -> str | None:
        """The digest a key with this secret is stored under (``None``: no key can have
        it). It reads nothing, and a secret not seen lately takes milliseconds to
        stretch: call it outside any transaction."""
        ...

    def forget_digests(self) -> None:
        """Forget the digests of secrets seen lately (the next authentication stretches
        anew, as in a new process)."""
        ...

    def create(
        self, scopes: Iterable[str], name: str | None, now: datetime, secret: str, *, chosen: bool
    ) -> ApiKey:
        """Store a key with this secret (``chosen`` by the caller, or made)."""
        ...

    def exists(self, digest: str) -> bool:
        """Whether some key, live or revoked, is stored under this digest."""
        ...

    def find(self, digest: str) -> ApiKey | None:
        """The live key stored under this digest."""
        ...

    def all(self) -> list[ApiKey]:
        """Every key, live or revoked, oldest first."""
        ...

    def live_matches(self, key_id: str) -> int:
        """How many live keys have this id or this prefix."""
        ...

    def revoke(self, key_id: str, now: datetime) -> bool:
        """Revoke the live key with this id or prefix; whether there was one."""
        ...

    def stored(self) -> tuple[str | None, list[StoredKey]]:
        """The database's salt, and every key, live or revoked, with its digest, oldest
        first."""
        ...

    def insert_stored(self, salt: str | None, keys: Sequence[StoredKey]) -> None:
        """Take ``salt`` as this database's (its digests then find the keys stored with
        it; ``None``: keep its own) and store ``keys`` as they are, in this order. For a
        database with no key."""
        ...


class AgentRepository(Protocol):
    """The agent directory, which gives ``assigned_name``."""

    def put(self, agent_id: str, name: str) -> None:
        """Add an agent, or rename one."""
        ...

    def remove(self, agent_id: str) -> bool:
        """Remove an agent; whether there was one."""
        ...

    def all(self) -> dict[str, str]:
        """Every agent's name by id."""
        ...

    def name(self, agent_id: str) -> str | None:
        """The name of the agent with this id."""
        ...

    # Routing's fields of an agent (groups, skills, capacity, calendar, available):

    def put_agent(self, agent: Agent) -> None:
        """Store the agent with every field, adding it or replacing the one of its id."""
        ...

    def get_agent(self, agent_id: str) -> Agent | None:
        """The agent with this id, with every field."""
        ...

    def agents(self) -> list[Agent]:
        """Every agent with every field, by id (in code point order)."""
        ...


@attrs.frozen
class StoredRouting:
    """Routing's state as stored, for a copy: the rules in order, each round-robin
    turn's last agent by (group, rule name; '' for the group's own), and the queued
    tickets as (number, group, rule name or None), in number order."""

    rules: tuple[RoutingRule, ...]
    turns: tuple[tuple[str, str, str], ...]
    queued: tuple[tuple[int, str, str | None], ...]


class RoutingRepository(Protocol):
    """The routing rules, the round-robin turns, the group queues, and the open load of
    agents (read on the tickets' assignee and status index)."""

    def rules(self) -> list[RoutingRule]:
        """The configured rules, in order."""
        ...

    def set_rules(self, rules: Sequence[RoutingRule]) -> None:
        """Replace the rules (on a backend whose ``changed`` reads a version, raise it,
        so that other engines reload them)."""
        ...

    def loads(self, agent_ids: Sequence[str]) -> dict[str, int]:
        """How many open tickets (any status but resolved and closed) each of these
        agents holds; an agent holding none may be left out."""
        ...

    def last_turn(self, group: str, rule: str) -> str | None:
        """The agent that ``rule``'s turn in ``group`` went to last."""
        ...

    def took_turn(self, group: str, rule: str, agent: str) -> None:
        """``agent`` got a ticket of ``group`` by ``rule`` ('' for none): the rule's turn
        and the group's (which every assignment of the group writes, so that two
        writers routing into one group at once meet on its row)."""
        ...

    def enqueue(self, number: int, group: str, rule: str | None) -> None:
        """Put the ticket into ``group``'s queue (out of any other)."""
        ...

    def dequeue(self, number: int) -> None:
        """Take the ticket out of its queue, if it is in one."""
        ...

    def queued(self, groups: Sequence[str] | None = None) -> list[tuple[int, str, str | None]]:
        """The queued tickets of ``groups`` (``None``: of every group) as (number, group,
        rule), highest priority first (1 is highest), then oldest (by number)."""
        ...

    def stored(self) -> StoredRouting:
        """Everything routing holds, for a copy."""
        ...

    def insert_stored(self, stored: StoredRouting) -> None:
        """Write what :meth:`stored` read elsewhere (into a database with none)."""
        ...


class PolicyRepository(Protocol):
    """The SLA policies by name, and which one new tickets get."""

    def put(self, policy: SlaPolicy, now: datetime) -> None:
        """Store ``policy`` under its name and make it the one new tickets get."""
        ...

    def load(self) -> tuple[dict[str, SlaPolicy], SlaPolicy]:
        """Every stored policy by name (the built-in default too), and the active one."""
        ...

    def stored(self) -> tuple[list[StoredPolicy], str | None]:
        """Every stored policy, by name, and the name of the active one (``None``: the
        built-in default, never configured)."""
        ...


class EscalationRepository(Protocol):
    """The escalation policy (levels per priority), each ticket's next due instant (its
    timer), and the levels that fired (:mod:`ayra_tickets.domain.escalation`)."""

    def put_policy(self, policy: EscalationPolicy) -> None:
        """Store ``policy`` in place of the one stored (an empty one: none)."""
        ...

    def load_policy(self) -> dict[int, tuple[EscalationLevel, ...]]:
        """The stored policy (empty: none)."""
        ...

    def timer(self, number: int) -> Timer | None:
        """The timer of the ticket with this number."""
        ...

    def set_timer(self, number: int, due_at: datetime | None, version: int) -> None:
        """Set the ticket's next due instant (``None``: nothing due), computed from its
        ``version``; what was announced through stays."""
        ...

    def announced(self, number: int, through: datetime) -> None:
        """Record that the ticket's breaches up to ``through`` are announced."""
        ...

    def due(
        self, now: datetime, after: tuple[datetime, int] | None, limit: int
    ) -> list[tuple[datetime, int]]:
        """Up to ``limit`` timers due at ``now`` (their instant and ticket number), soonest
        first, after ``after`` in that order (from the first when ``None``)."""
        ...

    def claim(self, number: int, now: datetime) -> Timer | None:
        """The ticket's timer, if still due at ``now`` and no other transaction holds it
        (held then until this one ends)."""
        ...

    def fired(self, number: int) -> set[tuple[int, int, int]]:
        """The levels that fired for the ticket: (run, priority, level)."""
        ...

    def record(self, number: int, run: int, priority: int, level: int, at: datetime) -> None:
        """Record that a level fired."""
        ...

    def open_numbers(self) -> list[int]:
        """The numbers of the tickets neither resolved nor closed, in order."""
        ...

    def stored(self, after: int, limit: int) -> list[StoredTimer]:
        """Up to ``limit`` timers of tickets numbered above ``after``, in number order,
        each with the levels fired for its ticket (a copy's steps)."""
        ...

    def insert_stored(self, batch: Sequence[StoredTimer]) -> None:
        """Write timers and fired levels as they were stored elsewhere."""
        ...


class MetricsQueries(Protocol):
    """The support figures of :mod:`ayra_tickets.domain.metrics`, computed where the data
    is."""

    def figures(
        self,
        query: ListQuery,
        start: datetime,
        end: datetime,
        interval: str,
        now: datetime,
        calendars: Callable[[str], Calendar],
        office_hours: Sequence[str] = (),
    ) -> Metrics:
        """The figures of ``[start, end)`` by ``interval`` over the tickets matching
        ``query``'s filters; ``calendars`` gives each policy's calendar, and
        ``office_hours`` names the policies whose calendar does not count every second."""
        ...

    def backlog(self, query: ListQuery, at: datetime, now: datetime) -> dict[str, dict[int, int]]:
        """The matching tickets by status, then priority, as they stood at ``at``."""
        ...


@attrs.frozen
class NewDelivery:
    """A delivery to write to the outbox: its id, its subscription, the event's name, the
    ticket it is about (its id and number), the body to post (JSON), and for an event
    that may be announced again, the key that names it for good (one delivery a key and
    subscription)."""

    id: str
    subscription: str
    event: str
    ticket_id: str
    ticket_number: int
    body: str
    key: str | None = None


@attrs.frozen
class Claimed:
    """A delivery claimed for an attempt: where it goes, the secret that signs it, its
    body, and how many attempts it had before this one."""

    id: str
    url: str
    secret: str
    body: str
    attempts: int


@attrs.frozen
class Attempt:
    """What came of one attempt of a delivery: when it was made, the delivery's status
    after it (``delivered``, ``pending`` again, or ``dead``), when the next attempt is
    due, and the receiver's answer (its HTTP status, or what went wrong)."""

    at: datetime
    status: str
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None


@attrs.frozen
class DeliveryQuery:
    """Which deliveries a listing wants: of one subscription, in one status, about one
    ticket (``None``: any), and how many at most."""

    subscription: str | None
    status: str | None
    ticket_id: str | None
    limit: int


class WebhookRepository(Protocol):
    """Webhook subscriptions and the outbox of their deliveries. A subscription's change
    must be seen by every other engine's next transaction (see :meth:`Storage.changed`)."""

    def subscribe(self, subscription: Subscription) -> None:
        """Store a subscription (with its secret)."""
        ...

    def unsubscribe(self, subscription_id: str) -> bool:
        """Remove a subscription and its deliveries; whether there was one."""
        ...

    def subscriptions(self) -> builtins.list[Subscription]:
        """Every subscription, with its secret, oldest first."""
        ...

    def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        """Write deliveries, pending and due at ``now``, in this order (their sequence
        grows with it); one whose key its subscription already has is left out. How
        many were written."""
        ...

    def claim(
        self,
        now: datetime,
        until: datetime,
        token: str,
        limit: int,
        passed_over: Sequence[str] = (),
    ) -> builtins.list[Claimed]:
        """Up to ``limit`` pending deliveries due at ``now`` and not held by another
        claim (or held by one that lapsed), each the earliest pending delivery of its
        ticket and subscription, held under ``token`` until ``until``: in sequence order.
        None to the URLs ``passed_over``."""
        ...

    def release(self, delivery_id: str, token: str) -> None:
        """Let go of a delivery claimed under ``token`` without attempting it."""
        ...

    def record(self, delivery_id: str, token: str, attempt: Attempt) -> bool:
        """The outcome of an attempt made under ``token``: one more attempt, the new
        status and next attempt, the answer; released. Nothing if another claim holds
        the delivery now (this one lapsed). Whether it was recorded."""
        ...

    def deliveries(self, query: DeliveryQuery) -> builtins.list[Delivery]:
        """Up to ``query.limit`` deliveries matching what it gives, newest first."""
        ...

    def delivery(self, delivery_id: str) -> Delivery | None: ...

    def redeliver(self, delivery_id: str, now: datetime) -> bool:
        """Make a delivery pending again, due at ``now``, with a new series of attempts;
        whether there was one."""
        ...

    def stored(self) -> builtins.list[Delivery]:
        """Every delivery, with its body and key, in sequence order: a copy's."""
        ...

    def insert_stored(self, deliveries: Sequence[Delivery]) -> None:
        """Write deliveries as they were stored elsewhere, in this order (their sequence
        numbers are this database's, in the same order), unclaimed."""
        ...


# -- sync: the outbox of commands to the remote ----------------------------------------


@attrs.frozen
class ClaimedTicket:
    """A ticket's commands claimed for a push: its link to the remote as it stands, and
    its pending commands in order, held under ``token`` (the ticket's own) until
    ``until``."""

    link: Link
    commands: tuple[Command, ...]
    token: str
    until: datetime


@attrs.frozen
class CommandResult:
    """What came of one attempt of a command: when, its status after it (``done``,
    ``pending`` again, ``dead`` or ``conflict``), the next attempt (pending), the
    remote's answer (its HTTP status, or what went wrong), and for an acknowledged one
    the remote ticket's id, number and version; for a conflict, the remote's answer."""

    at: datetime
    status: str
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    remote_id: str | None = None
    remote_number: str | None = None
    remote_version: int | None = None
    answer: object = None


class SyncRepository(Protocol):
    """Sync's configuration, each synced ticket's link to the remote, the outbox of
    commands and the conflicts (:mod:`ayra_tickets.domain.sync`). A change of the
    configuration must be seen by every other engine's next transaction (see
    :meth:`Storage.changed`)."""

    def config(self) -> SyncConfig | None:
        """The configuration, if sync is configured."""
        ...

    def configure(self, config: SyncConfig) -> None:
        """Store the configuration in place of any."""
        ...

    def rounds(self, at: datetime, succeeded: bool) -> None:
        """Record a round that ended at ``at`` (and whether the remote answered it
        whole)."""
        ...

    def track(self, ticket_id: str, number: int) -> None:
        """Start a link for a ticket just created (no remote counterpart yet)."""
        ...

    def link(self, number: int) -> Link | None:
        """The link of the local ticket with this number (``None``: not synced)."""
        ...

    def link_of(self, ticket_id: str | None = None, remote_id: str | None = None) -> Link | None:
        """The link of a local ticket id, or of a remote ticket id."""
        ...

    def enqueue(self, number: int, commands: Sequence[NewCommand], now: datetime) -> bool:
        """Queue the ticket's commands, pending and due at ``now``, after its others
        (each the ticket's next ``seq``), stamped with this release's API and schema
        versions, if the ticket is synced (:meth:`track`); whether it is."""
        ...

    def claim(
        self, now: datetime, until: datetime, token: str, tickets: int, each: int
    ) -> builtins.list[ClaimedTicket]:
        """Up to ``tickets`` tickets whose first pending command is due at ``now``,
        not held by another claim (or held by one that lapsed), in no conflict, and
        sendable (a create, or the remote id known), each with up to ``each`` of its
        pending commands in order, held until ``until``: oldest first."""
        ...

    def record(self, command: Command, token: str, result: CommandResult) -> bool:
        """The outcome of an attempt under ``token``: the command's status, attempts
        and answer; an acknowledged one moves the link to the remote's id, number and
        version; a conflict is recorded and holds the ticket's queue. Nothing if another
        claim holds the command now. Whether it was recorded."""
        ...

    def release(self, token: str) -> None:
        """Let go of the commands still held under ``token`` (not attempted)."""
        ...

    def figures(self) -> Figures:
        """Pending commands (and the oldest's queuing time), dead letters, open
        conflicts and the tickets they hold."""
        ...

    def commands(
        self, status: str | None, ticket_number: int | None, limit: int
    ) -> builtins.list[Command]:
        """Up to ``limit`` commands in one status, of one ticket (``None``: any), in
        the order queued."""
        ...

    def conflicts(self) -> builtins.list[Conflict]:
        """The open conflicts, oldest first."""
        ...


class Storage(Protocol):
    """One database behind an engine: its repositories, and transactions over them."""

    @property
    def location(self) -> str:
        """What the database was opened as (a path, or a URL without its password), for
        messages and reports."""
        ...

    @property
    def tickets(self) -> TicketRepository: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def keys(self) -> KeyRepository: ...

    @property
    def agents(self) -> AgentRepository: ...

    @property
    def policies(self) -> PolicyRepository: ...

    @property
    def routing(self) -> RoutingRepository: ...

    @property
    def metrics(self) -> MetricsQueries: ...

    @property
    def escalations(self) -> EscalationRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def sync(self) -> SyncRepository: ...

    def atomic(self, work: Callable[[], T], *, write: bool = False) -> T:
        """Run ``work`` as one transaction and return what it returns: committed if it
        returns, rolled back (nothing of it written) if it raises.

        ``write`` declares the intent to write up front, so that a write never starts
        as a read and then finds the database taken (SQLite: ``BEGIN IMMEDIATE``). An
        adapter waits for a busy database, retrying with jittered pauses up to a bound,
        past which it raises :class:`~ayra_tickets.storage.errors.DatabaseBusy`; and it
        may run ``work`` again after a failure it knows to be transient and rolled
        back (a serialization failure), so ``work`` must change nothing outside the
        database but what it returns. Called inside another's ``work``, it is part of
        that transaction (a savepoint of it). Threads may share a storage; its
        transactions take turns where the database needs them to."""
        ...

    @property
    def identity(self) -> str:
        """What tells this database from every other: two storages with the same
        identity are the same database, however it was named (a file by its device and
        inode, a PostgreSQL schema by its server, database and name)."""
        ...

    def counts(self) -> dict[str, int]:
        """How many records of each kind of :data:`COUNTED` the database holds."""
        ...

    def changed(self) -> bool:
        """Whether what the services cache (the SLA policies) may have changed since the
        last call, inside a transaction; true on the first. An adapter may answer more
        broadly (SQLite: another connection has committed anything); it must never miss
        a change committed by another connection, engine or process."""
        ...

    def commit_mark(self) -> object | None:
        """Outside any transaction: a value that changes whenever another connection
        has committed since it was last read (SQLite's ``data_version``), or ``None``
        where the storage has none. Reading it changes nothing (not :meth:`changed`)."""
        ...

    @property
    def sees_every_commit(self) -> bool:
        """Whether :meth:`changed` is true after every commit of another connection,
        whatever it wrote (SQLite's ``data_version``): then what this connection last
        read of any table, kept up to date with its own writes, is still exact while
        ``changed`` stays false."""
        ...

    def reset(self) -> None:
        """Empty the database in the caller's transaction: tickets and everything kept
        with them, keys, agents, policies, idempotency keys. What describes the database
        rather than its data stays (its schema, its key salt)."""
        ...

    def check(self, progress: Progress | None = None) -> Report:
        """Every check of the database, in one read transaction, writing nothing."""
        ...

    def backup(self, target: Path) -> Path:
        """Copy the database to the new file ``target`` as it is at one instant, while
        others go on writing."""
        ...

    def close(self) -> None:
        """Let go of the database (this storage is not used again)."""
        ...
