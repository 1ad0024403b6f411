"""The PostgreSQL schema, created and upgraded by numbered migrations.

The same logical tables as the SQLite file, in PostgreSQL's own types: ``timestamptz``
for instants, ``json`` for what the API shows as it was sent (a ticket's objects and
its events' values: ``json`` keeps their text, and so the order of their keys, where
``jsonb`` would reorder them), ``jsonb`` for the SLA policies, ``text[]`` for lists, ``boolean``
for flags, a ``tsvector`` with a GIN index for search (see :mod:`.search`), and a
one-row counter for the gapless ticket number.

A database starts at the SQLite schema's current version in one step: migration
``0014_postgres_baseline`` makes what SQLite's migrations 1 to 14 made. Migrations after
it are numbered on both backends alike (a ``0015_...`` here for SQLite's ``0015_...``),
so that :data:`SCHEMA_VERSION` means the same on both.

Applied migrations are recorded in ``ayra_migrations`` (the counterpart of SQLite's
``_sqlite_migrations``), per migration set. A database holding a migration this
release does not know was written by a newer release: it is refused, untouched. The
tables live in the connection's current schema (the first of its ``search_path``), so
one database can hold several ticket databases, one a schema.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg

from ..errors import NewerSchema, NotATicketDatabase

Connection = psycopg.Connection[Any]
Migration = Callable[[Connection], None]

SCHEMA_VERSION = 19
"""The number of the latest migration, as on SQLite; a database past it is from a newer
release."""

MIGRATION_SET = "ayra_tickets"
MIGRATIONS_TABLE = "ayra_migrations"

UPGRADE_LOCK = 0x61797261_7469636B
"""The transaction-level advisory lock an upgrade holds (``ayraticks`` in ASCII): one
process upgrades a database at a time, the others wait, then find nothing to do."""

_MIGRATIONS: list[tuple[str, Migration]] = []


def migration(name: str) -> Callable[[Migration], Migration]:
    """Register a migration under ``name`` (``NNNN_what_it_does``), after the others."""

    def register(function: Migration) -> Migration:
        assert all(known != name for known, _ in _MIGRATIONS), name
        _MIGRATIONS.append((name, function))
        return function

    return register


STATUSES = (
    "new",
    "open",
    "in_progress",
    "waiting_on_customer",
    "waiting_on_third_party",
    "resolved",
    "closed",
    "reopened",
)
"""The statuses a ticket can be in when the baseline was written (a later migration that
adds one widens the checks)."""


def _statuses_check(column: str) -> str:
    return f"CHECK ({column} IN ({', '.join(repr(s) for s in STATUSES)}))"


_BASELINE_TABLES = (
    f"""
    CREATE TABLE tickets (
        number bigint PRIMARY KEY CHECK (number > 0),
        id text NOT NULL UNIQUE,
        subject text NOT NULL,
        description text NOT NULL,
        priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
        status text NOT NULL {_statuses_check("status")},
        category text,
        contact_id text,
        conversation_id text,
        assigned_to text,
        due_date timestamptz,
        tags text[] NOT NULL DEFAULT '{{}}',
        custom_fields json NOT NULL DEFAULT '{{}}',
        metadata json NOT NULL DEFAULT '{{}}',
        resolution_note text,
        customer_satisfaction smallint,
        resolution_time integer,
        root_cause text,
        first_response_at timestamptz,
        resolved_at timestamptz,
        closed_at timestamptz,
        reopened_count integer NOT NULL DEFAULT 0,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        sla_policy text NOT NULL,
        sla_response_target bigint NOT NULL,
        sla_resolution_target bigint NOT NULL,
        sla_response_due_at timestamptz NOT NULL,
        sla_resolution_due_at timestamptz NOT NULL,
        sla_paused_since timestamptz,
        sla_paused_seconds bigint NOT NULL DEFAULT 0,
        sla_response_met boolean,
        sla_resolution_met boolean,
        sla_resolution_missed_at timestamptz,
        sla_breach_at timestamptz,
        search tsvector NOT NULL DEFAULT ''
    )
    """,
    # The last number given out, and the latest creation time so far: taken and raised
    # in the transaction that inserts the ticket (see NEXT_NUMBER).
    """
    CREATE TABLE ticket_counter (
        single boolean PRIMARY KEY DEFAULT true CHECK (single),
        last_number bigint NOT NULL CHECK (last_number >= 0),
        last_created_at timestamptz
    )
    """,
    "INSERT INTO ticket_counter (single, last_number) VALUES (true, 0)",
    # A tag row carries its ticket's status, so that a tag and a status are counted from
    # one index; the repository rewrites them when the status changes.
    f"""
    CREATE TABLE ticket_tags (
        tag text NOT NULL,
        ticket_number bigint NOT NULL REFERENCES tickets (number),
        status text NOT NULL {_statuses_check("status")},
        PRIMARY KEY (tag, ticket_number)
    )
    """,
    # Identity, not a sequence of gapless numbers: event ids are unique and ascend in a
    # ticket's history (its writes are serialised by the ticket's row lock); a rolled
    # back write may leave a gap. BY DEFAULT, so that a copy keeps the ids it copies.
    """
    CREATE TABLE ticket_events (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        ticket_number bigint NOT NULL REFERENCES tickets (number),
        ticket_id text NOT NULL,
        version integer NOT NULL,
        type text NOT NULL,
        field text,
        old_value json,
        new_value json,
        data json,
        created_at timestamptz NOT NULL
    )
    """,
    # Each stretch of a ticket's life in one status and priority (SQLite keeps Unix
    # seconds; instants here).
    f"""
    CREATE TABLE ticket_states (
        ticket_number bigint NOT NULL REFERENCES tickets (number),
        version integer NOT NULL,
        began timestamptz NOT NULL,
        ended timestamptz,
        status text NOT NULL {_statuses_check("status")},
        priority smallint NOT NULL,
        resolves boolean NOT NULL DEFAULT false,
        closes boolean NOT NULL DEFAULT false,
        PRIMARY KEY (ticket_number, version)
    )
    """,
    "CREATE TABLE agents (id text PRIMARY KEY, name text NOT NULL)",
    # ``seq`` keeps the order keys were made in, which listings follow (SQLite's rowid).
    """
    CREATE TABLE api_keys (
        id text PRIMARY KEY,
        seq bigint GENERATED BY DEFAULT AS IDENTITY UNIQUE,
        name text,
        prefix text NOT NULL,
        secret_hash text NOT NULL UNIQUE,
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz
    )
    """,
    """
    CREATE TABLE sla_policies (
        name text PRIMARY KEY,
        targets jsonb NOT NULL,
        calendar jsonb,
        updated_at timestamptz NOT NULL
    )
    """,
    "CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL)",
    # ``owner``: the API key's id, or '' for calls made in Python; ``ticket_row`` the
    # ticket as created.
    """
    CREATE TABLE idempotency_keys (
        owner text NOT NULL,
        key text NOT NULL,
        request text NOT NULL,
        ticket_row json NOT NULL,
        assigned_name text,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (owner, key)
    )
    """,
)

RESPONSE_TIME = "(first_response_at - created_at)"
"""A ticket's first response time (an interval), as the response-time indexes hold it."""

