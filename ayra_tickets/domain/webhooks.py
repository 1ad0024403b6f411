"""Events out, as rules: which webhook events a ticket's write makes, what a subscription
may ask for, how a delivery is signed and checked, and when a failed one is tried again.

Nothing here sends or stores anything: the services (``ayra_tickets/webhooks.py``) write
deliveries to the outbox, and the sender (``ayra_tickets/sender.py``) posts them.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs

from .errors import ParameterInvalid
from .ids import random_token
from .ticket import Event
from .times import format_time

EVENT_NAMES = (
    "ticket.created",
    "ticket.updated",
    "ticket.status_changed",
    "ticket.assigned",
    "ticket.closed",
    "ticket.reopened",
    "sla.breached",
    "ticket.escalated",
)
"""The events the engine sends by itself; a ``Notify`` action of an escalation may send
any other lower-case dotted name."""
ALL = "*"
"""The subscription to every event."""
_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
"""An event's name: lower-case words joined by dots (``ticket.created``, ``oncall.page``)."""

SUBSCRIPTION_PREFIX = "we_"
DELIVERY_PREFIX = "whd_"
SECRET_PREFIX = "whsec_"
MAX_URL = 2_000
MAX_SECRET = 200
MAX_EVENTS = 100
"""The most event names one subscription lists."""
MAX_SUBSCRIPTIONS = 100
"""The most subscriptions a database holds: a change writes a delivery for each that
wants its event, in its own transaction."""
MIN_SECRET = 16

SIGNATURE_HEADER = "Ayra-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE = 300
"""Seconds a signature's timestamp may be away from the receiver's clock."""

STATUSES = ("pending", "delivered", "dead")
"""A delivery is ``pending`` (due now, or waiting for its next attempt), ``delivered``
(a receiver answered 2xx) or ``dead`` (every attempt of the schedule failed)."""

# -- what a ticket's write announces ----------------------------------------------------

_ONCE_A_WRITE = {
    "created": "ticket.created",
    "field_changed": "ticket.updated",
    "note_added": "ticket.updated",
    "status_changed": "ticket.status_changed",
    "closed": "ticket.closed",
    "reopened": "ticket.reopened",
    "assigned": "ticket.assigned",
}
"""Ticket events that make one webhook event a write, however many of them it holds."""


@attrs.frozen
class Occurrence:
    """One webhook event a write makes: its name, the ticket events behind it, and for
    one that may be announced again (an SLA breach), the key naming it for good."""

    name: str
    events: tuple[Event, ...]
    key: str | None = None


def breach_key(ticket_id: str, data: Mapping[str, Any] | None) -> str | None:
    """The key of a breach: the ticket, the target and the deadline it was held to. A
    breach written with a change of the ticket and the same one announced when its
    deadline passed by (``run_due``) are one occurrence, delivered once."""
    if not data or "target" not in data or "due_at" not in data:
        return None
    return f"sla.breached:{ticket_id}:{data['target']}:{data['due_at']}"


def occurrences(ticket_id: str, events: Sequence[Event]) -> list[Occurrence]:
    """The webhook events of one write's ticket events, in the order of the first event
    behind each: ``ticket.updated`` (any field change or note), ``ticket.assigned`` (an
    ``assigned`` event, ``assigned_to`` changed to an agent, or a ticket created with
    one) and the lifecycle's once
    a write; ``sla.breached`` once a breach; ``ticket.escalated`` once an escalation's
    action, and a ``notify`` action's own event name with it."""
    found: dict[str, list[Event]] = {}
    out: list[Occurrence] = []

    def once(name: str, event: Event) -> None:
        if name in found:
            found[name].append(event)
        else:
            found[name] = [event]
            out.append(Occurrence(name, ()))

    for event in events:
        name = _ONCE_A_WRITE.get(event.type)
        if name is not None:
            once(name, event)
            if event.field == "assigned_to" and event.new is not None:
                once("ticket.assigned", event)
            elif event.type == "created" and (event.data or {}).get("assigned_to"):
                once("ticket.assigned", event)  # created with an assignee given
        elif event.type == "sla_breached":
            out.append(Occurrence("sla.breached", (event,), breach_key(ticket_id, event.data)))
        elif event.type == "escalated":
            out.append(Occurrence("ticket.escalated", (event,)))
            data = event.data or {}
            if data.get("action") == "notify" and isinstance(data.get("event"), str):
                out.append(Occurrence(data["event"], (event,)))
    return [
        Occurrence(each.name, tuple(found[each.name])) if each.name in found else each
        for each in out
    ]


