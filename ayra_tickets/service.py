"""The use cases: create, read, update, list and close tickets; keys (agents and
routing: :mod:`ayra_tickets.routing`).

Each public call validates its input first (nothing is touched when it is wrong), then
runs as one transaction of the storage port (:mod:`ayra_tickets.storage.port`): all of
it happens, or none of it does. The services run no SQL and know no database: the
engine hands them a :class:`~ayra_tickets.storage.port.Storage`.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import gc
import hashlib
import itertools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs

from .domain import sla as sla_clock
from .domain import ticket as ops
from .domain.clock import Clock
from .domain.errors import (
    IdempotencyKeyReused,
    ParameterInvalid,
    ParameterUnknown,
    TicketNotFound,
    ValidationError,
    VersionMismatch,
)
from .domain.ids import number_in_label, random_token
from .domain.imports import ImportRow, read_row
from .domain.keys import SCOPES, ApiKey, make_secret
from .domain.lifecycle import Status, path_from_new
from .domain.metrics import DEFAULT_WINDOW, INTERVALS, Metrics
from .domain.paging import Cursor, sort_key
from .domain.paging import encode as encode_cursor
from .domain.sla import DEFAULT_POLICY, Sla, SlaClock, SlaPolicy
from .domain.ticket import Event, Ticket
from .domain.times import parse_time, utc_seconds
from .domain.validation import (
    total_pages,
    validate_close,
    validate_create,
    validate_filters,
    validate_idempotency_key,
    validate_list,
    validate_update,
)
from .storage.errors import StorageUnavailable
from .storage.port import SlaView, Storage

TICKET_ID_LENGTH = 16
ANALYZE_AFTER = 1_000
"""An import of at least this many tickets refreshes the query planner's statistics."""
DEFER_INDEXES_AFTER = 50_000
"""An import that has written this many tickets, and at least as many as the database
held before it, writes the rest without the tickets' list indexes and then builds them
once (see ``TicketRepository.defer_indexes`` in the storage port): a third less time for
a million tickets."""

History = tuple[dict[str, Any], list[dict[str, Any]]]
"""A ticket as the API's JSON object, and its events' objects, oldest first."""

Change = Callable[[Ticket, datetime], tuple[Ticket, list[Event]]]
"""A domain operation on one ticket at one instant: the new ticket and its events."""

T = TypeVar("T")

log = logging.getLogger("ayra_tickets")


@attrs.frozen
class Written:
    """A ticket just written in the current transaction: ``before`` it (``None`` for a
    create), ``after``, the events of the change (in the order written) and the
    instant of the change."""

    before: Ticket | None
    after: Ticket
    events: tuple[Event, ...]
    now: datetime


Shape = Callable[[Ticket, list[Event], datetime], tuple[Ticket, list[Event]]]
"""Shapes a new ticket before it is written (routing assigns it): the ticket and its
events in, the ticket and its events to write out. Runs in the create's transaction."""

Reaction = Callable[[Written], None]
"""Runs in the transaction after every ticket write of the API (a create, an update, a
close, an assignment, an escalation): an outbox row, a timer, a queued assignment."""

Announce = Callable[[str, Ticket, datetime, str, "Mapping[str, Any] | None"], None]
"""Tells the world of something about a ticket that no write of it records (an SLA
deadline passing while nobody touched it): the event's name (``sla.breached``), the
ticket as it stands, the instant, a key that names this occurrence for good (the same
occurrence announced twice, by a write and by ``run_due``, is delivered once) and the
event's data. Runs in the caller's transaction."""

DuePart = Callable[[datetime], int]
"""One kind of due work (queued assignments, escalations, webhook sends): does what is
due up to the instant given, in transactions of its own, and says how much it did."""