CREATED_DAY = "((created_at AT TIME ZONE 'UTC')::date)"
"""The UTC day a ticket was created on, as the daily index holds it."""

INDEXES: dict[str, str] = {
    # The orders, with ties by number. A B-tree reads both ways; PostgreSQL puts NULLs
    # last going up, so the due-date order going down (undated tickets last there too)
    # reads an index that puts them first, backwards.
    "tickets_by_created_at": "tickets (created_at, number)",
    "tickets_by_updated_at": "tickets (updated_at, number)",
    "tickets_by_due_date": "tickets (due_date, number)",
    "tickets_by_due_date_down": "tickets (due_date NULLS FIRST, number)",
    "tickets_by_priority_number": "tickets (priority, number)",
    # A filter, then the default order, so that a first page reads in order.
    "tickets_by_status_created": "tickets (status, created_at, number)",
    "tickets_by_priority_created": "tickets (priority, created_at, number)",
    "tickets_by_assignee_created": "tickets (assigned_to, created_at, number)",
    "tickets_by_assignee_status_created": (
        "tickets (assigned_to, status, created_at, number) INCLUDE (priority)"
    ),
    "tickets_by_contact_created": "tickets (contact_id, created_at, number)",
    "tickets_by_category_created": "tickets (category, created_at, number)",
    "tickets_by_status_priority_created": "tickets (status, priority, created_at, number)",
    "tickets_by_status_due_date": "tickets (status, due_date, number)",
    "tickets_by_status_due_date_down": "tickets (status, due_date NULLS FIRST, number)",
    # Breached now: a range over the stored breach instant.
    "tickets_by_sla_breach_at": "tickets (sla_breach_at)",
    "tickets_by_status_sla_breach_at": "tickets (status, sla_breach_at)",
    # Search: every word of a search a prefix of a word of the ticket. Without GIN's
    # pending list (fastupdate), which every search would read through until a vacuum
    # merged it (milliseconds where the index answers in microseconds), and which an
    # unlucky insert would merge itself: the index is written as tickets are.
    "tickets_by_search": "tickets USING gin (search) WITH (fastupdate = off)",
    # The figures: tickets created in a window by day, priority and agent, with their
    # SLA outcomes; and the answered ones in the order of their response time.
    "tickets_by_created_day": (
        f"tickets ({CREATED_DAY}, priority, assigned_to) INCLUDE (sla_response_met,"
        " sla_response_due_at, sla_resolution_met, sla_breach_at, created_at, category)"
    ),
    "tickets_by_response_time": (
        f"tickets ({RESPONSE_TIME}) INCLUDE (created_at, priority, category, assigned_to)"
        " WHERE first_response_at IS NOT NULL"
    ),
    "tickets_by_agent_response_time": (
        f"tickets (assigned_to, {RESPONSE_TIME}) INCLUDE (created_at, priority, category)"
        " WHERE first_response_at IS NOT NULL"
    ),
    "ticket_tags_by_ticket": "ticket_tags (ticket_number)",
    "ticket_tags_by_tag_status": "ticket_tags (tag, status, ticket_number)",
    "ticket_events_by_ticket": "ticket_events (ticket_number, id)",
    "ticket_states_resolving": "ticket_states (began) WHERE resolves",
    "ticket_states_closing": "ticket_states (began) WHERE closes",
    "ticket_states_by_status": "ticket_states (status, priority, began, ended)",
    "idempotency_keys_by_created": "idempotency_keys (created_at)",
}
"""Every index of the baseline, by name: what SQLite's migrations 1 to 14 index, in
PostgreSQL's terms."""

