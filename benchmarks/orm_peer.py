"""The ORM peer: the same tickets in plain SQLAlchemy 2, as a developer would write them.

This is the store a competent Python developer would write instead of ayra-tickets, and
the benchmark measures the engine beside it. It is written the way the SQLAlchemy 2.0
documentation shows, with no tuning either way:

- the models are ``DeclarativeBase`` classes with ``Mapped[...]`` / ``mapped_column``,
  datetimes stored as naive UTC through the docs' ``TZDateTime`` recipe, JSON columns
  for tags, custom fields and metadata, and the SLA deadlines as plain columns;
- ``version`` is the mapper's ``version_id_col``: the ORM raises it on every UPDATE and
  checks it in the UPDATE's WHERE clause (optimistic concurrency, as the docs configure it);
- the SQLite settings are made in an engine ``"connect"`` event, as the docs show: WAL,
  ``synchronous=NORMAL`` and foreign keys, plus the engine's own page cache size, so
  that the two sides differ in what they write, not in their configuration;
- each operation is one ``with Session.begin()`` transaction, queries are ``select()``,
  and the bulk insert is ``session.execute(insert(Ticket), [dicts])``, the ORM bulk
  INSERT the docs recommend;
- every change appends ONE ``TicketEvent`` (created, updated, closed) with a JSON payload.

The ticket ``number`` is the table's ``INTEGER PRIMARY KEY`` (SQLite's rowid), so each
insert gets ``max(number) + 1`` from SQLite inside its own transaction, as an ORM's
autoincrement key does; the public ``id`` is unique, and event rows refer to it. Three
secondary indexes on ``tickets``, each for list filters the benchmark runs:

- ``(status, created_at)``: every ``status=`` list, alone or with priority, an assignee,
  SLA breach, tags, a due date or a search, in the default newest-first order;
- ``(assigned_to, created_at)``: the lists of one agent's tickets;
- ``(created_at)``: the unfiltered list (the newest tickets first) and the
  ``created_after`` / ``created_before`` range, and the order of every other filter.

Filters without an index of their own (``contact_id``, ``category``, ``sla_breach``,
``tags``, ``search``, ``due_*``) scan, as they would in such an application: ``tags`` is
a correlated ``EXISTS`` over SQLite's ``json_each`` on the JSON column (the docs'
table-valued function), exact and case-sensitive; ``search`` is a ``LIKE`` substring
match per word on the subject or the description (case-insensitive for ASCII only).
``ticket_events`` has no index besides its key: events are only appended here (reading a
ticket's history would want ``index=True`` on ``ticket_id``, one more b-tree a change).

What the peer leaves out (the engine does these; a developer's first version would not):
request validation, the lifecycle's transition table, SLA pauses and business calendars,
idempotency keys, agent names, a search index. Its writes are leaner for it.

``python -m benchmarks.orm_peer --tickets N`` times the peer alone; the benchmark
command runs it beside the engine and raw ``sqlite3``.
"""

from __future__ import annotations

import builtins
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    Index,
    String,
    Text,
    and_,
    create_engine,
    event,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    WriteOnlyMapped,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

PAGE_CACHE_KIB = 65_536
"""The engine's page cache (64 MiB); the peer gets the same."""

SLA_TARGETS: dict[int, tuple[timedelta, timedelta]] = {
    1: (timedelta(hours=1), timedelta(hours=4)),
    2: (timedelta(hours=8), timedelta(days=2)),
    3: (timedelta(days=2), timedelta(days=5)),
    4: (timedelta(days=7), timedelta(days=14)),
}
"""First response and resolution targets by priority: the engine's default policy."""

PRIORITY_LABELS = {1: "Critical", 2: "High", 3: "Normal", 4: "Low"}
PAUSED = frozenset({"waiting_on_customer", "waiting_on_third_party", "resolved", "closed"})
UPDATABLE = frozenset(
    {"subject", "description", "priority", "status", "category", "assigned_to", "due_date",
     "tags", "custom_fields"}
)  # fmt: skip
CLOSE_FIELDS = ("resolution_note", "customer_satisfaction", "resolution_time", "root_cause")
SORTS = ("created_at", "updated_at", "due_date", "priority")


class TZDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as naive UTC (the SQLAlchemy docs' recipe)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None:
            if value.tzinfo is None or value.utcoffset() is None:
                raise TypeError("tzinfo is required")
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: TZDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Ticket(Base):
    """One support ticket: the API's ticket object as one row."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_created_at", "status", "created_at"),
        Index("ix_tickets_assigned_to_created_at", "assigned_to", "created_at"),
        Index("ix_tickets_created_at", "created_at"),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
    )

    number: Mapped[int] = mapped_column(primary_key=True)  # the rowid: max + 1 on insert
    id: Mapped[str] = mapped_column(String(40), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int]
    category: Mapped[str | None] = mapped_column(String(100))
    contact_id: Mapped[str | None] = mapped_column(String(255))
    conversation_id: Mapped[str | None] = mapped_column(String(255))
    assigned_to: Mapped[str | None] = mapped_column(String(255))
    due_date: Mapped[datetime | None]
    tags: Mapped[list[str]]
    custom_fields: Mapped[dict[str, Any]]
    # ``metadata`` is the declarative base's own attribute; the column keeps the name
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    resolution_note: Mapped[str | None] = mapped_column(Text)
    customer_satisfaction: Mapped[int | None]
    resolution_time: Mapped[int | None]
    root_cause: Mapped[str | None] = mapped_column(String(100))
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(default=0)
    response_due_at: Mapped[datetime]
    resolution_due_at: Mapped[datetime]
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # write-only: appending an event never loads the ticket's history
    events: WriteOnlyMapped[TicketEvent] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def response_met(self, now: datetime) -> bool | None:
        if self.first_response_at is not None:
            return self.first_response_at <= self.response_due_at
        return False if now > self.response_due_at else None

    def resolution_met(self) -> bool | None:
        if self.resolved_at is None:
            return None
        return self.resolved_at <= self.resolution_due_at

    def breached(self, now: datetime) -> bool:
        resolution_missed = (
            self.resolved_at > self.resolution_due_at
            if self.resolved_at is not None
            else now > self.resolution_due_at
        )
        return self.response_met(now) is False or resolution_missed

    def to_dict(self, now: datetime) -> dict[str, Any]:
        """The API's ticket object (the SLA as of ``now``, frozen at the close)."""
        at = self.closed_at or now
        return {
            "id": self.id,
            "number": f"TICK-{self.number}",
            "subject": self.subject,
            "description": self.description,
            "priority": self.priority,
            "priority_label": PRIORITY_LABELS[self.priority],
            "status": self.status,
            "category": self.category,
            "contact_id": self.contact_id,
            "conversation_id": self.conversation_id,
            "assigned_to": self.assigned_to,
            "due_date": _iso(self.due_date),
            "tags": self.tags,
            "custom_fields": self.custom_fields,
            "metadata": self.metadata_,
            "resolution_note": self.resolution_note,
            "customer_satisfaction": self.customer_satisfaction,
            "resolution_time": self.resolution_time,
            "root_cause": self.root_cause,
            "sla": {
                "policy": "default",
                "response_due_at": _iso(self.response_due_at),
                "resolution_due_at": _iso(self.resolution_due_at),
                "response_met": self.response_met(at),
                "resolution_met": self.resolution_met(),
                "breached": self.breached(at),
                "paused": self.status in PAUSED,
            },
            "first_response_at": _iso(self.first_response_at),
            "reopened_count": self.reopened_count,
            "version": self.version,
            "resolved_at": _iso(self.resolved_at),
            "closed_at": _iso(self.closed_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


class TicketEvent(Base):
    """One change of a ticket: ``created``, ``updated`` or ``closed``, with its payload."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"))  # known before insert
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _time(value: datetime | str | None) -> datetime | None:
    """A time from the API's text (``2025-01-15T09:00:00Z``) or a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _jsonable(value: Any) -> Any:
    return _iso(value) if isinstance(value, datetime) else value


def _payload(body: Mapping[str, Any]) -> dict[str, Any]:
    """A create body as the ``created`` event's JSON."""
    return {name: _jsonable(value) for name, value in body.items()}


def _values(body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A new ticket's column values from a create body (SQLite numbers it)."""
    priority = body.get("priority", 3)
    status = body.get("status", "new")
    response, resolution = SLA_TARGETS[priority]
    return {
        "id": f"ticket_{secrets.token_hex(8)}",
        "subject": body["subject"],
        "description": body["description"],
        "status": status,
        "priority": priority,
        "category": body.get("category"),
        "contact_id": body.get("contact_id"),
        "conversation_id": body.get("conversation_id"),
        "assigned_to": body.get("assigned_to"),
        "due_date": _time(body.get("due_date")),
        "tags": list(body.get("tags", [])),
        "custom_fields": dict(body.get("custom_fields", {})),
        "metadata_": dict(body.get("metadata", {})),
        # created as open or in progress, it is answered at creation (as in the engine)
        "first_response_at": None if status == "new" else now,
        "response_due_at": now + response,
        "resolution_due_at": now + resolution,
        "reopened_count": 0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


class TicketNotFound(LookupError):
    """No ticket has this id."""


class TicketClosed(Exception):
    """A closed ticket takes no change but a reopen, and no second close."""


def _open_engine(path: str | Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def set_sqlite_pragma(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        cursor.close()

    return engine


class OrmPeer:
    """The peer's store on one SQLite file: create, get, update, close, list, bulk insert.

    ``clock`` gives "now" (the benchmark passes its manual clock's ``now``). Each call
    is one transaction and returns the API's ticket object as a dict. The calls mirror
    the engine's: ``engine.tickets.create(**body)`` is ``peer.create(body)``,
    ``update(id, **fields)`` is ``update(id, fields)``, ``list(**params)`` is
    ``list(params)`` (page and total; no cursors), ``import_many(bodies, chunk_size=n)``
    is ``bulk_insert(bodies, n)``.
    """

    def __init__(self, path: str | Path, clock: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.engine = _open_engine(self.path)
        Base.metadata.create_all(self.engine)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        """Close the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> OrmPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        now = self.clock()
        with self.Session.begin() as session:
            ticket = Ticket(**_values(body, now))
            ticket.events.add(TicketEvent(type="created", payload=_payload(body), created_at=now))
            session.add(ticket)
        return ticket.to_dict(now)

    def get(self, ticket_id: str) -> dict[str, Any]:
        with self.Session.begin() as session:
            ticket = _load(session, ticket_id)
        return ticket.to_dict(self.clock())

    def update(self, ticket_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Set the fields sent; a change raises ``version`` (the ORM's version counter)
        and writes one ``updated`` event with each field's old and new value. Sending
        only values the ticket already has changes nothing."""
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        now = self.clock()
        with self.Session.begin() as session:
            ticket = _load(session, ticket_id)
            if ticket.status == "closed" and fields.get("status") != "reopened":
                raise TicketClosed(ticket_id)
            changes: dict[str, list[Any]] = {}
            for name, sent in fields.items():
                value = sent
                if name == "due_date":
                    value = _time(sent)
                elif name == "custom_fields":  # merged; a key sent as None is removed
                    merged = {**ticket.custom_fields, **sent}
                    value = {key: v for key, v in merged.items() if v is not None}
                old = getattr(ticket, name)
                if value != old:
                    changes[name] = [_jsonable(old), _jsonable(value)]
                    setattr(ticket, name, value)
            if not changes:
                return ticket.to_dict(now)
            if "status" in changes:
                _moved(ticket, now)
            if "priority" in changes:
                response, resolution = SLA_TARGETS[ticket.priority]
                ticket.response_due_at = ticket.created_at + response
                ticket.resolution_due_at = ticket.created_at + resolution
            ticket.updated_at = now
            ticket.events.add(TicketEvent(type="updated", payload=changes, created_at=now))
        return ticket.to_dict(now)

    def close(self, ticket_id: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Close a ticket with its resolution details; one ``closed`` event."""
        details = {name: value for name, value in (fields or {}).items() if value is not None}
        unknown = set(details) - set(CLOSE_FIELDS)
        if unknown:
            raise ValueError(f"not a close field: {', '.join(sorted(unknown))}")
        now = self.clock()
        with self.Session.begin() as session:
            ticket = _load(session, ticket_id)
            if ticket.status == "closed":
                raise TicketClosed(ticket_id)
            ticket.status = "closed"
            _moved(ticket, now)
            for name, value in details.items():
                setattr(ticket, name, value)
            ticket.updated_at = now
            payload = {**details, "closed_at": _iso(now)}
            ticket.events.add(TicketEvent(type="closed", payload=payload, created_at=now))
        return ticket.to_dict(now)

    def bulk_insert(self, bodies: Sequence[Mapping[str, Any]], chunk_size: int = 10_000) -> int:
        """Insert many tickets, ``chunk_size`` to a transaction, each with its ``created``
        event, through the ORM's bulk INSERT. Returns how many were inserted."""
        now = self.clock()
        for start in range(0, len(bodies), chunk_size):
            chunk = bodies[start : start + chunk_size]
            with self.Session.begin() as session:
                rows = [_values(body, now) for body in chunk]
                session.execute(insert(Ticket), rows)
                session.execute(
                    insert(TicketEvent),
                    [
                        {"ticket_id": row["id"], "type": "created", "payload": _payload(body),
                         "created_at": now}
                        for row, body in zip(rows, chunk, strict=True)
                    ],
                )  # fmt: skip
        return len(bodies)

    def ids(self, status: str | None = None) -> builtins.list[str]:
        """Every ticket's id in number order (of one status, if given)."""
        query = select(Ticket.id).order_by(Ticket.number)
        if status is not None:
            query = query.where(Ticket.status == status)
        with self.Session.begin() as session:
            return builtins.list(session.scalars(query))

    def bytes_per_ticket(self) -> float:
        """The file's size (after a checkpoint folds the WAL into it) per ticket."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        with self.Session.begin() as session:
            count = session.scalar(select(func.count()).select_from(Ticket)) or 0
        size = sum(
            file.stat().st_size
            for file in (self.path, self.path.with_name(self.path.name + "-wal"))
            if file.exists()
        )
        return size / count if count else 0.0

    def list(
        self, filters: Mapping[str, Any] | None = None, page: int = 1, per_page: int = 25
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        """One page of tickets matching ``filters`` (the API's list parameters where
        simple: statuses, priorities, category, assignee, contact, created and due
        ranges, SLA breach, tags, search, sort), and how many match in all."""
        filters = dict(filters or {})
        now = self.clock()
        conditions = _conditions(filters, now)
        order = _order(filters.get("sort_by", "created_at"), filters.get("sort_order", "desc"))
        query = (
            select(Ticket)
            .where(*conditions)
            .order_by(*order)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        with self.Session.begin() as session:
            total = session.scalar(select(func.count()).select_from(Ticket).where(*conditions))
            rows = [ticket.to_dict(now) for ticket in session.scalars(query)]
        return rows, total or 0


def _load(session: Session, ticket_id: str) -> Ticket:
    ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id)).one_or_none()
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def _moved(ticket: Ticket, now: datetime) -> None:
    """What a status move sets: the first response, the resolution, the close; a reopen
    clears the last two and counts itself."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    if ticket.status == "resolved":
        ticket.resolved_at = now
    elif ticket.status == "closed":
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif ticket.status == "reopened":
        ticket.resolved_at = ticket.closed_at = None
        ticket.reopened_count += 1


def _several(value: Any) -> list[str]:
    """A list parameter: comma-separated text, or already a list."""
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, Iterable):
        return [str(item) for item in value]
    return [str(value)]


_WORDS = re.compile(r"[^\W_]+")


def _conditions(filters: Mapping[str, Any], now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if "status" in filters:
        conditions.append(Ticket.status.in_(_several(filters["status"])))
    if "priority" in filters:
        conditions.append(Ticket.priority.in_([int(p) for p in _several(filters["priority"])]))
    for name in ("category", "assigned_to", "contact_id"):
        if name in filters:
            conditions.append(getattr(Ticket, name) == filters[name])
    if "created_after" in filters:
        conditions.append(Ticket.created_at >= _time(filters["created_after"]))
    if "created_before" in filters:
        conditions.append(Ticket.created_at < _time(filters["created_before"]))
    if "due_after" in filters:
        conditions.append(Ticket.due_date >= _time(filters["due_after"]))
    if "due_before" in filters:
        conditions.append(Ticket.due_date < _time(filters["due_before"]))
    if "sla_breach" in filters:
        breached = _breached(now)
        conditions.append(breached if _true(filters["sla_breach"]) else ~breached)
    for tag in _several(filters["tags"]) if "tags" in filters else []:
        tags = func.json_each(Ticket.tags).table_valued("value")
        conditions.append(exists().select_from(tags).where(tags.c.value == tag))
    if "search" in filters:
        words = _WORDS.findall(filters["search"])
        conditions += [
            or_(
                Ticket.subject.contains(word, autoescape=True),
                Ticket.description.contains(word, autoescape=True),
            )
            for word in words
        ] or [Ticket.id.is_(None)]  # no words: nothing matches
    return conditions


def _true(value: Any) -> bool:
    return value is True or value == "true"


def _breached(now: datetime) -> ColumnElement[bool]:
    """Breached as of ``now``: a deadline passed without its answer, or met late."""
    return or_(
        and_(Ticket.first_response_at.is_(None), Ticket.response_due_at < now),
        and_(
            Ticket.first_response_at.is_not(None),
            Ticket.first_response_at > Ticket.response_due_at,
        ),
        and_(Ticket.resolved_at.is_(None), Ticket.resolution_due_at < now),
        and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at > Ticket.resolution_due_at),
    )


def _order(sort_by: str, sort_order: str) -> list[Any]:
    """The page's order; ties broken by the number, so pages never overlap."""
    if sort_by not in SORTS:
        raise ValueError(f"cannot sort by {sort_by}")
    column, number = getattr(Ticket, sort_by), Ticket.number
    if sort_order == "asc":
        first = column.asc()
        tie = number.asc()
    else:
        first, tie = column.desc(), number.desc()
    # tickets without a due date come last either way, as in the API
    return [first.nulls_last() if sort_by == "due_date" else first, tie]


def build_read_store(
    path: str | Path, work: Sequence[Mapping[str, Any]], start: datetime, slices: int = 100
) -> datetime:
    """The benchmark's read dataset, made as ``build_read_database`` makes the engine's:
    the bodies imported in ``slices`` two hours apart, then the same sample of open
    tickets (the same seed, in number order) moved on to waiting, resolved or closed, read
    a day after the last slice. Returns that moment."""
    import random

    now = start
    with OrmPeer(path, clock=lambda: now) as peer:
        size = -(-len(work) // slices)
        for first in range(0, len(work), size):
            peer.bulk_insert(work[first : first + size])
            now += timedelta(hours=2)
        moves = random.Random(11)
        sample = peer.ids(status="open")
        for ticket_id in moves.sample(sample, k=min(len(sample) // 10, 3_000)):
            move = moves.choice(("waiting_on_customer", "resolved", "close"))
            if move == "close":
                peer.close(ticket_id, {"customer_satisfaction": moves.randint(1, 10)})
            else:
                peer.update(ticket_id, {"status": move})
    return now + timedelta(days=1)


def main() -> None:
    """Time the peer alone: creates, updates, closes, gets, lists and a bulk insert."""
    import argparse
    import tempfile
    import time
    from functools import partial

    from benchmarks.workload import CLOSE_BODY, LIST_MIX, START, UPDATE_BODY, bodies

    parser = argparse.ArgumentParser(prog="python -m benchmarks.orm_peer", description=main.__doc__)
    parser.add_argument("--tickets", type=int, default=2_000)
    args = parser.parse_args()
    work = bodies(args.tickets)

    def rate(label: str, calls: Iterable[Callable[[], object]]) -> None:
        began, count = time.perf_counter(), 0
        for call in calls:
            call()
            count += 1
        print(f"{label:28} {count / (time.perf_counter() - began):9,.0f} per s")

    with tempfile.TemporaryDirectory() as folder:
        with OrmPeer(Path(folder) / "singles.db", clock=lambda: START) as peer:
            rate("create", (partial(peer.create, body) for body in work))
            ids = peer.ids()
            rate("update", (partial(peer.update, i, UPDATE_BODY) for i in ids))
            rate("close", (partial(peer.close, i, CLOSE_BODY) for i in ids))
            rate("get", (partial(peer.get, i) for i in ids))
            print(f"{'bytes per ticket':28} {peer.bytes_per_ticket():9,.0f}")
        with OrmPeer(Path(folder) / "bulk.db", clock=lambda: START) as peer:
            began = time.perf_counter()
            peer.bulk_insert(work)
            print(f"{'bulk insert':28} {len(work) / (time.perf_counter() - began):9,.0f} per s")
            for filters in LIST_MIX:
                rate(f"list {filters}"[:28], (partial(peer.list, filters) for _ in range(20)))


if __name__ == "__main__":
    main()
