"""What both adapters share of the webhook tables: the statements, written once with
named parameters (``%(name)s``, psycopg's; :func:`for_sqlite` turns them into SQLite's
``:name``), and how a delivery becomes their parameters, given each adapter's way of
storing an instant."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from ..domain.webhooks import Delivery
from .port import Attempt, DeliveryQuery, NewDelivery

Instant = Callable[[datetime | None], Any]
"""An adapter's way of storing an instant (or ``None``)."""

DELIVERY_COLUMNS = (
    "id, subscription, event, ticket_id, sequence, status, attempts, next_attempt_at,"
    " created_at, delivered_at, last_status, last_error, body, key"
)
"""The columns a :class:`~ayra_tickets.domain.webhooks.Delivery` is read from, in its
fields' order."""

SUBSCRIPTIONS = (
    "SELECT id, url, events, secret, created_at FROM webhook_subscriptions ORDER BY created_at, id"
)
SUBSCRIBE = (
    "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at)"
    " VALUES (%(id)s, %(url)s, %(events)s, %(secret)s, %(created_at)s)"
)
DROP_DELIVERIES = "DELETE FROM webhook_deliveries WHERE subscription = %(id)s"
UNSUBSCRIBE = "DELETE FROM webhook_subscriptions WHERE id = %(id)s"

ENQUEUE = (
    "INSERT INTO webhook_deliveries (id, subscription, event, ticket_id, ticket_number, key,"
    " body, status, next_attempt_at, created_at) VALUES (%(id)s, %(subscription)s,"
    " %(event)s, %(ticket_id)s, %(ticket_number)s, %(key)s, %(body)s, 'pending', %(now)s,"
    " %(now)s)"
    " ON CONFLICT (subscription, key) WHERE key IS NOT NULL DO NOTHING"
)

CLAIMABLE = """
SELECT d.id, s.url, s.secret, d.body, d.attempts
FROM webhook_deliveries AS d JOIN webhook_subscriptions AS s ON s.id = d.subscription
WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s
  AND (d.attempting_until IS NULL OR d.attempting_until <= %(now)s)
  AND NOT EXISTS (
    SELECT 1 FROM webhook_deliveries AS e
    WHERE e.status = 'pending' AND e.subscription = d.subscription
      AND e.ticket_number = d.ticket_number AND e.sequence < d.sequence
  )
  {passed_over}
ORDER BY d.sequence
LIMIT %(limit)s
"""
"""The deliveries due and free (not held, or held by a claim that lapsed), each the first
pending one of its ticket for its subscription: a later one waits while an earlier one
is pending, so that a ticket's events arrive in the order their changes committed.
``{passed_over}``: an adapter's test leaving out the URLs of ``%(passed_over)s``, or
nothing."""
RELEASE = (
    "UPDATE webhook_deliveries SET claim = NULL, attempting_until = NULL"
    " WHERE id = %(id)s AND claim = %(token)s"
)
"""A claimed delivery let go unattempted (its attempts as they were)."""
CLAIM = (
    "UPDATE webhook_deliveries SET claim = %(token)s, attempting_until = %(until)s"
    " WHERE id = %(id)s"
)
RECORD = (
    "UPDATE webhook_deliveries SET attempts = attempts + 1, status = %(status)s,"
    " next_attempt_at = %(next_attempt_at)s, delivered_at = %(delivered_at)s,"
    " last_status = %(last_status)s, last_error = %(last_error)s,"
    " claim = NULL, attempting_until = NULL WHERE id = %(id)s AND claim = %(token)s"
)
LISTED = (
    f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries"
    " WHERE (CAST(%(subscription)s AS text) IS NULL OR subscription = %(subscription)s)"
    " AND (CAST(%(status)s AS text) IS NULL OR status = %(status)s)"
    " AND (CAST(%(ticket_id)s AS text) IS NULL OR ticket_id = %(ticket_id)s)"
    " ORDER BY sequence DESC LIMIT %(limit)s"
)
ONE = f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = %(id)s"
ALL = f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries ORDER BY sequence"
REDELIVER = (
    "UPDATE webhook_deliveries SET status = 'pending', attempts = 0,"
    " next_attempt_at = %(now)s, delivered_at = NULL, claim = NULL,"
    " attempting_until = NULL WHERE id = %(id)s"
)
INSERT_STORED = (
    "INSERT INTO webhook_deliveries (id, subscription, event, ticket_id, ticket_number,"
    " status, attempts, next_attempt_at, created_at, delivered_at, last_status, last_error,"
    " body, key) VALUES (%(id)s, %(subscription)s, %(event)s, %(ticket_id)s,"
    " coalesce((SELECT number FROM tickets WHERE id = %(ticket_id)s), 0), %(status)s,"
    " %(attempts)s, %(next_attempt_at)s, %(created_at)s, %(delivered_at)s,"
    " %(last_status)s, %(last_error)s, %(body)s, %(key)s)"
)

_NAMED = re.compile(r"%\((\w+)\)s")


def for_sqlite(sql: str) -> str:
    """A statement of this module with SQLite's named parameters (``:name``)."""
    return _NAMED.sub(r":\1", sql)


def enqueued(delivery: NewDelivery, now: Any) -> dict[str, Any]:
    """The parameters of :data:`ENQUEUE` for a new delivery, due at ``now`` (stored);
    field by field, as a create writes one or more a subscription."""
    return {
        "id": delivery.id,
        "subscription": delivery.subscription,
        "event": delivery.event,
        "ticket_id": delivery.ticket_id,
        "ticket_number": delivery.ticket_number,
        "body": delivery.body,
        "key": delivery.key,
        "now": now,
    }


def recorded(delivery_id: str, token: str, attempt: Attempt, instant: Instant) -> dict[str, Any]:
    """The parameters of :data:`RECORD`."""
    return {
        **attrs.asdict(attempt),
        "id": delivery_id,
        "token": token,
        "next_attempt_at": instant(attempt.next_attempt_at),
        "delivered_at": instant(attempt.at if attempt.status == "delivered" else None),
    }


def stored(delivery: Delivery, instant: Instant) -> dict[str, Any]:
    """The parameters of :data:`INSERT_STORED` for a delivery copied from elsewhere."""
    times = ("next_attempt_at", "created_at", "delivered_at")
    return {
        **attrs.asdict(delivery),
        **{name: instant(getattr(delivery, name)) for name in times},
    }


def listed(query: DeliveryQuery) -> dict[str, Any]:
    """The parameters of :data:`LISTED`."""
    return attrs.asdict(query)
