"""What both adapters share of sync's tables (migration 19): the statements, written
once with named parameters (``%(name)s``, psycopg's; :func:`~.outbox.for_sqlite` turns
them into SQLite's ``:name``), and how rows become :mod:`ayra_tickets.domain.sync`'s
values, given each adapter's way of reading an instant and a JSON column."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..domain.sync import API_VERSION, Command, Conflict, Figures, Link, NewCommand, SyncConfig
from .port import ClaimedTicket, CommandResult

CONFIG = (
    "SELECT remote, key_env, configured_at, last_round_at, last_success_at"
    " FROM sync_settings WHERE id = 1"
)
CONFIGURE = (
    "INSERT INTO sync_settings (id, remote, key_env, configured_at) VALUES (1, %(remote)s,"
    " %(key_env)s, %(configured_at)s) ON CONFLICT (id) DO UPDATE SET remote = excluded.remote,"
    " key_env = excluded.key_env, configured_at = excluded.configured_at"
)
ROUND = (
    "UPDATE sync_settings SET last_round_at = %(at)s,"
    " last_success_at = CASE WHEN %(succeeded)s THEN %(at)s ELSE last_success_at END"
    " WHERE id = 1"
)

LINK_COLUMNS = "ticket_id, ticket_number, remote_id, remote_number, remote_version, blocked_by"
TRACK = (
    "INSERT INTO sync_tickets (ticket_number, ticket_id) VALUES (%(number)s, %(ticket_id)s)"
    " ON CONFLICT (ticket_number) DO NOTHING"
)
LINK = f"SELECT {LINK_COLUMNS} FROM sync_tickets WHERE ticket_number = %(number)s"
LINK_OF_LOCAL = f"SELECT {LINK_COLUMNS} FROM sync_tickets WHERE ticket_id = %(id)s"
LINK_OF_REMOTE = f"SELECT {LINK_COLUMNS} FROM sync_tickets WHERE remote_id = %(id)s"
ENQUEUE = (
    "INSERT INTO sync_commands (ticket_id, ticket_number, seq, kind, patch, base_version,"
    " idempotency_key, api_version, schema_version, status, next_attempt_at, created_at)"
    " SELECT t.ticket_id, t.ticket_number, coalesce((SELECT max(c.seq) FROM sync_commands AS c"
    " WHERE c.ticket_number = t.ticket_number), 0) + 1, %(kind)s, %(patch)s, %(base_version)s,"
    " %(idempotency_key)s, %(api_version)s, %(schema_version)s, 'pending', %(now)s, %(now)s"
    " FROM sync_tickets AS t WHERE t.ticket_number = %(number)s"
)
"""Queue a command of a synced ticket (nothing, for a ticket that is not), next in its
line: one statement tells both. A ticket's writes take its row's lock first, so its
commands are numbered in the order of their commits."""

COMMAND_COLUMNS = (
    "id, ticket_id, ticket_number, seq, kind, patch, base_version, idempotency_key,"
    " api_version, schema_version, status, attempts, next_attempt_at, created_at, done_at,"
    " last_status, last_error, remote_version"
)
"""The columns a :class:`~ayra_tickets.domain.sync.Command` is read from, in its
fields' order."""

CLAIMABLE = """
SELECT c.ticket_number
FROM sync_commands AS c JOIN sync_tickets AS t ON t.ticket_number = c.ticket_number
WHERE c.status = 'pending' AND c.next_attempt_at <= %(now)s
  AND (c.attempting_until IS NULL OR c.attempting_until <= %(now)s)
  AND t.blocked_by IS NULL AND (t.remote_id IS NOT NULL OR c.kind = 'create')
  AND NOT EXISTS (
    SELECT 1 FROM sync_commands AS e
    WHERE e.status = 'pending' AND e.ticket_number = c.ticket_number AND e.seq < c.seq
  )
ORDER BY c.id
LIMIT %(limit)s
"""
"""The tickets whose first pending command is due and free (not held, or held by a
claim that lapsed), in no conflict, and sendable: a create, or a command of a ticket
whose remote id is known. A ticket's later commands wait behind its first."""
IN_LINE = (
    f"SELECT {COMMAND_COLUMNS} FROM sync_commands WHERE ticket_number = %(number)s"
    " AND status = 'pending' ORDER BY seq LIMIT %(limit)s"
)
CLAIM = (
    "UPDATE sync_commands SET claim = %(token)s, attempting_until = %(until)s,"
    " attempts = attempts + 1 WHERE id = %(id)s"
)
"""Hold a command, and count the attempt before it is made: a process killed after
sending it leaves the count showing that the remote may have it."""
RECORD = (
    "UPDATE sync_commands SET status = %(status)s, next_attempt_at = %(next_attempt_at)s,"
    " done_at = %(done_at)s, last_status = %(last_status)s, last_error = %(last_error)s,"
    " remote_version = %(remote_version)s, claim = NULL, attempting_until = NULL"
    " WHERE id = %(id)s AND claim = %(token)s"
)
ACKNOWLEDGED = (
    "UPDATE sync_tickets SET remote_id = coalesce(%(remote_id)s, remote_id),"
    " remote_number = coalesce(%(remote_number)s, remote_number),"
    " remote_version = coalesce(%(remote_version)s, remote_version)"
    " WHERE ticket_number = %(number)s"
)
CONFLICTED = (
    "INSERT INTO sync_conflicts (command_id, ticket_id, ticket_number, status, answer,"
    " created_at) VALUES (%(id)s, %(ticket_id)s, %(number)s, %(status)s, %(answer)s, %(at)s)"
)
BLOCK = (
    "UPDATE sync_tickets SET blocked_by = (SELECT max(id) FROM sync_conflicts"
    " WHERE command_id = %(id)s) WHERE ticket_number = %(number)s"
)
RELEASE = (
    "UPDATE sync_commands SET claim = NULL, attempting_until = NULL,"
    " attempts = attempts - 1 WHERE claim = %(token)s AND status = 'pending'"
)
"""Let go of claimed commands that were not attempted (their counted attempt undone)."""