_VIEWS = (
    # For people reading the database: each ticket's durations, and each UTC day's volume.
    """
    CREATE VIEW ticket_durations AS
    SELECT number, id, priority, status, category, assigned_to, contact_id,
           created_at, first_response_at, resolved_at, closed_at,
           extract(epoch FROM first_response_at - created_at)::bigint
               AS first_response_seconds,
           extract(epoch FROM resolved_at - created_at)::bigint AS resolution_seconds,
           sla_response_met, sla_resolution_met, customer_satisfaction, root_cause,
           reopened_count
    FROM tickets
    """,
    """
    CREATE VIEW daily_volume AS
    SELECT day, sum(created) AS created, sum(resolved) AS resolved, sum(closed) AS closed
    FROM (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
               1 AS created, 0 AS resolved, 0 AS closed
        FROM tickets
        UNION ALL
        SELECT (began AT TIME ZONE 'UTC')::date, 0, resolves::int, closes::int
        FROM ticket_states WHERE resolves OR closes
    ) AS counted
    GROUP BY day
    """,
)


@migration("0014_postgres_baseline")
def _baseline(conn: Connection) -> None:
    for statement in _BASELINE_TABLES:
        conn.execute(statement)
    for name, target in INDEXES.items():
        conn.execute(f"CREATE INDEX {name} ON {target}")
    for statement in _VIEWS:
        conn.execute(statement)
    # A new database: creation times follow numbers from the start (SQLite's migration
    # 7), and the API keys' digests get the database's own salt (migration 14; see
    # domain.keys).
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('created_in_number_order', '1'),"
        " ('api_key_salt', %s)",
        (secrets.token_hex(16),),
    )


@migration("0015_routing")
def _routing(conn: Connection) -> None:
    # As SQLite's 0015: agents' routing fields, the rules in order, the round-robin
    # turns (rule '' is the group's own), the group queues.
    conn.execute(
        "ALTER TABLE agents ADD COLUMN groups text[] NOT NULL DEFAULT '{}',"
        " ADD COLUMN skills text[] NOT NULL DEFAULT '{}', ADD COLUMN capacity integer,"
        " ADD COLUMN calendar jsonb, ADD COLUMN available boolean NOT NULL DEFAULT true"
    )
    conn.execute(
        "CREATE TABLE routing_rules (position integer PRIMARY KEY, name text NOT NULL UNIQUE,"
        " rule jsonb NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE routing_turns (grp text NOT NULL, rule text NOT NULL,"
        " last_agent text NOT NULL, PRIMARY KEY (grp, rule))"
    )
    conn.execute(
        "CREATE TABLE routing_queue (ticket_number bigint PRIMARY KEY, grp text NOT NULL,"
        " rule text)"
    )
    conn.execute("CREATE INDEX routing_queue_by_group ON routing_queue (grp, ticket_number)")


