"""Sync with the remote Ticket API, as rules: which commands a local write makes, what a
command is, how the remote's answer to one is judged, when a failed one is tried again,
and how a lost answer is recognised as applied.

Nothing here sends or stores anything: the services (``ayra_tickets/sync.py``) write
commands to the outbox in the transaction of the change and push them; the sender
(``ayra_tickets/sender.py``) makes the requests.

A command is what the remote must be told of one local write: its ``kind`` (``create``,
``update`` or ``close``), a patch of the fields the write changed (as the API's JSON,
never the whole ticket, so that a later three-way merge can tell the sides' changes
apart), the local version the change was made against, and an ``Idempotency-Key`` fixed
when it is queued.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import attrs

from .errors import ParameterInvalid
from .ids import random_token
from .ticket import CLOSE_FIELDS, Event, Ticket
from .times import format_optional
from .webhooks import jitter, validate_url

API_VERSION = "v1"
"""The remote API every command is written for (its paths start with it)."""
SENDABLE_APIS = (API_VERSION,)
"""The API versions this release can send; a command written for another is refused
with a reason, never dropped."""

KINDS = ("create", "update", "close")
STATUSES = ("pending", "done", "dead", "conflict")
"""A command is ``pending`` until the remote answers it: ``done`` (2xx), ``dead`` (a
4xx that no retry can mend), or ``conflict`` (409 or 412: the remote's ticket is not
what the command was written against)."""

CREATE_FIELDS = (
    "subject",
    "description",
    "priority",
    "status",
    "category",
    "contact_id",
    "conversation_id",
    "assigned_to",
    "due_date",
    "tags",
    "custom_fields",
    "metadata",
)
"""What a create sends of a new ticket (the fields ``POST /v1/tickets`` takes)."""

KEY_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
"""The name of an environment variable."""
SECRET_LIKE = re.compile(r"(sk|rk|pk)_(test|live)_", re.IGNORECASE)

FIRST_DELAY = timedelta(seconds=1)
LONGEST_DELAY = timedelta(minutes=15)
LONGEST_RETRY_AFTER = timedelta(days=1)
"""A ``Retry-After`` past this is taken as this."""


# -- configuration ----------------------------------------------------------------------


@attrs.frozen
class SyncConfig:
    """Where the remote is, and the name of the environment variable that holds its API
    key (the key itself is never stored); with the outcome of the rounds so far."""

    remote: str
    key_env: str
    configured_at: datetime
    last_round_at: datetime | None = None
    last_success_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "key_env": self.key_env,
            "configured_at": format_optional(self.configured_at),
            "last_round_at": format_optional(self.last_round_at),
            "last_success_at": format_optional(self.last_success_at),
        }


def validate_remote(remote: object) -> str:
    """The remote's base URL (http or https, a host, no query), without a trailing
    slash; or :class:`ParameterInvalid` naming ``remote``."""
    try:
        url = validate_url(remote)
    except ParameterInvalid as error:
        raise ParameterInvalid(str(error).replace("url", "remote", 1), param="remote") from error
    if "?" in url:
        raise ParameterInvalid("remote must not have a query (?...)", param="remote")
    return url.rstrip("/")


def validate_key_env(name: object) -> str:
    """The name of the environment variable holding the remote's key; a key given in its
    place is refused, so that it is never stored."""
    if isinstance(name, str) and SECRET_LIKE.match(name):
        raise ParameterInvalid(
            "key_env is the name of the environment variable that holds the key, not the"
            " key itself (which is never stored)",
            param="key_env",
        )
    if not isinstance(name, str) or not KEY_ENV.fullmatch(name):
        raise ParameterInvalid(
            "key_env must be the name of an environment variable (letters, digits and"
            " underscores, not starting with a digit)",
            param="key_env",
        )
    return name


# -- commands ---------------------------------------------------------------------------


@attrs.frozen
class NewCommand:
    """A command to queue: its kind, its patch (the API's JSON), and the local version
    the change was made against (0 for a create)."""

    kind: str
    patch: Mapping[str, Any]
    base_version: int
    idempotency_key: str = attrs.field(factory=lambda: new_idempotency_key())


def new_idempotency_key() -> str:
    """A command's ``Idempotency-Key``: ``sync_`` and 32 random characters."""
    return "sync_" + random_token(32)


@attrs.frozen
class Command:
    """A command as stored: ``id`` orders all commands as queued, ``seq`` a ticket's
    (from 1); ``ticket_id`` and ``ticket_number`` are the local ticket's."""

    id: int
    ticket_id: str
    ticket_number: int
    seq: int
    kind: str
    patch: Mapping[str, Any]
    base_version: int
    idempotency_key: str
    api_version: str
    schema_version: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    done_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    remote_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "number": f"TICK-{self.ticket_number}",
            "seq": self.seq,
            "kind": self.kind,
            "patch": dict(self.patch),
            "base_version": self.base_version,
            "idempotency_key": self.idempotency_key,
            "api_version": self.api_version,
            "schema_version": self.schema_version,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": format_optional(self.next_attempt_at),
            "created_at": format_optional(self.created_at),
            "done_at": format_optional(self.done_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "remote_version": self.remote_version,
        }


@attrs.frozen
class Link:
    """A local ticket and its remote counterpart: the remote's id, number and version
    once a create has been answered (``None`` before), and the conflict that holds its
    queue (``None``: none)."""

    ticket_id: str
    ticket_number: int
    remote_id: str | None = None
    remote_number: str | None = None
    remote_version: int | None = None
    blocked_by: int | None = None


@attrs.frozen
class Conflict:
    """A command the remote refused with 409 or 412, with the remote's answer: the
    ticket's queue waits behind it until it is settled."""

    id: int
    command_id: int
    ticket_id: str
    status: int
    answer: Mapping[str, Any] | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "command_id": self.command_id,
            "ticket_id": self.ticket_id,
            "status": self.status,
            "answer": None if self.answer is None else dict(self.answer),
            "created_at": format_optional(self.created_at),
        }