FIGURES = (
    "SELECT (SELECT count(*) FROM sync_commands WHERE status = 'pending'),"
    " (SELECT min(created_at) FROM sync_commands WHERE status = 'pending'),"
    " (SELECT count(*) FROM sync_commands WHERE status = 'dead'),"
    " (SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL),"
    " (SELECT count(*) FROM sync_tickets WHERE blocked_by IS NOT NULL),"
    " (SELECT count(*) FROM sync_commands WHERE status = 'pending' AND attempts > 0)"
)
LISTED = (
    f"SELECT {COMMAND_COLUMNS} FROM sync_commands"
    " WHERE (CAST(%(status)s AS text) IS NULL OR status = %(status)s)"
    " AND (CAST(%(number)s AS integer) IS NULL OR ticket_number = %(number)s)"
    " ORDER BY id LIMIT %(limit)s"
)
CONFLICTS = (
    "SELECT id, command_id, ticket_id, status, answer, created_at FROM sync_conflicts"
    " WHERE resolved_at IS NULL ORDER BY id"
)

Instant = Callable[[Any], datetime | None]
"""An adapter's way of reading a stored instant (``None`` stays ``None``)."""
Decode = Callable[[Any], Any]
"""An adapter's way of reading a JSON column (text, or already read)."""


def link_of(row: Sequence[Any] | None) -> Link | None:
    """A link from the columns of :data:`LINK_COLUMNS`."""
    return None if row is None else Link(*row)


def command_of(row: Sequence[Any], instant: Instant, decode: Decode) -> Command:
    """A command from the columns of :data:`COMMAND_COLUMNS`."""
    values = list(row)
    values[5] = decode(values[5])  # patch
    for at in (12, 13, 14):  # next_attempt_at, created_at, done_at
        values[at] = instant(values[at])
    return Command(*values)


def conflict_of(row: Sequence[Any], instant: Instant, decode: Decode) -> Conflict:
    """A conflict from the columns :data:`CONFLICTS` reads."""
    conflict_id, command_id, ticket_id, status, answer, created_at = row
    created = instant(created_at)
    assert created is not None
    return Conflict(
        conflict_id, command_id, ticket_id, status, decode(answer) if answer else None, created
    )


def config_of(row: Sequence[Any] | None, instant: Instant) -> SyncConfig | None:
    """The configuration from the columns :data:`CONFIG` reads."""
    if row is None:
        return None
    remote, key_env, configured_at, last_round_at, last_success_at = row
    configured = instant(configured_at)
    assert configured is not None
    return SyncConfig(remote, key_env, configured, instant(last_round_at), instant(last_success_at))


STATEMENTS = (
    "CONFIG",
    "CONFIGURE",
    "ROUND",
    "TRACK",
    "LINK",
    "LINK_OF_LOCAL",
    "LINK_OF_REMOTE",
    "ENQUEUE",
    "CLAIMABLE",
    "IN_LINE",
    "CLAIM",
    "RECORD",
    "ACKNOWLEDGED",
    "CONFLICTED",
    "BLOCK",
    "RELEASE",
    "FIGURES",
    "LISTED",
    "CONFLICTS",
)
"""The names of this module's statements."""