class UnitOfWork:
    """What the services share: the storage, the clock, and the SLA policies read from
    the storage (cached until another connection commits). Every call of a service is
    one :meth:`read` or :meth:`write` of a function that does its work: a storage may
    run it again after a transient failure (see ``Storage.atomic``), so it changes
    nothing outside the database but what it returns (and the policies' cache)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock
        self.tickets = storage.tickets
        self.policies: dict[str, SlaPolicy] = {DEFAULT_POLICY.name: DEFAULT_POLICY}
        self.policy = DEFAULT_POLICY  # the one new tickets get
        self.shapes: list[Shape] = []
        self.reactions: list[Reaction] = []
        self.announcers: list[Announce] = []
        self.due: list[tuple[str, DuePart]] = []
        self.loaders: list[Callable[[], None]] = []
        self._local = threading.local()  # this thread's transaction: its after-commit work

    def policy_for(self, ticket: Ticket) -> SlaPolicy:
        """The policy a ticket was created under (its SLA is computed with it)."""
        return self.policies.get(ticket.clock.policy, DEFAULT_POLICY)

    def now(self) -> datetime:
        return utc_seconds(self.clock.now())

    def answered(self, ticket: Ticket, now: datetime) -> Ticket:
        """A ticket just written, as its writer answers it (inside the transaction): its
        assignee's name and its SLA as of ``now``. What a webhook shows of it too."""
        cached: tuple[Ticket, datetime, Ticket] | None = getattr(self._local, "answered", None)
        if cached is not None and cached[0] is ticket and cached[1] == now:
            return cached[2]  # the writer's answer and a webhook's are one reading
        agent = ticket.assigned_to
        name = None if agent is None else self.storage.agents.name(agent)
        answer = ticket.read_at(self.policy_for(ticket).measure, now, name)
        self._local.answered = (ticket, now, answer)
        return answer

    def read(self, work: Callable[[], T]) -> T:
        """Run ``work`` in one read transaction, and return what it returns."""
        return self.storage.atomic(self._fresh(work))

    def write(self, work: Callable[[], T]) -> T:
        """Run ``work`` in one write transaction, and return what it returns. Threads
        share the engine; a write waits for the database's write lock (other processes
        may be writing too), and while it waits the engine's reads go on.

        What ``work`` hands :meth:`after_commit` runs once the transaction commits, in
        order (never if it rolls back; once, however often the storage ran ``work``).
        A write inside another's ``work`` is part of that one, and so is its
        after-commit work."""
        pending: list[Callable[[], None]] | None = getattr(self._local, "pending", None)
        if pending is not None:  # inside another write: its commit runs what is queued
            mark = len(pending)
            try:
                return self.storage.atomic(self._fresh(work), write=True)
            except BaseException:
                del pending[mark:]  # the savepoint rolled back: so does its work
                self._local.attempt = object()  # and what was known of its state
                raise
        queued: list[Callable[[], None]] = []

        def attempt() -> T:
            queued.clear()  # a retried transaction queues afresh
            self._local.answered = None  # and reads its tickets afresh
            self._local.attempt = object()
            return work()

        self._local.pending = queued
        try:
            result = self.storage.atomic(self._fresh(attempt), write=True)
        finally:
            self._local.pending = None
            self._local.attempt = None
        for callback in queued:
            try:
                callback()
            except Exception:  # committed already: one failing callback stops no other
                log.exception("a callback after a commit failed")
        return result

    def attempt(self) -> object | None:
        """The current write transaction's state, as a token: a new object each time a
        write transaction begins or is run again, and after a write inside it rolls
        back; ``None`` outside a write. A cache kept up to date with a transaction's
        writes tells by it whether they are its own, or those of a transaction that
        has ended, committed or not."""
        return getattr(self._local, "attempt", None)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current write transaction commits (see
        :meth:`write`); outside a write, at once."""
        pending: list[Callable[[], None]] | None = getattr(self._local, "pending", None)
        if pending is None:
            callback()
        else:
            pending.append(callback)

    def insert(self, ticket: Ticket, events: list[Event], now: datetime) -> Ticket:
        """Write a new ticket made by the API (not an import): shaped first (see
        :data:`Shape`), then written, then reacted to. Returns the ticket as written."""
        for shape in self.shapes:
            ticket, events = shape(ticket, events, now)
        self.tickets.insert(ticket, events)
        self._react(Written(None, ticket, tuple(events), now))
        return ticket

    def save(self, before: Ticket, after: Ticket, events: list[Event], now: datetime) -> None:
        """Write a change of a ticket made by the API, then react to it."""
        self.tickets.save(before, after, events)
        self._react(Written(before, after, tuple(events), now))

    def announce(
        self,
        name: str,
        ticket: Ticket,
        now: datetime,
        key: str,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Announce an event about ``ticket`` in the current transaction (see
        :data:`Announce`)."""
        for announcer in self.announcers:
            announcer(name, ticket, now, key, data)

    def _react(self, written: Written) -> None:
        for reaction in self.reactions:
            reaction(written)

    def _fresh(self, work: Callable[[], T]) -> Callable[[], T]:
        """``work``, after reloading the policies (and every other cached configuration,
        see :attr:`loaders`) if another connection has committed since they were
        read."""

        def fresh() -> T:
            if self.storage.changed():
                self.policies, self.policy = self.storage.policies.load()
                self.reload()
            return work()

        return fresh

    def reset(self) -> None:
        """Empty the database: tickets, events, tags, keys, agents, SLA policies."""

        def empty() -> None:
            self.storage.reset()
            self.policies = {DEFAULT_POLICY.name: DEFAULT_POLICY}
            self.policy = DEFAULT_POLICY
            self.reload()

        self.write(empty)

    def reload(self) -> None:
        """Have every cache of what the database holds (see :attr:`loaders`) read it
        afresh, in the caller's transaction: another connection may have changed it, or
        this transaction has written past the reactions (a reset, an import)."""
        for load in self.loaders:
            load()