def commands_of(before: Ticket | None, after: Ticket, events: Sequence[Event]) -> list[NewCommand]:
    """The commands a local write makes: a create for a new ticket (its fields as
    ``POST /v1/tickets`` takes them); for a change, an update of the fields its events
    changed (``custom_fields`` as a patch of the keys that changed, ``null`` for one
    removed; a note as ``internal_note``), then a close if it closed the ticket (with
    the resolution fields it set)."""
    if before is None:
        return [NewCommand("create", create_body(after), 0)]
    patch: dict[str, Any] = {}
    closing: dict[str, Any] | None = None
    for event in events:
        kind = event.type
        if kind == "closed":
            data = event.data or {}
            closing = {name: data[name] for name in CLOSE_FIELDS if name in data}
        elif kind in ("status_changed", "reopened"):
            patch["status"] = event.new
        elif kind == "note_added":
            patch["internal_note"] = (event.data or {}).get("note")
        elif kind in ("field_changed", "assigned") and event.field is not None:
            if event.field == "custom_fields":
                changed = object_patch(event.old or {}, event.new or {})
                patch["custom_fields"] = {**patch.get("custom_fields", {}), **changed}
            else:
                patch[event.field] = event.new
    made = [NewCommand("update", patch, before.version)] if patch else []
    if closing is not None:
        made.append(NewCommand("close", closing, before.version))
    return made


def create_body(ticket: Ticket) -> dict[str, Any]:
    """A new ticket as a create's body: every field it has a value for."""
    shown = ticket.persistent()
    return {name: shown[name] for name in CREATE_FIELDS if shown[name] not in (None, [], {})}