class CommandStore:
    """The sync repository (``SyncRepository`` of the storage port) over the shared
    statements; an adapter gives it the statements in its own parameter style and its
    ways of running one and of writing and reading instants and JSON. The caller owns
    the transaction."""

    schema_version: int = 0
    """The adapter's schema version, stamped on every command it queues."""

    def __init__(self, statements: dict[str, str]) -> None:
        self._sql = statements

    # -- the adapter's part ---------------------------------------------------------------

    def run(self, sql: str, values: dict[str, Any]) -> Any:
        """Run ``sql`` with ``values`` and return the cursor."""
        raise NotImplementedError

    def instant(self, at: datetime | None) -> Any:
        """An instant as the adapter stores it."""
        raise NotImplementedError

    def read_instant(self, stored: Any) -> datetime | None:
        """A stored instant as a datetime."""
        raise NotImplementedError

    def json(self, value: Any) -> Any:
        """A JSON value as the adapter stores it."""
        raise NotImplementedError

    def read_json(self, stored: Any) -> Any:
        """A stored JSON value as Python's."""
        raise NotImplementedError

    def configured(self) -> None:
        """After the configuration changed: what makes other engines read it again."""

    # -- the repository -------------------------------------------------------------------

    def _one(self, name: str, values: dict[str, Any]) -> Any:
        return self.run(self._sql[name], values).fetchone()

    def _command(self, row: Sequence[Any]) -> Command:
        return command_of(row, self.read_instant, self.read_json)

    def config(self) -> SyncConfig | None:
        return config_of(self._one("CONFIG", {}), self.read_instant)

    def configure(self, config: SyncConfig) -> None:
        values = {
            "remote": config.remote,
            "key_env": config.key_env,
            "configured_at": self.instant(config.configured_at),
        }
        self.run(self._sql["CONFIGURE"], values)
        self.configured()

    def rounds(self, at: datetime, succeeded: bool) -> None:
        self.run(self._sql["ROUND"], {"at": self.instant(at), "succeeded": succeeded})

    def track(self, ticket_id: str, number: int) -> None:
        self.run(self._sql["TRACK"], {"number": number, "ticket_id": ticket_id})

    def link(self, number: int) -> Link | None:
        return link_of(self._one("LINK", {"number": number}))

    def link_of(self, ticket_id: str | None = None, remote_id: str | None = None) -> Link | None:
        if ticket_id is not None:
            return link_of(self._one("LINK_OF_LOCAL", {"id": ticket_id}))
        return link_of(self._one("LINK_OF_REMOTE", {"id": remote_id}))

    def enqueue(self, number: int, commands: Sequence[NewCommand], now: datetime) -> bool:
        at = self.instant(now)
        for command in commands:  # one by one: each is the next in its ticket's line
            values = {
                "number": number,
                "kind": command.kind,
                "patch": self.json(command.patch),
                "base_version": command.base_version,
                "idempotency_key": command.idempotency_key,
                "api_version": API_VERSION,
                "schema_version": self.schema_version,
                "now": at,
            }
            if self.run(self._sql["ENQUEUE"], values).rowcount == 0:
                return False  # not a synced ticket
        return True

    def claim(
        self, now: datetime, until: datetime, token: str, tickets: int, each: int
    ) -> builtins.list[ClaimedTicket]:
        found = self.run(self._sql["CLAIMABLE"], {"now": self.instant(now), "limit": tickets})
        numbers = [number for (number,) in found.fetchall()]
        held = self.instant(until)
        claimed = []
        for number in numbers:
            link = self.link(number)
            assert link is not None
            rows = self.run(self._sql["IN_LINE"], {"number": number, "limit": each}).fetchall()
            line = tuple(self._command(row) for row in rows)
            own = f"{token}.{number}"
            for command in line:
                self.run(self._sql["CLAIM"], {"token": own, "until": held, "id": command.id})
            claimed.append(ClaimedTicket(link, line, own, until))
        return claimed

    def record(self, command: Command, token: str, result: CommandResult) -> bool:
        done = result.status == "done"
        values = {
            "id": command.id,
            "token": token,
            "status": result.status,
            "next_attempt_at": self.instant(result.next_attempt_at),
            "done_at": self.instant(result.at if done else None),
            "last_status": result.last_status,
            "last_error": result.last_error,
            "remote_version": result.remote_version,
        }
        if self.run(self._sql["RECORD"], values).rowcount == 0:
            return False
        number = command.ticket_number
        if done:
            acknowledged = {
                "number": number,
                "remote_id": result.remote_id,
                "remote_number": result.remote_number,
                "remote_version": result.remote_version,
            }
            self.run(self._sql["ACKNOWLEDGED"], acknowledged)
        elif result.status == "conflict":
            conflict = {
                "id": command.id,
                "ticket_id": command.ticket_id,
                "number": number,
                "status": result.last_status,
                "answer": None if result.answer is None else self.json(result.answer),
                "at": self.instant(result.at),
            }
            self.run(self._sql["CONFLICTED"], conflict)
            self.run(self._sql["BLOCK"], {"id": command.id, "number": number})
        return True

    def release(self, token: str) -> None:
        self.run(self._sql["RELEASE"], {"token": token})

    def figures(self) -> Figures:
        pending, oldest, dead, conflicts, blocked, retrying = self._one("FIGURES", {})
        return Figures(pending, self.read_instant(oldest), dead, conflicts, blocked, retrying)

    def commands(
        self, status: str | None, ticket_number: int | None, limit: int
    ) -> builtins.list[Command]:
        values = {"status": status, "number": ticket_number, "limit": limit}
        return [self._command(row) for row in self.run(self._sql["LISTED"], values).fetchall()]

    def conflicts(self) -> builtins.list[Conflict]:
        rows = self.run(self._sql["CONFLICTS"], {}).fetchall()
        return [conflict_of(row, self.read_instant, self.read_json) for row in rows]
