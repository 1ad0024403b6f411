"""Webhook subscriptions and the outbox of their deliveries on PostgreSQL.

A change of the subscriptions raises the version that :meth:`~.adapter.PostgresStorage.changed`
reads (the policies' own), so that every engine reloads them in its next transaction.
Two claims of one delivery at once: the later one's update meets the earlier one's
(REPEATABLE READ), fails to serialize, and is run again, finding it held.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.webhooks import Delivery, Subscription
from ..port import Claimed, NewDelivery
from .policies import BUMP_VERSION

if TYPE_CHECKING:
    from .adapter import Connections

_DELIVERY_COLUMNS = (
    "id, subscription, event, ticket_id, sequence, status, attempts, next_attempt_at,"
    " created_at, delivered_at, last_status, last_error, body, key"
)

_CLAIMABLE = """
SELECT d.id, s.url, s.secret, d.body, d.attempts
FROM webhook_deliveries AS d JOIN webhook_subscriptions AS s ON s.id = d.subscription
WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s
  AND (d.attempting_until IS NULL OR d.attempting_until <= %(now)s)
  AND NOT EXISTS (
    SELECT 1 FROM webhook_deliveries AS e
    WHERE e.status = 'pending' AND e.subscription = d.subscription
      AND e.ticket_id = d.ticket_id AND e.sequence < d.sequence
  )
ORDER BY d.sequence
LIMIT %(limit)s
"""
"""As SQLite's: the due, free deliveries first in line for their ticket and subscription."""


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(*row)


class WebhookStore:
    """The ``webhook_subscriptions`` and ``webhook_deliveries`` tables; the caller owns
    the transaction."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def subscribe(self, subscription: Subscription) -> None:
        conn = self._connections.conn
        conn.execute(
            "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (
                subscription.id,
                subscription.url,
                list(subscription.events),
                subscription.secret,
                subscription.created_at,
            ),
        )
        conn.execute(BUMP_VERSION)

    def unsubscribe(self, subscription_id: str) -> bool:
        conn = self._connections.conn
        conn.execute("DELETE FROM webhook_deliveries WHERE subscription = %s", (subscription_id,))
        gone = conn.execute("DELETE FROM webhook_subscriptions WHERE id = %s", (subscription_id,))
        conn.execute(BUMP_VERSION)
        return gone.rowcount > 0

    def subscriptions(self) -> builtins.list[Subscription]:
        return [
            Subscription(sid, url, tuple(events), created_at, secret)
            for sid, url, events, secret, created_at in self._connections.conn.execute(
                "SELECT id, url, events, secret, created_at FROM webhook_subscriptions"
                ' ORDER BY created_at, id COLLATE "C"'
            )
        ]

    def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        written = 0
        with self._connections.conn.cursor() as cursor:
            for d in deliveries:  # one by one: their sequence follows this order
                cursor.execute(
                    "INSERT INTO webhook_deliveries (id, subscription, event, ticket_id, key,"
                    " body, status, next_attempt_at, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s)"
                    " ON CONFLICT (subscription, key) DO NOTHING",
                    (d.id, d.subscription, d.event, d.ticket_id, d.key, d.body, now, now),
                )
                written += cursor.rowcount
        return written

    def claim(
        self, now: datetime, until: datetime, token: str, limit: int
    ) -> builtins.list[Claimed]:
        conn = self._connections.conn
        found = [Claimed(*row) for row in conn.execute(_CLAIMABLE, {"now": now, "limit": limit})]
        if found:
            conn.execute(
                "UPDATE webhook_deliveries SET claim = %s, attempting_until = %s"
                " WHERE id = ANY(%s)",
                (token, until, [each.id for each in found]),
            )
        return found

    def record(
        self,
        delivery_id: str,
        token: str,
        *,
        at: datetime,
        status: str,
        next_attempt_at: datetime | None,
        last_status: int | None,
        last_error: str | None,
    ) -> bool:
        done = self._connections.conn.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, status = %s,"
            " next_attempt_at = %s, delivered_at = %s, last_status = %s, last_error = %s,"
            " claim = NULL, attempting_until = NULL WHERE id = %s AND claim = %s",
            (
                status,
                next_attempt_at,
                at if status == "delivered" else None,
                last_status,
                last_error,
                delivery_id,
                token,
            ),
        )
        return done.rowcount > 0

    def deliveries(
        self,
        subscription: str | None,
        status: str | None,
        ticket_id: str | None,
        limit: int,
    ) -> builtins.list[Delivery]:
        rows = self._connections.conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries"
            " WHERE (%(subscription)s::text IS NULL OR subscription = %(subscription)s)"
            " AND (%(status)s::text IS NULL OR status = %(status)s)"
            " AND (%(ticket)s::text IS NULL OR ticket_id = %(ticket)s)"
            " ORDER BY sequence DESC LIMIT %(limit)s",
            {"subscription": subscription, "status": status, "ticket": ticket_id, "limit": limit},
        )
        return [_delivery(row) for row in rows]

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self._connections.conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = %s", (delivery_id,)
        ).fetchone()
        return None if row is None else _delivery(row)

    def redeliver(self, delivery_id: str, now: datetime) -> bool:
        done = self._connections.conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0,"
            " next_attempt_at = %s, delivered_at = NULL, claim = NULL,"
            " attempting_until = NULL WHERE id = %s",
            (now, delivery_id),
        )
        return done.rowcount > 0

    def stored(self) -> builtins.list[Delivery]:
        return [
            _delivery(row)
            for row in self._connections.conn.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries ORDER BY sequence"
            )
        ]

    def insert_stored(self, deliveries: Sequence[Delivery]) -> None:
        with self._connections.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO webhook_deliveries (id, subscription, event, ticket_id, status,"
                " attempts, next_attempt_at, created_at, delivered_at, last_status,"
                " last_error, body, key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        d.id,
                        d.subscription,
                        d.event,
                        d.ticket_id,
                        d.status,
                        d.attempts,
                        d.next_attempt_at,
                        d.created_at,
                        d.delivered_at,
                        d.last_status,
                        d.last_error,
                        d.body,
                        d.key,
                    )
                    for d in deliveries
                ],
            )
