"""Webhook subscriptions and the outbox of their deliveries in SQLite.

Times are RFC 3339 text (``format_time``), which sorts as the instants do. A write
takes the file's write lock up front, so two claims never see the same delivery free.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ...domain.times import format_optional, format_time, load_optional, load_time
from ...domain.webhooks import Delivery, Subscription
from ..port import Claimed, NewDelivery

_DELIVERY_COLUMNS = (
    "id, subscription, event, ticket_id, sequence, status, attempts, next_attempt_at,"
    " created_at, delivered_at, last_status, last_error, body, key"
)

_CLAIMABLE = """
SELECT d.id, s.url, s.secret, d.body, d.attempts
FROM webhook_deliveries AS d JOIN webhook_subscriptions AS s ON s.id = d.subscription
WHERE d.status = 'pending' AND d.next_attempt_at <= :now
  AND (d.attempting_until IS NULL OR d.attempting_until <= :now)
  AND NOT EXISTS (
    SELECT 1 FROM webhook_deliveries AS e
    WHERE e.status = 'pending' AND e.subscription = d.subscription
      AND e.ticket_id = d.ticket_id AND e.sequence < d.sequence
  )
ORDER BY d.sequence
LIMIT :limit
"""
"""The deliveries due and free, each the first pending one of its ticket for its
subscription (a later one waits while an earlier one is pending: commit order)."""


def _delivery(row: Sequence[Any]) -> Delivery:
    (
        delivery_id,
        subscription,
        event,
        ticket_id,
        sequence,
        status,
        attempts,
        next_attempt_at,
        created_at,
        delivered_at,
        last_status,
        last_error,
        body,
        key,
    ) = row
    return Delivery(
        id=delivery_id,
        subscription=subscription,
        event=event,
        ticket_id=ticket_id,
        sequence=sequence,
        status=status,
        attempts=attempts,
        next_attempt_at=load_optional(next_attempt_at),
        created_at=load_time(created_at),
        delivered_at=load_optional(delivered_at),
        last_status=last_status,
        last_error=last_error,
        body=body,
        key=key,
    )


class WebhookStore:
    """The ``webhook_subscriptions`` and ``webhook_deliveries`` tables; the caller owns
    the transaction."""

    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def subscribe(self, subscription: Subscription) -> None:
        self._conn.execute(
            "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                subscription.id,
                subscription.url,
                json.dumps(list(subscription.events)),
                subscription.secret,
                format_time(subscription.created_at),
            ),
        )

    def unsubscribe(self, subscription_id: str) -> bool:
        self._conn.execute(
            "DELETE FROM webhook_deliveries WHERE subscription = ?", (subscription_id,)
        )
        gone = self._conn.execute(
            "DELETE FROM webhook_subscriptions WHERE id = ?", (subscription_id,)
        )
        return gone.rowcount > 0

    def subscriptions(self) -> builtins.list[Subscription]:
        return [
            Subscription(sid, url, tuple(json.loads(events)), load_time(created_at), secret)
            for sid, url, events, secret, created_at in self._conn.execute(
                "SELECT id, url, events, secret, created_at FROM webhook_subscriptions"
                " ORDER BY created_at, id"
            )
        ]

    def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        at = format_time(now)
        before = self._conn.total_changes
        self._conn.executemany(
            "INSERT INTO webhook_deliveries (id, subscription, event, ticket_id, key, body,"
            " status, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)"
            " ON CONFLICT (subscription, key) DO NOTHING",
            [
                (d.id, d.subscription, d.event, d.ticket_id, d.key, d.body, at, at)
                for d in deliveries
            ],
        )
        return int(self._conn.total_changes - before)

    def claim(
        self, now: datetime, until: datetime, token: str, limit: int
    ) -> builtins.list[Claimed]:
        found = [
            Claimed(*row)
            for row in self._conn.execute(_CLAIMABLE, {"now": format_time(now), "limit": limit})
        ]
        self._conn.executemany(
            "UPDATE webhook_deliveries SET claim = ?, attempting_until = ? WHERE id = ?",
            [(token, format_time(until), each.id) for each in found],
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
        done = self._conn.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, status = ?,"
            " next_attempt_at = ?, delivered_at = ?, last_status = ?, last_error = ?,"
            " claim = NULL, attempting_until = NULL WHERE id = ? AND claim = ?",
            (
                status,
                format_optional(next_attempt_at),
                format_time(at) if status == "delivered" else None,
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
        rows = self._conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries"
            " WHERE (:subscription IS NULL OR subscription = :subscription)"
            " AND (:status IS NULL OR status = :status)"
            " AND (:ticket IS NULL OR ticket_id = :ticket)"
            " ORDER BY sequence DESC LIMIT :limit",
            {"subscription": subscription, "status": status, "ticket": ticket_id, "limit": limit},
        )
        return [_delivery(row) for row in rows]

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self._conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?", (delivery_id,)
        ).fetchone()
        return None if row is None else _delivery(row)

    def redeliver(self, delivery_id: str, now: datetime) -> bool:
        done = self._conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0,"
            " next_attempt_at = ?, delivered_at = NULL, claim = NULL,"
            " attempting_until = NULL WHERE id = ?",
            (format_time(now), delivery_id),
        )
        return done.rowcount > 0

    def stored(self) -> builtins.list[Delivery]:
        return [
            _delivery(row)
            for row in self._conn.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries ORDER BY sequence"
            )
        ]

    def insert_stored(self, deliveries: Sequence[Delivery]) -> None:
        self._conn.executemany(
            "INSERT INTO webhook_deliveries (id, subscription, event, ticket_id, status,"
            " attempts, next_attempt_at, created_at, delivered_at, last_status, last_error,"
            " body, key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    d.id,
                    d.subscription,
                    d.event,
                    d.ticket_id,
                    d.status,
                    d.attempts,
                    format_optional(d.next_attempt_at),
                    format_time(d.created_at),
                    format_optional(d.delivered_at),
                    d.last_status,
                    d.last_error,
                    d.body,
                    d.key,
                )
                for d in deliveries
            ],
        )