def event_data(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Ticket events as a payload shows them: as the API's event objects, without the id
    the log gives them (a delivery is made before the log numbers them), and a
    ``created`` event without its ``data``, which is the new ticket: the payload's
    ``ticket`` gives it whole (half a create's delivery, written twice, otherwise)."""
    shown = []
    for event in events:
        data = event.to_dict()
        del data["id"]
        if event.type == "created":
            data["data"] = None
        shown.append(data)
    return shown


def occurrence_data(occurrence: Occurrence) -> dict[str, Any]:
    """What a payload's ``data`` holds beside the ticket: the ticket events behind the
    webhook event, and for one made by a single event of its own (a breach, an
    escalation, a notification), that event's data too (``target``, ``due_at``;
    ``level``, ``action``, ...), as an announced one has."""
    extra: dict[str, Any] = {}
    if occurrence.name not in _ONCE_A_WRITE.values() and len(occurrence.events) == 1:
        extra.update(occurrence.events[0].data or {})
    extra["events"] = event_data(occurrence.events)
    return extra


def payload(
    delivery_id: str, name: str, now: datetime, ticket: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """What a receiver gets: ``{"id", "type", "created_at", "data": {"ticket", ...}}``."""
    return {
        "id": delivery_id,
        "type": name,
        "created_at": format_time(now),
        "data": {"ticket": dict(ticket), **extra},
    }


def encoded(value: Any) -> str:
    """JSON as a delivery's body holds it: compact, UTF-8 kept as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def body(delivery_id: str, name: str, now: datetime, ticket: str, extra: Mapping[str, Any]) -> str:
    """:func:`payload` encoded (:func:`encoded`), given the ticket encoded already: a
    write's deliveries encode their ticket once."""
    if "ticket" in extra:  # the event's own data names a ticket: the plain way
        return encoded(payload(delivery_id, name, now, json.loads(ticket), extra))
    head = encoded({"id": delivery_id, "type": name, "created_at": format_time(now)})
    rest = encoded(extra)
    return f'{head[:-1]},"data":{{"ticket":{ticket}{"," + rest[1:-1] if extra else ""}}}}}'


# -- subscriptions ----------------------------------------------------------------------


def new_subscription_id() -> str:
    return SUBSCRIPTION_PREFIX + random_token(24)


def new_delivery_id(ticket_number: int) -> str:
    """A delivery's id: its ticket's number (fixed-width hex, so that a new ticket's ids
    sort after every other's and are stored at the end of their index), then 20 random
    characters."""
    return f"{DELIVERY_PREFIX}{ticket_number:010x}{random_token(20)}"


def new_secret() -> str:
    return SECRET_PREFIX + random_token(32)


def validate_url(url: object) -> str:
    """An ``http`` or ``https`` URL with a host, or :class:`ParameterInvalid` naming what
    is wrong."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise ParameterInvalid(
            f"url must be an http or https URL of at most {MAX_URL} characters", param="url"
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ParameterInvalid("url must not contain spaces or control characters", param="url")
    try:
        parts = urlsplit(url)
        port = parts.port  # a port out of range raises here
    except ValueError as error:
        raise ParameterInvalid(f"url is not a valid URL ({error})", param="url") from error
    if parts.scheme not in ("http", "https"):
        raise ParameterInvalid(
            f"url must start with http:// or https://, not {parts.scheme or 'nothing'}",
            param="url",
        )
    if not parts.hostname:
        raise ParameterInvalid("url must name a host", param="url")
    if port == 0:
        raise ParameterInvalid("url must not name port 0", param="url")
    if parts.fragment:
        raise ParameterInvalid("url must not have a fragment (#...)", param="url")
    return url


def validate_events(events: object) -> tuple[str, ...]:
    """A non-empty list of event names: the built-in ones (:data:`EVENT_NAMES`), ``*``
    for all, or a lower-case dotted name a ``Notify`` action may send."""
    listed = () if isinstance(events, str | bytes) else events
    if not isinstance(listed, Iterable):
        raise ParameterInvalid("events must be a list of event names", param="events")
    names = tuple(itertools.islice(listed, MAX_EVENTS + 1))
    if len(names) > MAX_EVENTS:
        raise ParameterInvalid(f"events may name at most {MAX_EVENTS}", param="events")
    if not names:
        raise ParameterInvalid(
            "events must name at least one event (or '*' for all)", param="events"
        )
    for name in names:
        if name != ALL and not (isinstance(name, str) and _NAME.fullmatch(name)):
            raise ParameterInvalid(
                f"events: {name!r} is not an event name: one of {', '.join(EVENT_NAMES)},"
                " '*', or lower-case words joined by dots",
                param="events",
            )
    return tuple(dict.fromkeys(names))


def validate_secret(secret: object) -> str:
    if not (
        isinstance(secret, str)
        and MIN_SECRET <= len(secret) <= MAX_SECRET
        and secret.isascii()
        and secret.isprintable()
        and not any(ch.isspace() for ch in secret)
    ):
        raise ParameterInvalid(
            f"secret must be {MIN_SECRET} to {MAX_SECRET} printable ASCII characters,"
            " without spaces",
            param="secret",
        )
    return secret


@attrs.frozen
class Subscription:
    """A receiver of events: where they go, which ones, and since when. ``secret`` signs
    what is sent; the engine shows it once, in the answer of ``subscribe``."""

    id: str
    url: str
    events: tuple[str, ...]
    created_at: datetime
    secret: str | None = attrs.field(default=None, repr=False)

    def wants(self, name: str) -> bool:
        return ALL in self.events or name in self.events

    def shown(self) -> Subscription:
        """As a listing shows it: without its secret."""
        return attrs.evolve(self, secret=None)

    def to_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "created_at": format_time(self.created_at),
        }
        if self.secret is not None:
            shown["secret"] = self.secret
        return shown


@attrs.frozen
class Delivery:
    """One event for one subscription, as the outbox holds it."""

    id: str
    subscription: str
    event: str
    ticket_id: str
    sequence: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    body: str = attrs.field(repr=False)
    key: str | None = attrs.field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        def time_or_none(at: datetime | None) -> str | None:
            return None if at is None else format_time(at)

        return {
            "id": self.id,
            "subscription": self.subscription,
            "event": self.event,
            "ticket_id": self.ticket_id,
            "sequence": self.sequence,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": time_or_none(self.next_attempt_at),
            "created_at": format_time(self.created_at),
            "delivered_at": time_or_none(self.delivered_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
        }


# -- retries ----------------------------------------------------------------------------

FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=4)
RETRY_SPAN = timedelta(hours=24)
"""Retries go on until their delays (before jitter) add up to at least this."""
JITTER = 0.25
"""Each delay is stretched by a factor in ``[1, 1 + JITTER)``."""


def _base_delays() -> tuple[timedelta, ...]:
    delays: list[timedelta] = []
    delay = FIRST_DELAY
    while sum(delays, timedelta()) < RETRY_SPAN:
        delays.append(delay)
        delay = min(delay * 2, LONGEST_DELAY)
    return tuple(delays)


BASE_DELAYS = _base_delays()
"""The delay after each failed attempt before jitter: 1, 2, 4, ... minutes, at most 4
hours, until they add up to 24 hours (1 + 2 + ... + 128 minutes, then 4 hours five
times: 24 h 15 min, 13 retries, 14 attempts in all)."""
MAX_ATTEMPTS = len(BASE_DELAYS) + 1


def jitter(delivery_id: str, attempt: int) -> float:
    """The factor stretching the delay after ``attempt`` (1-based) of a delivery: in
    ``[1, 1 + JITTER)``, from a digest of the delivery's id and the attempt, so that
    deliveries failing together spread out, and the schedule is known in advance."""
    digest = hashlib.sha256(f"{delivery_id}:{attempt}".encode()).digest()
    return 1 + JITTER * (int.from_bytes(digest[:8], "big") / 2**64)


def retry_delay(delivery_id: str, attempt: int) -> timedelta | None:
    """How long after failed ``attempt`` (1-based) the next one is made, in whole
    seconds; ``None`` once the schedule is spent (the delivery is dead)."""
    if attempt < 1 or attempt > len(BASE_DELAYS):
        return None
    base = BASE_DELAYS[attempt - 1].total_seconds()
    return timedelta(seconds=int(base * jitter(delivery_id, attempt)))


# -- signatures -------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """``Ayra-Signature``'s value: ``t=<unix seconds>,v1=<hex signature>``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


class SignatureInvalid(ValueError):
    """A webhook's signature does not verify: the message says why."""


def verify(
    body: bytes | str,
    header: str | None,
    secret: str,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a received webhook: ``body`` as received (bytes, or text as UTF-8),
    ``header`` the ``Ayra-Signature`` value, ``secret`` the subscription's. Returns the
    signed timestamp; raises :class:`SignatureInvalid` when the header is malformed, no
    ``v1`` signature matches (compared in constant time), or the timestamp is more than
    ``tolerance`` seconds from ``now`` (Unix seconds; default the system clock's)."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if not header:
        raise SignatureInvalid(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureInvalid(f"the {SIGNATURE_HEADER} header needs t=<seconds> and v1=<hex>")
    expected = signature(secret, timestamp, raw)
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise SignatureInvalid("no signature matches the body under this secret")
    moment = time.time() if now is None else now
    if tolerance is not None and abs(moment - timestamp) > tolerance:
        raise SignatureInvalid(
            f"the signature's timestamp is {abs(moment - timestamp):.0f} s away, over the"
            f" tolerance of {tolerance} s"
        )
    return timestamp