@attrs.frozen
class Page:
    """One page of a list: ``data`` (tickets) and ``meta`` (total, page, per_page,
    total_pages)."""

    data: list[Ticket]
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"data": [ticket.to_dict() for ticket in self.data], "meta": dict(self.meta)}

    def __iter__(self) -> Iterator[Ticket]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class Tickets:
    """``engine.tickets``: the Ticket API as Python calls.

    Fields and rules are the API's (see the contract). Every method raises a
    :class:`~ayra_tickets.errors.TicketError` subclass when the call is refused, and a
    refused call changes nothing.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def _read(self, ticket: Ticket, now: datetime) -> Ticket:
        return ticket.read_at(self._uow.policy_for(ticket).measure, now, ticket.assigned_name)

    def _view(self, now: datetime) -> SlaView:
        """How tickets read as they are loaded: their SLA as of ``now`` (as of closing, for
        a closed one), under the policy each was created under (as ``_read``)."""
        policies = self._uow.policies

        def view(clock: SlaClock, closed_at: datetime | None) -> Sla:
            calendar = policies.get(clock.policy, DEFAULT_POLICY).measure
            return sla_clock.evaluate(clock, calendar, now if closed_at is None else closed_at)

        return view

    def _load(self, ticket_id: object) -> Ticket:
        """The ticket an id names: its id (``ticket_...``) or its number as the API writes
        it (``TICK-36``, what a list shows first)."""
        number = number_in_label(ticket_id)
        if number is not None:
            ticket = self._uow.tickets.get_number(number)
        elif isinstance(ticket_id, str) and ticket_id.startswith("ticket_"):
            ticket = self._uow.tickets.get(ticket_id)
        else:
            ticket = None
        if ticket is None:
            raise TicketNotFound()
        return ticket

    def _written(self, ticket: Ticket, now: datetime) -> Ticket:
        """A ticket just written, as its writer answers it (see
        :meth:`UnitOfWork.answered`)."""
        return self._uow.answered(ticket, now)

    def create(self, /, *, idempotency_key: str | None = None, **fields: Any) -> Ticket:
        """Create a ticket. Required: ``subject``, ``description``. Optional: ``priority``
        (1-4), ``status`` (new, open, in_progress), ``category``, ``contact_id``,
        ``conversation_id``, ``assigned_to``, ``due_date``, ``tags``, ``custom_fields``,
        ``metadata``.

        ``idempotency_key``: a retry with the same key and the same fields, within 24
        hours of the engine's clock, makes no second ticket and answers the first call's
        ticket exactly as it answered it; the same key with other fields is
        ``IdempotencyKeyReused`` (409). A refused call does not use the key up. Python
        calls share one scope of idempotency keys, apart from every API key's (see
        :meth:`create_as`)."""
        return self._create(fields, idempotency_key, PYTHON_CALLER)

    def create_as(
        self, api_key: ApiKey, /, *, idempotency_key: str | None = None, **fields: Any
    ) -> Ticket:
        """Create a ticket as sent with ``api_key`` (what ``POST /v1/tickets`` does): as
        :meth:`create`, except that the idempotency keys are that API key's own. Another
        API key sending the same one makes its own ticket, and never gets this one's."""
        return self._create(fields, idempotency_key, api_key.id)

    def _create(self, fields: dict[str, Any], idempotency_key: str | None, caller: str) -> Ticket:
        """Create, with ``caller``'s idempotency keys (``PYTHON_CALLER`` or a key's id)."""
        clean = validate_create(fields)
        key = validate_idempotency_key(idempotency_key, "idempotency_key")
        uow = self._uow
        remembered = uow.storage.idempotency

        def create() -> Ticket:
            if key is not None:
                request = _fingerprint(clean)
                cutoff = uow.now() - IDEMPOTENCY_WINDOW
                remembered.forget_before(cutoff)
                seen = remembered.remembered(caller, key, cutoff)
                if seen is not None:
                    if seen[0] != request:
                        raise IdempotencyKeyReused(idempotency_key=key)
                    first = seen[1]
                    return first.read_at(
                        uow.policy_for(first).measure, first.created_at, first.assigned_name
                    )
            number, last = uow.tickets.next_number()
            now = uow.now() if last is None else max(uow.now(), last)
            ticket, events = ops.create(
                "ticket_" + random_token(TICKET_ID_LENGTH), number, clean, now, uow.policy
            )
            ticket = uow.insert(ticket, events, now)
            made = self._written(ticket, now)
            if key is not None:
                remembered.remember(caller, key, request, made, now)
            return made

        return uow.write(create)

    def get(self, ticket_id: str) -> Ticket:
        """One ticket by its id (``ticket_...``) or its number (``TICK-36``)."""
        uow = self._uow
        now, ticket = uow.read(lambda: (uow.now(), self._load(ticket_id)))
        return self._read(ticket, now)

    def update(
        self, ticket_id: str, /, *, expected_version: int | None = None, **fields: Any
    ) -> Ticket:
        """Change only the fields given: ``subject``, ``description``, ``priority``,
        ``status``, ``category``, ``assigned_to``, ``due_date``, ``tags`` (replaces the
        list), ``custom_fields`` (merged), ``internal_note`` (adds a private note).

        ``expected_version``: change the ticket only if it is still at that version
        (else ``VersionMismatch``, 412, and nothing changes): no lost updates."""
        clean = validate_update(fields)
        return self._change(
            ticket_id,
            lambda ticket, now: ops.update(ticket, clean, now, self._uow.policy_for(ticket)),
            _expected(expected_version),
        )

    def close(
        self, ticket_id: str, /, *, expected_version: int | None = None, **fields: Any
    ) -> Ticket:
        """Close a ticket, marking it resolved. Optional: ``resolution_note``,
        ``customer_satisfaction`` (1-10), ``resolution_time`` (minutes), ``root_cause``;
        ``expected_version`` as for :meth:`update`."""
        clean = validate_close(fields)
        return self._change(
            ticket_id,
            lambda ticket, now: ops.close(ticket, clean, now, self._uow.policy_for(ticket)),
            _expected(expected_version),
        )

    def _change(self, ticket_id: str, apply: Change, expected_version: int | None) -> Ticket:
        """Load, check the version, apply a domain operation, save what it changed: one
        transaction."""
        uow = self._uow

        def change() -> Ticket:
            now = uow.now()
            before = self._load(ticket_id)
            if expected_version is not None and before.version != expected_version:
                raise VersionMismatch(expected_version, before.version)
            after, events = apply(before, now)
            if events:
                uow.save(before, after, events, now)
            return self._written(after, now)

        return uow.write(change)

    def list(self, /, **params: Any) -> Page:
        """A page of tickets. Filters: ``status``, ``priority``, ``category``,
        ``assigned_to``, ``contact_id``, ``created_after``, ``created_before``,
        ``due_after``, ``due_before``, ``sla_breach``, ``tags``, ``search``. Sorting:
        ``sort_by``, ``sort_order``. Paging: ``page``, ``per_page``."""
        query = validate_list(params)
        uow = self._uow

        def page() -> tuple[builtins.list[Ticket], bool, dict[str, Any]]:
            now = uow.now()
            if query.cursor is not None:
                # A cursor page does not count: that is what keeps deep pages fast.
                found, more = uow.tickets.after(query, now, self._view(now))
                meta = {
                    "total": None,
                    "page": None,
                    "per_page": query.per_page,
                    "total_pages": None,
                }
                return found, more, meta
            found, total = uow.tickets.list(query, now, self._view(now))
            meta = {
                "total": total,
                "page": query.page,
                "per_page": query.per_page,
                "total_pages": total_pages(total, query.per_page),
            }
            return found, (query.page - 1) * query.per_page + len(found) < total, meta

        found, more, meta = uow.read(page)
        last = found[-1] if found and more else None
        meta["next_cursor"] = (
            None
            if last is None
            else encode_cursor(
                Cursor(sort_key(last, query.sort_by), last.number, query.fingerprint())
            )
        )
        return Page(data=found, meta=meta)

    def import_many(
        self,
        rows: Iterable[Mapping[str, Any]],
        *,
        chunk_size: int = 10_000,
        progress: Callable[[int], None] | None = None,
        resume: bool = False,
    ) -> ImportReport:
        """Create many tickets, each row validated as ``create`` validates it.

        A row is a create body, or a ticket as :meth:`export` writes it: it keeps its
        ``id`` (one that no ticket has), its fields, its status (reached through the
        lifecycle) and, closed, its resolution; its number, times, version and SLA are
        this database's (see :mod:`ayra_tickets.domain.imports`).

        Each chunk of rows is one transaction; rows that fail validation are reported
        and skipped (they use no number). ``progress`` is called with the number of rows
        read after each chunk is committed. If a chunk fails (a full disk, a lock held
        too long), :class:`ImportStopped` says what the chunks before it committed and
        from which row to go on; the failed chunk wrote nothing.

        ``resume=True`` makes the import safe to run again on the same input (after a
        failure, a kill, or to be sure): a row without an id gets one derived from its
        content and from how many identical rows came before it, and a row whose id a
        ticket already has is skipped (``report.skipped``), not refused.

        A big import into a database no bigger than itself builds the tickets' list
        indexes once at the end (see ``DEFER_INDEXES_AFTER``); if it is stopped before,
        they are built when the file is next opened.
        """
        uow = self._uow
        report = ImportReport(0, [])
        held_before = uow.read(uow.tickets.next_number)[0] - 1
        deferred = False
        seen: dict[bytes, int] = {}  # resume: identical rows so far, by content
        done = 0
        try:
            for chunk in _chunks(enumerate(rows), chunk_size):
                valid: builtins.list[tuple[int, ImportRow]] = []
                with _collector_paused():
                    for index, row in chunk:
                        try:
                            read = read_row(row)
                        except ValidationError as error:
                            report.rejected.append(Rejection(index, error.to_dict()["error"]))
                            continue
                        if resume and read.id is None:
                            content = read.fingerprint()
                            occurrence = seen.get(content, 0)
                            seen[content] = occurrence + 1
                            read = attrs.evolve(read, id=read.derived_id(occurrence))
                        valid.append((index, read))
                    if valid:
                        self._create_many(valid, report, resume)
                done += len(chunk)
                if progress is not None:
                    progress(len(chunk))
                if not deferred and report.imported >= max(DEFER_INDEXES_AFTER, held_before):
                    # A big import, at least as big as what was there: the rest is
                    # written without the list indexes, which are then built once.
                    uow.write(uow.tickets.defer_indexes)
                    deferred = True
        except Exception as error:  # the source, the disk, a lock held too long, ...
            raise ImportStopped(report, done, error) from error
        finally:
            report.rejected.sort(key=lambda rejection: rejection.index)
            if deferred:
                self._tidy(uow.tickets.restore_indexes)
        if report.imported >= ANALYZE_AFTER:
            self._tidy(uow.tickets.analyze)  # the planner's statistics, for the new shape
        return report

    def _tidy(self, step: Callable[[], None]) -> None:
        """A step after an import's tickets are committed (building deferred indexes,
        refreshing the planner's statistics): the import stands whether it runs or not,
        so a busy or full database only leaves it for later (the next open builds the
        indexes; a later import or ``engine.close()`` refreshes the statistics)."""
        with contextlib.suppress(StorageUnavailable):
            self._uow.write(step)

    def _create_many(
        self, valid: builtins.list[tuple[int, ImportRow]], report: ImportReport, resume: bool
    ) -> None:
        """Create tickets from validated rows in one transaction, counting them into
        ``report`` once it commits. A row asking for an id that a ticket (or an earlier
        row) has is refused, or with ``resume`` skipped."""
        uow = self._uow

        def create() -> tuple[int, int, builtins.list[Rejection], builtins.list[int]]:
            """The first number and how many tickets were made, the rows refused and the
            rows skipped."""
            accepted: builtins.list[ImportRow] = []
            refused: builtins.list[Rejection] = []
            skipped: builtins.list[int] = []
            taken = uow.tickets.existing_ids([row.id for _, row in valid if row.id])
            for index, row in valid:
                if row.id is not None and row.id in taken:
                    if resume:
                        skipped.append(index)
                        continue
                    error = ParameterInvalid(f"a ticket with id {row.id} exists", param="id")
                    refused.append(Rejection(index, error.to_dict()["error"]))
                    continue
                if row.id is not None:
                    taken.add(row.id)
                accepted.append(row)
            start, previous = uow.tickets.next_number()
            now = uow.now() if previous is None else max(uow.now(), previous)
            make = ops.creator(now, uow.policy)
            built = [
                make(row.id or "ticket_" + random_token(TICKET_ID_LENGTH), start + n, row.fields)
                for n, row in enumerate(accepted)
            ]
            uow.tickets.insert_many(built)
            for (ticket, _), row in zip(built, accepted, strict=True):
                if row.status is not None:
                    self._carry_status(ticket, row, now)
            if accepted:
                uow.reload()  # tickets written without the reactions
            return start, len(accepted), refused, skipped

        start, made, refused, skipped = uow.write(create)
        report.rejected.extend(refused)
        report.skipped.extend(skipped)
        if made:
            report.imported += made
            report.first_number = report.first_number or start
            report.last_number = start + made - 1

    def _carry_status(self, ticket: Ticket, row: ImportRow, now: datetime) -> None:
        """Move an imported ticket, just created, to the status its row had, through the
        lifecycle (its history shows each move), closing it with its resolution."""
        assert row.status is not None
        policy = self._uow.policy_for(ticket)
        for status in path_from_new(row.status):
            if status is Status.CLOSED:
                after, events = ops.close(ticket, row.resolution, now, policy)
            else:
                after, events = ops.update(ticket, {"status": status}, now, policy)
            self._uow.tickets.save(ticket, after, events)
            ticket = after

    def export(self, /, *, chunk_size: int = 1_000, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every ticket matching the list filters, as the API's JSON objects, in number
        order, read a chunk at a time (memory stays flat however many there are). Each
        chunk is read in its own transaction, as of the clock at that moment."""
        query = validate_filters(filters)
        uow = self._uow

        def chunk(after: int) -> tuple[int, builtins.list[dict[str, Any]]]:
            """The next chunk, as JSON, and the last number in it."""
            now = uow.now()
            found = uow.tickets.scan(query, now, after, chunk_size, self._view(now))
            return (found[-1].number if found else after), [ticket.to_dict() for ticket in found]

        return self._in_chunks(chunk)

    def histories(
        self, /, *, chunk_size: int = 1_000
    ) -> Iterator[tuple[dict[str, Any], builtins.list[dict[str, Any]]]]:
        """Every ticket as the API's JSON object, with its history's (the events' objects,
        oldest first), in number order, a chunk at a time (flat memory): what a copy of
        the database compares. Each chunk is read in its own transaction, as of the clock
        then; inside a transaction of the caller's, all of them in that one."""
        uow = self._uow

        def chunk(after: int) -> tuple[int, builtins.list[History]]:
            now = uow.now()
            found = uow.tickets.stored(after, chunk_size)
            last = found[-1].ticket.number if found else after
            return last, [
                (self._read(s.ticket, now).to_dict(), [event.to_dict() for event in s.events])
                for s in found
            ]

        return self._in_chunks(chunk)

    def _in_chunks(self, chunk: Callable[[int], tuple[int, builtins.list[T]]]) -> Iterator[T]:
        """What ``chunk(after)`` reads after each number it returns, until it reads
        nothing: one read transaction a chunk."""
        after = 0
        while True:
            last, page = self._uow.read(functools.partial(chunk, after))
            if not page:
                return
            yield from page
            after = last

    def events(self, ticket_id: str) -> builtins.list[Event]:
        """The ticket's history, oldest first (the ticket by id or ``TICK-N``, as for
        :meth:`get`)."""
        uow = self._uow
        return uow.read(lambda: uow.tickets.events(self._load(ticket_id).number))

    def count(self) -> int:
        """How many tickets there are."""
        return self._uow.read(self._uow.tickets.count)


@attrs.frozen
class Rejection:
    """A row an import refused: its position in the input (from 0) and the API's error."""

    index: int
    error: dict[str, Any]


@attrs.define
class ImportReport:
    """What ``import_many`` did: how many tickets it created (and their numbers), every
    row it refused, with why, and (resuming) the rows it found already imported."""

    imported: int
    rejected: list[Rejection]
    first_number: int | None = None
    last_number: int | None = None
    skipped: list[int] = attrs.field(factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "rejected": [{"index": r.index, "error": r.error} for r in self.rejected],
            "skipped": list(self.skipped),
            "first_number": None if self.first_number is None else f"TICK-{self.first_number}",
            "last_number": None if self.last_number is None else f"TICK-{self.last_number}",
        }


class ImportStopped(Exception):
    """An import failed part-way. ``report`` says what the chunks before the failure
    committed (they stand); ``rows_done`` is how many rows of the input those chunks
    held, so the input's rows from ``rows_done`` on were not imported (run it again with
    ``resume=True`` to go on); the cause is ``__cause__``."""

    def __init__(self, report: ImportReport, rows_done: int, cause: BaseException) -> None:
        super().__init__(
            f"the import stopped at row {rows_done} (counting from 0): {cause};"
            f" {report.imported} tickets from the rows before it were committed"
        )
        self.report = report
        self.rows_done = rows_done


IDEMPOTENCY_WINDOW = timedelta(hours=24)
"""How long an idempotency key is remembered, by the engine's clock."""
PYTHON_CALLER = ""
"""Whose idempotency keys Python calls' are (an API key's are its id's)."""


def _fingerprint(fields: Mapping[str, Any]) -> str:
    """A create's validated fields, canonically: equal bodies, equal fingerprints."""
    text = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _expected(version: object) -> int | None:
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ParameterInvalid(
            "expected_version must be a ticket version, 1 or more", param="expected_version"
        )
    return version


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection for a while: an import allocates hundreds of
    thousands of objects a chunk, none in cycles, and each collection would walk every
    object the program holds (a sixth of an import's time, measured). Collection
    resumes, as it was, after the chunk."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _chunks(items: Iterable[Any], size: int) -> Iterator[builtins.list[Any]]:
    iterator = iter(items)
    while chunk := builtins.list(itertools.islice(iterator, size)):
        yield chunk


METRIC_FILTERS = ("assigned_to", "category", "priority", "contact_id", "tags")
MAX_BUCKETS = 1_000
"""The most days (or weeks) one metrics window may hold."""


class Reports:
    """``engine.metrics(...)``: the support figures of a window of time."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._figures = uow.storage.metrics

    def __call__(
        self, start: Any = None, end: Any = None, *, interval: str = "day", **filters: Any
    ) -> Metrics:
        """The figures of ``[start, end)`` (see :mod:`ayra_tickets.domain.metrics`), over
        the tickets matching ``filters``: ``assigned_to``, ``category``, ``priority``,
        ``contact_id``, ``tags`` (as for lists). ``interval``: ``"day"`` or ``"week"``.
        ``end`` defaults to the engine's now (to the second), ``start`` to
        :data:`~ayra_tickets.domain.metrics.DEFAULT_WINDOW` (30 days) before ``end``:
        ``engine.metrics()`` is the last 30 days."""
        unknown = sorted(set(filters) - set(METRIC_FILTERS))
        if unknown:
            raise ParameterUnknown(f"Unknown parameter: {unknown[0]}", param=unknown[0])
        query = validate_list(filters)
        last = self._uow.now() if end is None else parse_time(end, "end")
        first = last - DEFAULT_WINDOW if start is None else parse_time(start, "start")
        if last <= first:
            raise ParameterInvalid("end must be after start", param="end")
        if interval not in INTERVALS:
            raise ParameterInvalid(
                f"interval must be one of {', '.join(INTERVALS)}", param="interval"
            )
        days = (last - first).days
        if (days if interval == "day" else days // 7) > MAX_BUCKETS:
            raise ParameterInvalid(
                f"the window holds more than {MAX_BUCKETS} {interval}s; narrow it or use weeks",
                param="end",
            )
        uow = self._uow

        def figures() -> Metrics:
            policies = uow.policies

            def calendar(name: str) -> sla_clock.Calendar:
                return policies.get(name, DEFAULT_POLICY).measure

            office_hours = [
                name
                for name, policy in policies.items()
                if not isinstance(policy.measure, sla_clock.AlwaysOpen)
            ]
            return self._figures.figures(
                query, first, last, interval, uow.now(), calendar, office_hours
            )

        return uow.read(figures)

    def backlog(self, at: Any = None, **filters: Any) -> dict[str, dict[int, int]]:
        """Tickets by status, then priority, as they stood at ``at`` (default: now), over
        the tickets matching ``filters`` (as for a call)."""
        unknown = sorted(set(filters) - set(METRIC_FILTERS))
        if unknown:
            raise ParameterUnknown(f"Unknown parameter: {unknown[0]}", param=unknown[0])
        query = validate_list(filters)
        uow = self._uow

        def backlog() -> dict[str, dict[int, int]]:
            now = uow.now()
            moment = now if at is None else parse_time(at, "at")
            return self._figures.backlog(query, moment, now)

        return uow.read(backlog)


class SlaSettings:
    """``engine.sla``: the SLA policy that new tickets get, stored in the database.

    ``engine.sla.configure(SlaPolicy(...))`` stores a policy under its name and makes it
    the one new tickets get. A ticket keeps the policy it was created under; configuring
    a policy again under the same name changes the targets and calendar of its tickets
    from their next change on (their stored deadlines are recomputed when their clock
    next moves: a priority change, a pause ending, a reopen).
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def configure(self, policy: SlaPolicy) -> SlaPolicy:
        if not isinstance(policy, SlaPolicy):
            raise TypeError(f"configure takes an SlaPolicy, not {type(policy).__name__}")
        uow = self._uow
        stored = uow.storage.policies

        def configure() -> SlaPolicy:
            stored.put(policy, uow.now())
            uow.policies, uow.policy = stored.load()
            return uow.policy

        return uow.write(configure)

    @property
    def policy(self) -> SlaPolicy:
        """The policy new tickets get."""
        return self._uow.read(lambda: self._uow.policy)

    @property
    def policies(self) -> dict[str, SlaPolicy]:
        """Every stored policy by name (the built-in default included)."""
        return self._uow.read(lambda: dict(self._uow.policies))


KEYS_KEPT = 1_024
"""The most keys an engine keeps found between requests."""


class Keys:
    """``engine.keys``: API keys for the wire layer, stored as salted, stretched digests
    (see :mod:`ayra_tickets.domain.keys`). A key found is kept, with the storage's
    commit mark, until another connection commits or this engine revokes a key (where
    the storage has no mark, as on PostgreSQL, every check reads): a request's check
    then takes no transaction, and a revocation anywhere is still seen by the next."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        # Keys found lately, by digest, with the storage's commit mark when found: while
        # no other connection has committed and this engine has revoked no key, a key
        # is what it was, and a request's check needs no transaction of its own.
        self._found: dict[str, tuple[object, ApiKey]] = {}
        self._forgotten = 0  # how often they were forgotten: a key read before is not kept
        uow.loaders.append(self._forget)

    def _forget(self) -> None:
        self._forgotten += 1
        self._found.clear()

    def create(
        self, scopes: Iterable[str] = SCOPES, name: str | None = None, secret: str | None = None
    ) -> str:
        """Create a key and return its secret (``sk_test_...``); it is not stored and
        cannot be shown again. ``secret`` chooses it instead (16 to 200 letters, digits
        and underscores, used by no other key), so that code written against a fixed key,
        such as the reference's ``sk_live_abc123xyz789``, runs unchanged in tests. A
        listing shows nothing of a chosen secret (its ``prefix`` is the key's id)."""
        listed = () if isinstance(scopes, str) else tuple(scopes)
        if not listed or not all(isinstance(scope, str) and scope in SCOPES for scope in listed):
            raise ParameterInvalid(
                f"scopes must be a non-empty list of {', '.join(SCOPES)}", param="scopes"
            )
        granted = tuple(dict.fromkeys(listed))
        if name is not None and not isinstance(name, str):
            raise ParameterInvalid("name must be a string", param="name")
        if secret is not None and not (
            isinstance(secret, str) and re.fullmatch(r"[A-Za-z0-9_]{16,200}", secret)
        ):
            raise ParameterInvalid(
                "secret must be 16 to 200 letters, digits and underscores", param="secret"
            )
        uow = self._uow
        chosen_secret = secret is not None
        secret = secret if secret is not None else make_secret()
        # Stretched before the write lock is taken: other writers need not wait on it.
        keys = uow.storage.keys
        digest = keys.digest(secret)

        def create() -> None:
            if chosen_secret and digest is not None and keys.exists(digest):
                raise ParameterInvalid("another key already has this secret", param="secret")
            keys.create(granted, name, uow.now(), secret, chosen=chosen_secret)

        uow.write(create)  # what is kept stays true: refusals are never kept
        return secret

    def authenticate(self, secret: str) -> ApiKey | None:
        """The live key with this secret, or ``None``."""
        uow = self._uow
        keys = uow.storage.keys
        # Stretched (the first time this process sees the secret) outside the engine's
        # lock, so that other calls go on meanwhile; then one indexed query.
        digest = keys.digest(secret)
        if digest is None:
            return None
        forgotten = self._forgotten
        mark = uow.storage.commit_mark()
        if mark is not None:
            seen = self._found.get(digest)
            if seen is not None and seen[0] == mark:
                return seen[1]
        found = uow.read(lambda: keys.find(digest))
        if found is not None and mark is not None and self._forgotten == forgotten:
            if len(self._found) >= KEYS_KEPT:
                self._found.clear()
            self._found[digest] = (mark, found)
        return found

    def list(self) -> builtins.list[ApiKey]:
        """Every key, live or revoked, oldest first (no secrets)."""
        return self._uow.read(self._uow.storage.keys.all)

    def forget_digests(self) -> None:
        """Forget the digests of the secrets this process has seen lately, so that the
        next authentication stretches its secret anew, as a new process would (for
        tests and benchmarks of the stretching)."""
        self._uow.storage.keys.forget_digests()

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by its id or its prefix; True if a live key was revoked. A prefix
        that several live keys share is refused (name the key by its id)."""
        uow = self._uow
        keys = uow.storage.keys

        def revoke() -> bool:
            if keys.live_matches(key_id) > 1:
                raise ParameterInvalid(
                    f"{key_id} is the prefix of several keys; revoke by the key's id",
                    param="key",
                )
            return keys.revoke(key_id, uow.now())

        try:
            return uow.write(revoke)
        finally:
            self._forget()