@migration("0016_escalations")
def _escalations(conn: Connection) -> None:
    # As SQLite's 0016: the policy, each ticket's next due instant, the levels fired.
    conn.execute(
        "CREATE TABLE escalation_policies ("
        " priority integer PRIMARY KEY CHECK (priority BETWEEN 1 AND 4),"
        " levels jsonb NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE escalation_timers ("
        " ticket_number bigint PRIMARY KEY,"
        " due_at timestamptz,"
        " version integer NOT NULL,"
        " announced_through timestamptz)"
    )
    conn.execute(
        "CREATE INDEX escalation_timers_by_due_at ON escalation_timers (due_at)"
        " WHERE due_at IS NOT NULL"
    )
    conn.execute(
        "CREATE TABLE escalations_fired ("
        " ticket_number bigint NOT NULL,"
        " run integer NOT NULL,"
        " priority integer NOT NULL,"
        " level integer NOT NULL,"
        " fired_at timestamptz NOT NULL,"
        " PRIMARY KEY (ticket_number, run, priority, level))"
    )


@migration("0017_webhooks")
def _webhooks(conn: Connection) -> None:
    # As SQLite's 0017: subscriptions, and the outbox in the order of the commits that
    # wrote it (a ticket's writes take its row's lock, so its deliveries' sequence
    # numbers follow its commits).
    conn.execute(
        """
        CREATE TABLE webhook_subscriptions (
            id text PRIMARY KEY,
            url text NOT NULL,
            events text[] NOT NULL,
            secret text NOT NULL,
            created_at timestamptz NOT NULL
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE webhook_deliveries (
            sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            subscription text NOT NULL,
            event text NOT NULL,
            ticket_id text NOT NULL,
            ticket_number bigint NOT NULL,
            key text,
            body text NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            claim text,
            attempting_until timestamptz,
            created_at timestamptz NOT NULL,
            delivered_at timestamptz,
            last_status integer,
            last_error text
        )
        """
    )
    # An announced event's key, once a subscription (most deliveries have none).
    conn.execute(
        "CREATE UNIQUE INDEX webhook_deliveries_by_key ON webhook_deliveries"
        " (subscription, key) WHERE key IS NOT NULL"
    )
    conn.execute(
        "CREATE INDEX webhook_deliveries_in_line"
        " ON webhook_deliveries (subscription, ticket_number, sequence)"
        " WHERE status = 'pending'"
    )  # also what a claim scans: pending deliveries are few. By the ticket's number, not
    # its (random) id, so that a new ticket's deliveries go to the index's end.


@migration("0018_fewer_indexes")
def _fewer_indexes(conn: Connection) -> None:
    # SQLite's 0018 drops and narrows indexes of its file and keeps tags in ticket order;
    # PostgreSQL's indexes, tables and lists stay as they are (numbered here so that a
    # schema's number means the same on both).
    del conn


@migration("0019_sync")
def _sync(conn: Connection) -> None:
    # As SQLite's 0019: the configuration, the links, the outbox of commands (a patch as
    # json, which keeps its keys' order) and the conflicts.
    conn.execute(
        """
        CREATE TABLE sync_settings (
            id integer PRIMARY KEY CHECK (id = 1),
            remote text NOT NULL,
            key_env text NOT NULL,
            configured_at timestamptz NOT NULL,
            last_round_at timestamptz,
            last_success_at timestamptz
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE sync_tickets (
            ticket_number bigint PRIMARY KEY,
            ticket_id text NOT NULL UNIQUE,
            remote_id text UNIQUE,
            remote_number text,
            remote_version integer,
            blocked_by bigint
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE sync_commands (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ticket_id text NOT NULL,
            ticket_number bigint NOT NULL,
            seq integer NOT NULL,
            kind text NOT NULL CHECK (kind IN ('create', 'update', 'close')),
            patch json NOT NULL,
            base_version integer NOT NULL,
            idempotency_key text NOT NULL,
            api_version text NOT NULL,
            schema_version integer NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'done', 'dead', 'conflict')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            claim text,
            attempting_until timestamptz,
            created_at timestamptz NOT NULL,
            done_at timestamptz,
            last_status integer,
            last_error text,
            remote_version integer,
            UNIQUE (ticket_number, seq)
        )
        """
    )
    conn.execute("CREATE INDEX sync_commands_by_status ON sync_commands (status, id)")
    # as SQLite's: the claim's scan and the counts; no index of the random keys
    conn.execute(
        """
        CREATE TABLE sync_conflicts (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            command_id bigint NOT NULL,
            ticket_id text NOT NULL,
            ticket_number bigint NOT NULL,
            status integer NOT NULL,
            answer json,
            created_at timestamptz NOT NULL,
            resolved_at timestamptz
        )
        """
    )


