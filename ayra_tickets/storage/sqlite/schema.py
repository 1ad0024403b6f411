"""The database schema, created and upgraded by numbered migrations.

The ``tickets`` table is meant to be read by people too (Datasette, the sqlite3
shell): one row per ticket, plain columns, times as RFC 3339 text. Tags are kept both
as a readable JSON list on the ticket and in ``ticket_tags``, one indexed row per tag.
``ticket_events`` is the append-only history beside it.
"""

from __future__ import annotations

import json
from datetime import timedelta

import attrs
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ..errors import NewerSchema

migrations = Migrations("ayra_tickets")

SCHEMA_VERSION = 19
"""The number of the latest migration; a database past it is from a newer release."""


@migrations(name="0001_initial")
def _initial(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE tickets (
            number INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            subject TEXT NOT NULL,
            description TEXT NOT NULL,
            priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
            status TEXT NOT NULL,
            category TEXT,
            contact_id TEXT,
            conversation_id TEXT,
            assigned_to TEXT,
            due_date TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            custom_fields TEXT NOT NULL DEFAULT '{}',
            metadata TEXT NOT NULL DEFAULT '{}',
            resolution_note TEXT,
            customer_satisfaction INTEGER,
            resolution_time INTEGER,
            root_cause TEXT,
            first_response_at TEXT,
            resolved_at TEXT,
            closed_at TEXT,
            reopened_count INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sla_policy TEXT NOT NULL,
            sla_response_target INTEGER NOT NULL,
            sla_resolution_target INTEGER NOT NULL,
            sla_response_due_at TEXT NOT NULL,
            sla_resolution_due_at TEXT NOT NULL,
            sla_paused_since TEXT,
            sla_paused_seconds INTEGER NOT NULL DEFAULT 0,
            sla_response_met INTEGER,
            sla_resolution_met INTEGER
        )
        """
    )
    db.execute(
        """
        CREATE TABLE ticket_tags (
            tag TEXT NOT NULL,
            ticket_number INTEGER NOT NULL REFERENCES tickets(number),
            PRIMARY KEY (tag, ticket_number)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX ticket_tags_by_ticket ON ticket_tags (ticket_number)")
    db.execute(
        """
        CREATE TABLE ticket_events (
            id INTEGER PRIMARY KEY,
            ticket_id TEXT NOT NULL REFERENCES tickets(id),
            version INTEGER NOT NULL,
            type TEXT NOT NULL,
            field TEXT,
            old_value TEXT,
            new_value TEXT,
            data TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id)")
    db.execute("CREATE TABLE agents (id TEXT PRIMARY KEY, name TEXT NOT NULL)")
    db.execute(
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT,
            prefix TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            scopes TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )
        """
    )
    for columns in (
        ("status", "number"),
        ("priority", "number"),
        ("assigned_to", "number"),
        ("contact_id", "number"),
        ("category", "number"),
        ("created_at", "number"),
        ("updated_at", "number"),
        ("due_date", "number"),
    ):
        name = "tickets_by_" + "_".join(columns[:-1])
        db.execute(f"CREATE INDEX {name} ON tickets ({', '.join(columns)})")
    db.table("tickets").enable_fts(
        ["subject", "description"], fts_version="FTS5", create_triggers=True, tokenize="unicode61"
    )


@migrations(name="0002_sla_policies")
def _sla_policies(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE sla_policies (
            name TEXT PRIMARY KEY,
            targets TEXT NOT NULL,
            calendar TEXT,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("ALTER TABLE tickets ADD COLUMN sla_resolution_missed_at TEXT")
    db.execute("ALTER TABLE tickets ADD COLUMN sla_breach_at TEXT")
    _backfill_breach(db)
    db.execute("CREATE INDEX tickets_by_sla_breach_at ON tickets (sla_breach_at)")
    db.execute("CREATE INDEX tickets_by_status_sla_breach_at ON tickets (status, sla_breach_at)")


def _backfill_breach(db: Database) -> None:
    """Tickets written by the first schema: derive the new SLA columns from their clocks."""
    from ...domain.sla import breach_at
    from ...domain.times import format_optional
    from .rows import COLUMNS, ticket_from_row

    first_schema = [c for c in COLUMNS if c not in ("sla_resolution_missed_at", "sla_breach_at")]
    rows = db.execute(f"SELECT {', '.join(first_schema)} FROM tickets").fetchall()
    for row in rows:
        ticket = ticket_from_row((*row, None, None, None))
        clock = ticket.clock
        if clock.resolution_met is False:
            clock = attrs.evolve(
                clock, resolution_missed_at=clock.resolution_due_at + timedelta(seconds=1)
            )
        db.execute(
            "UPDATE tickets SET sla_resolution_missed_at = ?, sla_breach_at = ? WHERE number = ?",
            (
                format_optional(clock.resolution_missed_at),
                format_optional(breach_at(clock)),
                ticket.number,
            ),
        )


LIST_INDEXES: dict[str, str] = {
    # a filter, then the default order (created_at, number) so a first page reads in order
    "tickets_by_status_created": "status, created_at, number",
    "tickets_by_priority_created": "priority, created_at, number",
    "tickets_by_assignee_created": "assigned_to, created_at, number",
    "tickets_by_assignee_status_created": "assigned_to, status, created_at, number",
    "tickets_by_contact_created": "contact_id, created_at, number",
    "tickets_by_category_created": "category, created_at, number",
    "tickets_by_status_priority_created": "status, priority, created_at, number",
    # the other orders, and the due-date order with undated tickets last
    "tickets_by_priority_number": "priority, number",
    "tickets_by_due_order": "(due_date IS NULL), due_date, number",
    "tickets_by_status_due_order": "status, (due_date IS NULL), due_date, number",
}


@migrations(name="0003_list_indexes")
def _list_indexes(db: Database) -> None:
    for narrow in ("status", "priority", "assigned_to", "contact_id", "category"):
        db.execute(f"DROP INDEX IF EXISTS tickets_by_{narrow}")
    for name, columns in LIST_INDEXES.items():
        db.execute(f"CREATE INDEX {name} ON tickets ({columns})")
    db.execute("ANALYZE")


@migrations(name="0004_fts_written_with_tickets")
def _fts_written_with_tickets(db: Database) -> None:
    # The repository writes the search index in the same statements batch as the tickets
    # (see TicketStore); the triggers that did it cost milliseconds a row on big tables.
    for trigger in ("tickets_ai", "tickets_au", "tickets_ad"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")


@migrations(name="0005_events_by_ticket_number")
def _events_by_ticket_number(db: Database) -> None:
    # Events are found by their ticket's number, not its id. Numbers ascend, so a new
    # ticket's events go at the end of the index; ids are random, and indexing by them
    # made every insert touch a random page (the cost that dominated imports of
    # hundreds of thousands of tickets).
    db.execute("ALTER TABLE ticket_events ADD COLUMN ticket_number INTEGER")
    db.execute(
        "UPDATE ticket_events SET ticket_number ="
        " (SELECT number FROM tickets WHERE tickets.id = ticket_events.ticket_id)"
    )
    db.execute("DROP INDEX ticket_events_by_ticket")
    db.table("ticket_events").transform(
        not_null={"ticket_number"},
        drop_foreign_keys=["ticket_id"],
        add_foreign_keys=[("ticket_number", "tickets", "number")],
        column_order=["id", "ticket_number", "ticket_id"],
    )
    db.execute("CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_number, id)")


@migrations(name="0006_assignee_status_index_covers_priority")
def _assignee_status_covers_priority(db: Database) -> None:
    # Priority after the order's columns: a count of assignee + status + priority reads
    # the index alone, where it read every matching ticket's row.
    db.execute("DROP INDEX tickets_by_assignee_status_created")
    db.execute(
        "CREATE INDEX tickets_by_assignee_status_created"
        " ON tickets (assigned_to, status, created_at, number, priority)"
    )


@migrations(name="0007_created_in_number_order")
def _created_in_number_order(db: Database) -> None:
    # From this release on, a ticket is never created before the one numbered before it,
    # so newest-first is highest-number-first (searches read their index in that order).
    # Tickets written before may break the rule; whether they do is recorded once here.
    (broken,) = db.execute(
        "SELECT EXISTS (SELECT 1 FROM tickets a JOIN tickets b ON b.number = a.number + 1"
        " WHERE b.created_at < a.created_at)"
    ).fetchone()
    db.execute(
        "INSERT INTO settings (key, value) VALUES ('created_in_number_order', ?)",
        ("0" if broken else "1",),
    )


@migrations(name="0008_tag_rows_carry_status")
def _tag_rows_carry_status(db: Database) -> None:
    # "Tickets tagged x in status y" counts from one index instead of reading every
    # tagged ticket's row; the repository rewrites a ticket's tag rows when its status
    # changes.
    db.execute("ALTER TABLE ticket_tags ADD COLUMN status TEXT")
    db.execute(
        "UPDATE ticket_tags SET status ="
        " (SELECT status FROM tickets WHERE tickets.number = ticket_tags.ticket_number)"
    )
    db.execute("CREATE INDEX ticket_tags_by_tag_status ON ticket_tags (tag, status, ticket_number)")


@migrations(name="0009_search_index_with_status_facets")
def _search_index_with_status_facets(db: Database) -> None:
    # The search index carries each ticket's status as a token in a third column, so a
    # search with a status is counted by the index alone (it read every match's row).
    # Contentless: the repository writes it with the tickets (see migration 4) and only
    # rowids are read back, so it keeps no copy of the text.
    db.execute("DROP TABLE tickets_fts")
    db.execute(
        "CREATE VIRTUAL TABLE tickets_fts USING fts5"
        "(subject, description, facets, content='', tokenize='unicode61')"
    )
    db.execute(
        "INSERT INTO tickets_fts (rowid, subject, description, facets)"
        " SELECT number, subject, description, 's' || replace(status, '_', '') FROM tickets"
    )


@migrations(name="0010_search_index_without_positions")
def _search_index_without_positions(db: Database) -> None:
    # Searches match words and word prefixes, never phrases, so the index keeps which
    # column a word is in but not where (detail=column): 40% smaller, and a search of
    # several common word prefixes reads that much less.
    db.execute("DROP TABLE tickets_fts")
    db.execute(
        "CREATE VIRTUAL TABLE tickets_fts USING fts5(subject, description, facets,"
        " content='', detail=column, tokenize='unicode61')"
    )
    db.execute(
        "INSERT INTO tickets_fts (rowid, subject, description, facets)"
        " SELECT number, subject, description, 's' || replace(status, '_', '') FROM tickets"
    )


@migrations(name="0011_idempotency_keys")
def _idempotency_keys(db: Database) -> None:
    # A create sent with an Idempotency-Key: what it made, so that a retry answers the
    # same. ``request`` fingerprints the body; ``ticket_row`` is the ticket as created.
    db.execute(
        """
        CREATE TABLE idempotency_keys (
            key TEXT PRIMARY KEY,
            request TEXT NOT NULL,
            ticket_row TEXT NOT NULL,
            assigned_name TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at)")


@migrations(name="0012_analytics_views")
def _analytics_views(db: Database) -> None:
    # For people reading the file in Datasette or any SQLite tool: each ticket's
    # durations, and the volume of each day (UTC), as engine.metrics defines them.
    db.execute(
        """
        CREATE VIEW ticket_durations AS
        SELECT number, id, priority, status, category, assigned_to, contact_id,
               created_at, first_response_at, resolved_at, closed_at,
               unixepoch(first_response_at) - unixepoch(created_at) AS first_response_seconds,
               unixepoch(resolved_at) - unixepoch(created_at) AS resolution_seconds,
               sla_response_met, sla_resolution_met, customer_satisfaction, root_cause,
               reopened_count
        FROM tickets
        """
    )
    db.execute(
        """
        CREATE VIEW daily_volume AS
        SELECT day, SUM(created) AS created, SUM(resolved) AS resolved, SUM(closed) AS closed
        FROM (
            SELECT substr(created_at, 1, 10) AS day, 1 AS created, 0 AS resolved, 0 AS closed
            FROM tickets
            UNION ALL
            SELECT substr(created_at, 1, 10), 0, 1, 0 FROM ticket_events e
            WHERE e.field = 'status' AND (json_extract(e.new_value, '$') = 'resolved'
                OR (e.type = 'closed' AND json_extract(e.old_value, '$') != 'resolved'))
            UNION ALL
            SELECT substr(created_at, 1, 10), 0, 0, 1 FROM ticket_events WHERE type = 'closed'
        )
        GROUP BY day
        """
    )


RESPONSE_TIME = "unixepoch(first_response_at) - unixepoch(created_at)"
"""A ticket's first response time in seconds, as the response-time indexes hold it."""


@migrations(name="0013_ticket_states")
def _ticket_states(db: Database) -> None:
    # The log, narrowed to what the support figures read: each stretch of a ticket's
    # life in one status and priority, from the write that began it (its version) to the
    # next one, in Unix seconds. Time in status, the backlog at a past instant, and what
    # was resolved or closed in a window are read here and not from the events, whose
    # created entries carry the whole ticket. The repository writes it with the events.
    db.execute(
        """
        CREATE TABLE ticket_states (
            ticket_number INTEGER NOT NULL REFERENCES tickets(number),
            version INTEGER NOT NULL,
            began INTEGER NOT NULL,
            ended INTEGER,
            status TEXT NOT NULL,
            priority INTEGER NOT NULL,
            resolves INTEGER NOT NULL DEFAULT 0,
            closes INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (ticket_number, version)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX ticket_states_resolving ON ticket_states (began) WHERE resolves")
    db.execute("CREATE INDEX ticket_states_closing ON ticket_states (began) WHERE closes")
    _backfill_states(db)
    db.execute(
        "CREATE INDEX ticket_states_by_status ON ticket_states (status, priority, began, ended)"
    )
    # The tickets created in a window, by day, priority and agent in the index's own
    # order (no sorting), with their SLA outcomes; and the answered ones in the order of
    # their response time, overall and by agent (a median is a step into the index). The
    # filters the figures take that these carry (priority, category, agent) are read from
    # them too.
    db.execute(
        "CREATE INDEX tickets_by_created_day ON tickets (substr(created_at, 1, 10), priority,"
        " assigned_to, sla_response_met, sla_response_due_at, sla_resolution_met,"
        " sla_breach_at, created_at, category)"
    )
    db.execute(
        f"CREATE INDEX tickets_by_response_time ON tickets ({RESPONSE_TIME}, created_at,"
        " priority, category, assigned_to) WHERE first_response_at IS NOT NULL"
    )
    db.execute(
        f"CREATE INDEX tickets_by_agent_response_time ON tickets (assigned_to, {RESPONSE_TIME},"
        " created_at, priority, category) WHERE first_response_at IS NOT NULL"
    )
    # The daily volume view, read from the states as the figures are.
    db.execute("DROP VIEW daily_volume")
    db.execute(
        """
        CREATE VIEW daily_volume AS
        SELECT day, SUM(created) AS created, SUM(resolved) AS resolved, SUM(closed) AS closed
        FROM (
            SELECT substr(created_at, 1, 10) AS day, 1 AS created, 0 AS resolved, 0 AS closed
            FROM tickets
            UNION ALL
            SELECT date(began, 'unixepoch'), 0, resolves, closes FROM ticket_states
            WHERE resolves OR closes
        )
        GROUP BY day
        """
    )
    db.execute("PRAGMA analysis_limit = 1000")  # a sample is enough for the planner
    db.execute("ANALYZE ticket_states")
    db.execute("ANALYZE tickets")
    db.execute("PRAGMA analysis_limit = 0")


def _backfill_states(db: Database) -> None:
    """States from the log of the tickets written before the table was."""
    from .rows import states_from_log

    db.conn.executemany(
        "INSERT INTO ticket_states (ticket_number, version, began, ended, status, priority,"
        " resolves, closes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        states_from_log(db.conn),
    )


@migrations(name="0014_keys_salted_and_idempotency_per_key")
def _keys_salted_and_idempotency_per_key(db: Database) -> None:
    # Keys: the plain SHA-256 digests become the file's salted, stretched ones (see
    # domain.keys), computed from them; the listed prefix, which showed up to 12
    # characters of a chosen secret, becomes the key's id (which of the keys were made
    # cannot be told, so none keeps a prefix of its secret).
    from ...domain.keys import new_salt, stretch
    from .accounts import SALT_SETTING

    salt = new_salt()
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (SALT_SETTING, salt))
    for key_id, legacy in db.execute("SELECT id, secret_hash FROM api_keys").fetchall():
        db.execute(
            "UPDATE api_keys SET secret_hash = ?, prefix = id WHERE id = ?",
            (stretch(legacy, salt), key_id),
        )
    # An idempotency key belongs to its sender: the API key's id, or '' for calls made in
    # Python. Which sent the remembered ones is not known; they go to Python's scope, which
    # reads every ticket anyway, so no API key can replay one (they expire within a day).
    db.execute("ALTER TABLE idempotency_keys ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
    db.table("idempotency_keys").transform(
        pk=("owner", "key"),
        not_null={"key"},
        column_order=["owner", "key"],
        defaults={"owner": None},
    )


@migrations(name="0015_routing")
def _routing(db: Database) -> None:
    # Agents' routing fields (groups and skills as JSON lists, the calendar as its JSON
    # object); the rules in order (each its JSON object); each round-robin turn's last
    # agent (rule '' is the group's own turn); the tickets waiting in a group's queue.
    for column in (
        "groups TEXT NOT NULL DEFAULT '[]'",
        "skills TEXT NOT NULL DEFAULT '[]'",
        "capacity INTEGER",
        "calendar TEXT",
        "available INTEGER NOT NULL DEFAULT 1",
    ):
        db.execute(f"ALTER TABLE agents ADD COLUMN {column}")
    db.execute(
        "CREATE TABLE routing_rules (position INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " rule TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE routing_turns (grp TEXT NOT NULL, rule TEXT NOT NULL,"
        " last_agent TEXT NOT NULL, PRIMARY KEY (grp, rule)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE routing_queue (ticket_number INTEGER PRIMARY KEY, grp TEXT NOT NULL,"
        " rule TEXT)"
    )
    db.execute("CREATE INDEX routing_queue_by_group ON routing_queue (grp, ticket_number)")


@migrations(name="0016_escalations")
def _escalations(db: Database) -> None:
    # The policy: each priority's levels as a JSON list (see domain.escalation).
    db.execute(
        "CREATE TABLE escalation_policies ("
        " priority INTEGER PRIMARY KEY CHECK (priority BETWEEN 1 AND 4),"
        " levels TEXT NOT NULL)"
    )
    # Per ticket, the next instant something is due for it (a level, a breach to
    # announce): run_due reads the due ones off the index.
    db.execute(
        "CREATE TABLE escalation_timers ("
        " ticket_number INTEGER PRIMARY KEY,"
        " due_at TEXT,"
        " version INTEGER NOT NULL,"
        " announced_through TEXT)"
    )
    db.execute(
        "CREATE INDEX escalation_timers_by_due_at ON escalation_timers (due_at)"
        " WHERE due_at IS NOT NULL"
    )
    # Each level that fired, once per ticket, clock run and priority.
    db.execute(
        "CREATE TABLE escalations_fired ("
        " ticket_number INTEGER NOT NULL,"
        " run INTEGER NOT NULL,"
        " priority INTEGER NOT NULL,"
        " level INTEGER NOT NULL,"
        " fired_at TEXT NOT NULL,"
        " PRIMARY KEY (ticket_number, run, priority, level)) WITHOUT ROWID"
    )


@migrations(name="0017_webhooks")
def _webhooks(db: Database) -> None:
    # Subscriptions, and the outbox: one row an event and subscription, written in the
    # transaction of the change that made it. ``sequence`` orders a ticket's deliveries
    # as their changes committed; ``claim`` and ``attempting_until`` hold one that a
    # sender is attempting (a lapsed hold is claimed again).
    db.execute(
        """
        CREATE TABLE webhook_subscriptions (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            secret TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE webhook_deliveries (
            sequence INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            subscription TEXT NOT NULL,
            event TEXT NOT NULL,
            ticket_id TEXT NOT NULL,
            ticket_number INTEGER NOT NULL,
            key TEXT,
            body TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            claim TEXT,
            attempting_until TEXT,
            created_at TEXT NOT NULL,
            delivered_at TEXT,
            last_status INTEGER,
            last_error TEXT
        )
        """
    )
    # An announced event's key, once a subscription (most deliveries have none).
    db.execute(
        "CREATE UNIQUE INDEX webhook_deliveries_by_key ON webhook_deliveries"
        " (subscription, key) WHERE key IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX webhook_deliveries_in_line"
        " ON webhook_deliveries (subscription, ticket_number, sequence)"
        " WHERE status = 'pending'"
    )  # also what a claim scans: pending deliveries are few. By the ticket's number, not
    # its (random) id, so that a new ticket's deliveries go to the index's end.


FEWER_INDEXES_DROPPED = (
    "tickets_by_status_created",
    "tickets_by_priority_created",
    "tickets_by_assignee_created",
    "tickets_by_assignee_status_created",
    "tickets_by_contact_created",
    "tickets_by_category_created",
    "tickets_by_status_priority_created",
    "tickets_by_priority_number",
    "tickets_by_sla_breach_at",
    "tickets_by_status_sla_breach_at",
    "tickets_by_due_date",
    "tickets_by_status_due_order",
)
"""The tickets' indexes migration 18 drops."""

FEWER_INDEXES: dict[str, str] = {
    "tickets_by_status": "status",
    "tickets_by_status_priority": "status, priority",
    "tickets_by_priority": "priority",
    "tickets_by_assignee": "assigned_to",
    "tickets_by_assignee_status": "assigned_to, status, number, priority",
    "tickets_by_contact": "contact_id",
    "tickets_by_category": "category",
    "tickets_by_sla_breach_at": "sla_breach_at, status",
}
"""The tickets' indexes migration 18 makes in their place (an index on a column ends in
the ticket's number too: SQLite appends the row's key)."""


@migrations(name="0018_fewer_indexes")
def _fewer_indexes(db: Database) -> None:
    # Every index of a table is a page (or more) written by every commit that adds a
    # row, so an index that another already serves goes, and the others get narrower:
    # - a filter in creation order: creation order is number order (migration 7; see
    #   query.in_number_order), which an index on the filter alone gives, so the
    #   filters' indexes drop the creation time, and priority's serves its order too;
    # - an agent, a status and a priority: the agent and status's index carries the
    #   priority, so a count reads it alone;
    # - breached with a status: the breach index carries the status;
    # - a due-date range: the due order's index ((due_date IS NULL) = 0 comes with the
    #   range, see query.where_clause);
    # - a status in due order: the due order's index, walked, or the status's, sorted.
    # Files whose creation times break number order keep the creation time's index for
    # that order (as for a range of creation times); their filtered pages walk it.
    for name in FEWER_INDEXES_DROPPED:
        db.execute(f"DROP INDEX IF EXISTS {name}")
    for name, columns in FEWER_INDEXES.items():
        db.execute(f"CREATE INDEX {name} ON tickets ({columns})")
    _forget_deferred(db)
    # A ticket's tags are kept in its order (ticket, tag): the probe of one tag of one
    # ticket and a ticket's rewrite read the table itself, and a new ticket's tags go at
    # its end. By tag (and status), the one index.
    db.execute(
        """
        CREATE TABLE ticket_tags_by_ticket_order (
            tag TEXT NOT NULL,
            ticket_number INTEGER NOT NULL REFERENCES tickets(number),
            status TEXT,
            PRIMARY KEY (ticket_number, tag)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        "INSERT INTO ticket_tags_by_ticket_order (tag, ticket_number, status)"
        " SELECT tag, ticket_number, status FROM ticket_tags ORDER BY ticket_number, tag"
    )
    db.execute("DROP TABLE ticket_tags")
    db.execute("ALTER TABLE ticket_tags_by_ticket_order RENAME TO ticket_tags")
    db.execute("CREATE INDEX ticket_tags_by_tag_status ON ticket_tags (tag, status, ticket_number)")
    # The search index keeps its documents' sizes (a row a ticket, a page a create),
    # though nothing is ranked: without them (columnsize=0) a contentless index cannot be
    # read from end to end, which a dump of the file (Python's iterdump) does.
    (limit,) = db.execute("PRAGMA analysis_limit").fetchone()
    db.execute("PRAGMA analysis_limit = 1000")  # a sample is enough for the planner
    db.execute("ANALYZE tickets")
    db.execute("ANALYZE ticket_tags")
    db.execute(f"PRAGMA analysis_limit = {int(limit)}")


def _forget_deferred(db: Database) -> None:
    """An import that dropped the tickets' indexes and has not rebuilt them yet (see
    tickets.restore_deferred_indexes) rebuilds migration 18's, not those it replaced."""
    row = db.execute("SELECT value FROM settings WHERE key = 'deferred_indexes'").fetchone()
    if row is None:
        return
    pending = [
        (name, sql)
        for name, sql in json.loads(row[0])
        if name not in FEWER_INDEXES_DROPPED and name not in FEWER_INDEXES
    ]
    db.execute(
        "UPDATE settings SET value = ? WHERE key = 'deferred_indexes'",
        (json.dumps(pending),),
    )


@migrations(name="0019_sync")
def _sync(db: Database) -> None:
    # Sync with the remote API (see domain.sync): its configuration (one row; the key
    # only as the name of an environment variable), each synced ticket's link to its
    # remote counterpart, the outbox of commands written in the transaction of the
    # change, and the conflicts that hold a ticket's queue.
    db.execute(
        """
        CREATE TABLE sync_settings (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            remote TEXT NOT NULL,
            key_env TEXT NOT NULL,
            configured_at TEXT NOT NULL,
            last_round_at TEXT,
            last_success_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE sync_tickets (
            ticket_number INTEGER PRIMARY KEY,
            ticket_id TEXT NOT NULL UNIQUE,
            remote_id TEXT UNIQUE,
            remote_number TEXT,
            remote_version INTEGER,
            blocked_by INTEGER
        )
        """
    )
    db.execute(
        """
        CREATE TABLE sync_commands (
            id INTEGER PRIMARY KEY,
            ticket_id TEXT NOT NULL,
            ticket_number INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('create', 'update', 'close')),
            patch TEXT NOT NULL,
            base_version INTEGER NOT NULL,
            idempotency_key TEXT NOT NULL,
            api_version TEXT NOT NULL,
            schema_version INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'dead', 'conflict')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            claim TEXT,
            attempting_until TEXT,
            created_at TEXT NOT NULL,
            done_at TEXT,
            last_status INTEGER,
            last_error TEXT,
            remote_version INTEGER,
            UNIQUE (ticket_number, seq)
        )
        """
    )
    db.execute("CREATE INDEX sync_commands_by_status ON sync_commands (status, id)")
    # What a claim scans (pending commands in the order queued), and what counts them; a
    # ticket's line is read on its (ticket_number, seq) key. The idempotency keys are
    # random and have no index: one would take a write at a random page every command.
    db.execute(
        """
        CREATE TABLE sync_conflicts (
            id INTEGER PRIMARY KEY,
            command_id INTEGER NOT NULL,
            ticket_id TEXT NOT NULL,
            ticket_number INTEGER NOT NULL,
            status INTEGER NOT NULL,
            answer TEXT,
            created_at TEXT NOT NULL,
            resolved_at TEXT
        )
        """
    )


def known_migrations() -> list[str]:
    """The names of this release's migrations, in order."""
    return [migration.name for migration in migrations.pending(Database(memory=True))]


def applied_migrations(db: Database) -> list[str]:
    """The names of the migrations the file has, in the order they were applied."""
    return [migration.name for migration in migrations.applied(db)]


def refuse_newer(db: Database) -> None:
    """Raise :class:`NewerSchema` if the file has migrations this release does not know."""
    known = set(known_migrations())
    unknown = [name for name in applied_migrations(db) if name not in known]
    if unknown:
        raise NewerSchema(
            f"this database was written by a newer release of ayra-tickets (its schema has"
            f" {', '.join(unknown)}); upgrade ayra-tickets to open it"
        )


def upgrade(db: Database) -> None:
    """Bring the database to the latest schema (the caller holds the write lock). A file
    with migrations this release does not know is refused before anything changes."""
    refuse_newer(db)
    migrations.apply(db)
