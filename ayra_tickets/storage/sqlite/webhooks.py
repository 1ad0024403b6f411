"""Webhook subscriptions and the outbox of their deliveries in SQLite (the statements
are both adapters', in :mod:`ayra_tickets.storage.outbox`).

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
from .. import outbox
from ..port import Attempt, Claimed, DeliveryQuery, NewDelivery

_SQL = {
    name: outbox.for_sqlite(getattr(outbox, name))
    for name in (
        "SUBSCRIPTIONS",
        "SUBSCRIBE",
        "DROP_DELIVERIES",
        "UNSUBSCRIBE",
        "ENQUEUE",
        "CLAIMABLE",
        "CLAIM",
        "RECORD",
        "RELEASE",
        "LISTED",
        "ONE",
        "ALL",
        "REDELIVER",
        "INSERT_STORED",
    )
}
"""The shared statements, with SQLite's named parameters."""


def _delivery(row: Sequence[Any]) -> Delivery:
    values = list(row)
    for at in (7, 9):  # next_attempt_at, delivered_at
        values[at] = load_optional(values[at])
    values[8] = load_time(values[8])  # created_at
    return Delivery(*values)


class WebhookStore:
    """The ``webhook_subscriptions`` and ``webhook_deliveries`` tables; the caller owns
    the transaction."""

    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def subscribe(self, subscription: Subscription) -> None:
        self._conn.execute(
            _SQL["SUBSCRIBE"],
            {
                "id": subscription.id,
                "url": subscription.url,
                "events": json.dumps(list(subscription.events)),
                "secret": subscription.secret,
                "created_at": format_time(subscription.created_at),
            },
        )

    def unsubscribe(self, subscription_id: str) -> bool:
        self._conn.execute(_SQL["DROP_DELIVERIES"], {"id": subscription_id})
        return self._conn.execute(_SQL["UNSUBSCRIBE"], {"id": subscription_id}).rowcount > 0

    def subscriptions(self) -> builtins.list[Subscription]:
        return [
            Subscription(sid, url, tuple(json.loads(events)), load_time(created_at), secret)
            for sid, url, events, secret, created_at in self._conn.execute(_SQL["SUBSCRIPTIONS"])
        ]

    def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        at = format_time(now)
        before = self._conn.total_changes
        self._conn.executemany(_SQL["ENQUEUE"], [outbox.enqueued(d, at) for d in deliveries])
        return int(self._conn.total_changes - before)

    def claim(
        self,
        now: datetime,
        until: datetime,
        token: str,
        limit: int,
        passed_over: Sequence[str] = (),
    ) -> builtins.list[Claimed]:
        test = "AND s.url NOT IN (SELECT value FROM json_each(:passed_over))" if passed_over else ""
        values = {"now": format_time(now), "limit": limit, "passed_over": json.dumps(passed_over)}
        found = [
            Claimed(*row)
            for row in self._conn.execute(_SQL["CLAIMABLE"].replace("{passed_over}", test), values)
        ]
        held = format_time(until)
        self._conn.executemany(
            _SQL["CLAIM"], [{"token": token, "until": held, "id": each.id} for each in found]
        )
        return found

    def release(self, delivery_id: str, token: str) -> None:
        self._conn.execute(_SQL["RELEASE"], {"id": delivery_id, "token": token})

    def record(self, delivery_id: str, token: str, attempt: Attempt) -> bool:
        values = outbox.recorded(delivery_id, token, attempt, format_optional)
        return self._conn.execute(_SQL["RECORD"], values).rowcount > 0

    def deliveries(self, query: DeliveryQuery) -> builtins.list[Delivery]:
        rows = self._conn.execute(_SQL["LISTED"], outbox.listed(query))
        return [_delivery(row) for row in rows]

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self._conn.execute(_SQL["ONE"], {"id": delivery_id}).fetchone()
        return None if row is None else _delivery(row)

    def redeliver(self, delivery_id: str, now: datetime) -> bool:
        values = {"now": format_time(now), "id": delivery_id}
        return self._conn.execute(_SQL["REDELIVER"], values).rowcount > 0

    def stored(self) -> builtins.list[Delivery]:
        return [_delivery(row) for row in self._conn.execute(_SQL["ALL"])]

    def insert_stored(self, deliveries: Sequence[Delivery]) -> None:
        self._conn.executemany(
            _SQL["INSERT_STORED"], [outbox.stored(d, format_optional) for d in deliveries]
        )