NEXT_NUMBER = (
    "UPDATE ticket_counter SET last_number = last_number + 1,"
    " last_created_at = greatest(last_created_at, %(now)s)"
    " RETURNING last_number, last_created_at"
)
"""Take the next ticket number, in the transaction that inserts the ticket, and the
creation time to give it: ``now``, or the last ticket's if that is later (another app
server's clock may run ahead), so that creation times never go down as numbers go up.

The update locks the counter's row until the transaction ends: creations queue there,
and a rolled-back one gives its number back with the rest of its work. Nothing else
writes ``last_number``, so numbers have no gaps (a sequence would leave one for every
rolled-back or failed insert)."""


def known_migrations() -> list[str]:
    """The names of this release's migrations, in order."""
    return [name for name, _ in _MIGRATIONS]


def _has_migrations_table(conn: Connection) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (MIGRATIONS_TABLE,)).fetchone()
    return bool(row and row[0])


def applied_migrations(conn: Connection) -> list[str]:
    """The names of the migrations the database has, in the order they were applied."""
    if not _has_migrations_table(conn):
        return []
    rows = conn.execute(
        f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = %s ORDER BY id",
        (MIGRATION_SET,),
    ).fetchall()
    return [name for (name,) in rows]


def refuse_newer(conn: Connection) -> None:
    """Raise :class:`NewerSchema` if the database has migrations this release does not
    know."""
    known = set(known_migrations())
    unknown = [name for name in applied_migrations(conn) if name not in known]
    if unknown:
        raise NewerSchema(
            f"this database was written by a newer release of ayra-tickets (its schema has"
            f" {', '.join(unknown)}); upgrade ayra-tickets to open it"
        )


def refuse_foreign(conn: Connection) -> None:
    """Raise :class:`NotATicketDatabase` for a schema ayra-tickets cannot use: none to
    create tables in, a database not in UTF-8 (the search's words are Unicode), or a
    schema that holds another application's tables and none of ours. An empty schema is
    ours to set up."""
    row = conn.execute("SELECT current_schema(), current_setting('server_encoding')").fetchone()
    assert row is not None
    schema, encoding = row
    if schema is None:
        raise NotATicketDatabase(
            "the PostgreSQL connection has no schema to create tables in (its search_path"
            " names none that exists)"
        )
    if encoding != "UTF8":
        raise NotATicketDatabase(
            f"the PostgreSQL database is encoded in {encoding}; ayra-tickets needs UTF8"
        )
    if _has_migrations_table(conn):
        return
    names = [
        name
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " ORDER BY c.relname"
        )
    ]
    if names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise NotATicketDatabase(
            f"the PostgreSQL schema {schema!r} belongs to another application (it holds"
            f" {shown}); ayra-tickets leaves it untouched: give it a schema or database"
            " of its own"
        )


def upgrade(conn: Connection) -> None:
    """Bring the database to the latest schema, in one transaction: every pending
    migration is applied, or none. A database with migrations this release does not
    know, or another application's, is refused before anything changes.

    Upgrades from several processes at once are safe: each waits for the one before
    (an advisory lock), then finds nothing left to do. The migrations' DDL takes
    exclusive locks, so reads wait while one runs."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise psycopg.ProgrammingError(
            "upgrade() runs in a transaction of its own: call it with none open"
        )
    with conn.transaction():
        # Read committed, whatever the connection's default: once the lock is had, each
        # statement must see what an upgrade that held it before committed.
        conn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (UPGRADE_LOCK,))
        refuse_foreign(conn)
        refuse_newer(conn)
        conn.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                migration_set text NOT NULL,
                name text NOT NULL,
                applied_at timestamptz NOT NULL,
                UNIQUE (migration_set, name)
            )
            """
        )
        applied = set(applied_migrations(conn))
        for name, function in _MIGRATIONS:
            if name in applied:
                continue
            function(conn)
            conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (migration_set, name, applied_at)"
                " VALUES (%s, %s, %s)",
                (MIGRATION_SET, name, datetime.now(UTC)),
            )


def schema_address(url: str, schema: str) -> str:
    """The URL of ``schema`` in the database at ``url`` (it heads the search_path): what
    ``Engine.open`` takes to keep its tables there."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def new_schema(url: str, prefix: str = "test") -> Iterator[str]:
    """The name of a new, empty schema (``prefix``, ``test`` unless given, and random hex
    digits) of the database at ``url``, dropped after with all it holds: for tests and
    benchmarks."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")