def object_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """What merged into ``old`` gives ``new``: the keys that changed, ``None`` for those
    removed."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    patch.update({key: value for key, value in new.items() if old.get(key, ...) != value})
    return patch


# -- answers ----------------------------------------------------------------------------

ACKNOWLEDGED, RETRY, CONFLICT, DEAD, REFUSED = (
    "acknowledged",
    "retry",
    "conflict",
    "dead",
    "refused",
)


def verdict(status: int | None) -> str:
    """What an answer's status means for a command: ``acknowledged`` (2xx); ``retry``
    later (no answer, 408, 425, 429, 5xx); ``conflict`` (409, 412); ``dead`` (any other
    4xx: no retry mends it); ``refused`` (401, 403, or a redirect: the key or the
    remote's address is wrong, so the round stops and every command is kept)."""
    if status is None or status in (408, 425, 429) or status >= 500:
        return RETRY
    if 200 <= status < 300:
        return ACKNOWLEDGED
    if status in (409, 412):
        return CONFLICT
    if status in (401, 403) or status < 400:
        return REFUSED
    return DEAD


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A ``Retry-After`` header's wait (seconds, or an HTTP date measured from ``now``),
    at most :data:`LONGEST_RETRY_AFTER`; ``None`` when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        wait = timedelta(seconds=int(text[:12]))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        wait = max(timedelta(0), when - now)
    return min(wait, LONGEST_RETRY_AFTER)


def retry_delay(key: str, attempt: int, asked: timedelta | None = None) -> timedelta:
    """How long after failed ``attempt`` (1-based) of the command with this
    ``Idempotency-Key`` the next one is made, in whole seconds: 1, 2, 4, ... seconds,
    at most 15 minutes, stretched by a jitter factor in [1, 1.25) from a digest of the
    key and the attempt (the webhooks' own); never sooner than the remote ``asked``
    (``Retry-After``). A command is retried for as long as it takes: it is never dropped
    for want of an answer."""
    doubled = FIRST_DELAY * 2 ** min(max(attempt, 1) - 1, 20)
    base = min(doubled, LONGEST_DELAY).total_seconds()
    delay = timedelta(seconds=math.ceil(base * jitter(key, attempt)))
    return delay if asked is None else max(delay, asked)


def already_applied(
    command: Command,
    sent_against: int,
    remote: Mapping[str, Any],
    notes: Sequence[Mapping[str, Any]] = (),
) -> bool:
    """Whether the remote's ticket (``remote``, the API's object, and its ``notes``: the
    ``note_added`` events of its history) shows ``command`` applied on top of version
    ``sent_against``: one version past it, with every value the command set. What a
    retried update or close meets when the answer to an earlier attempt was lost after
    the remote committed it (its ``If-Match`` no longer holds)."""
    if remote.get("version") != sent_against + 1:
        return False
    if command.kind == "close":
        wanted: Mapping[str, Any] = {"status": "closed", **command.patch}
    else:
        wanted = command.patch
    for name, value in wanted.items():
        if name == "internal_note":
            if not any(
                (note.get("data") or {}).get("note") == value
                and note.get("version") == sent_against + 1
                for note in notes
            ):
                return False
        elif name == "custom_fields":
            held = remote.get("custom_fields") or {}
            if any(held.get(key) != each for key, each in value.items()):
                return False
        elif remote.get(name) != value:
            return False
    return True


def etag_version(etag: str | None) -> int | None:
    """The version an ``ETag`` (``"v3"``) names."""
    found = re.fullmatch(r'\s*(?:W/)?"v([0-9]{1,18})"\s*', etag or "")
    return None if found is None else int(found.group(1))


# -- what a round did, and where sync stands --------------------------------------------


@attrs.define
class SyncReport:
    """What one round did: commands sent and acknowledged, kept for a retry, moved to
    the dead letters, recorded as conflicts, found applied already (a lost answer); the
    tickets' lines it claimed (a line claimed again in the round counts again); what
    stopped it, if anything (``refused``: the remote refused the key); and the commands
    pending after it."""

    attempted: int = 0
    acknowledged: int = 0
    retried: int = 0
    dead: int = 0
    conflicts: int = 0
    recovered: int = 0
    tickets: int = 0
    refused: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    pending: int = 0

    def succeeded(self, retrying: int) -> bool:
        """Whether the round leaves sync whole: the remote answered every attempt (none
        kept for a retry, none refused) and no command waits for another attempt
        (``retrying``: how many do)."""
        return self.refused is None and self.retried == 0 and retrying == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "acknowledged": self.acknowledged,
            "retried": self.retried,
            "dead": self.dead,
            "conflicts": self.conflicts,
            "recovered": self.recovered,
            "tickets": self.tickets,
            "refused": self.refused,
            "pending": self.pending,
            "started_at": format_optional(self.started_at),
            "finished_at": format_optional(self.finished_at),
        }


@attrs.frozen
class Figures:
    """The outbox's counts, as storage reads them (``retrying``: pending commands
    attempted before, waiting for another attempt)."""

    pending: int
    oldest_pending_at: datetime | None
    dead: int
    conflicts: int
    blocked: int
    retrying: int


@attrs.frozen
class SyncStatus:
    """Where sync stands: whether it is configured (and where to), the pending commands
    (those waiting for another attempt among them) and how long the oldest has waited,
    the dead letters, the open conflicts (and the tickets they hold), and the last round
    and the last one that left sync whole (see :meth:`SyncReport.succeeded`)."""

    configured: bool
    remote: str | None
    pending: int
    retrying: int
    oldest_pending_age: timedelta | None
    dead: int
    conflicts: int
    blocked: int
    last_round_at: datetime | None
    last_success_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        age = self.oldest_pending_age
        return {
            "configured": self.configured,
            "remote": self.remote,
            "pending": self.pending,
            "retrying": self.retrying,
            "oldest_pending_age": None if age is None else int(age.total_seconds()),
            "dead": self.dead,
            "conflicts": self.conflicts,
            "blocked": self.blocked,
            "last_round_at": format_optional(self.last_round_at),
            "last_success_at": format_optional(self.last_success_at),
        }


class SyncUnavailable(Exception):
    """Sync cannot run: it is not configured, its key's environment variable is not
    set, or a queued command was written for an API this release cannot send. The
    message says which; nothing is changed or dropped."""
