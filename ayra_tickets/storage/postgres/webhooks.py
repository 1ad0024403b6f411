"""Webhook subscriptions and the outbox of their deliveries on PostgreSQL (the
statements are both adapters', in :mod:`ayra_tickets.storage.outbox`).

A change of the subscriptions raises the version that
:meth:`~.adapter.PostgresStorage.changed` reads (the policies' own), so that every
engine reloads them in its next transaction. Two claims of one delivery at once: the
later one's update meets the earlier one's (REPEATABLE READ), fails to serialize, and is
run again, finding it held. A ticket's writes take its row's lock, so its deliveries'
sequence numbers follow its commits.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.webhooks import Delivery, Subscription
from .. import outbox
from ..port import Attempt, Claimed, DeliveryQuery, NewDelivery
from .policies import BUMP_VERSION

if TYPE_CHECKING:
    from .adapter import Connections


def _as_is(at: datetime | None) -> datetime | None:
    return at


class WebhookStore:
    """The ``webhook_subscriptions`` and ``webhook_deliveries`` tables; the caller owns
    the transaction."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def _run(self, sql: str, values: dict[str, Any]) -> int:
        """Run one statement; how many rows it changed."""
        return int(self._connections.conn.execute(sql, values).rowcount)

    def subscribe(self, subscription: Subscription) -> None:
        values = {
            "id": subscription.id,
            "url": subscription.url,
            "events": list(subscription.events),
            "secret": subscription.secret,
            "created_at": subscription.created_at,
        }
        self._run(outbox.SUBSCRIBE, values)
        self._connections.conn.execute(BUMP_VERSION)

    def unsubscribe(self, subscription_id: str) -> bool:
        self._run(outbox.DROP_DELIVERIES, {"id": subscription_id})
        gone = self._run(outbox.UNSUBSCRIBE, {"id": subscription_id})
        self._connections.conn.execute(BUMP_VERSION)
        return gone > 0

    def subscriptions(self) -> builtins.list[Subscription]:
        return [
            Subscription(sid, url, tuple(events), created_at, secret)
            for sid, url, events, secret, created_at in self._connections.conn.execute(
                outbox.SUBSCRIPTIONS
            )
        ]

    def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        # One by one: their sequence numbers follow this order.
        return sum(self._run(outbox.ENQUEUE, outbox.enqueued(d, now)) for d in deliveries)

    def claim(
        self,
        now: datetime,
        until: datetime,
        token: str,
        limit: int,
        passed_over: Sequence[str] = (),
    ) -> builtins.list[Claimed]:
        conn = self._connections.conn
        test = "AND s.url <> ALL(%(passed_over)s)" if passed_over else ""
        values = {"now": now, "limit": limit, "passed_over": list(passed_over)}
        found = [
            Claimed(*row)
            for row in conn.execute(outbox.CLAIMABLE.replace("{passed_over}", test), values)
        ]
        for each in found:
            self._run(outbox.CLAIM, {"token": token, "until": until, "id": each.id})
        return found

    def release(self, delivery_id: str, token: str) -> None:
        self._run(outbox.RELEASE, {"id": delivery_id, "token": token})

    def record(self, delivery_id: str, token: str, attempt: Attempt) -> bool:
        return self._run(outbox.RECORD, outbox.recorded(delivery_id, token, attempt, _as_is)) > 0

    def deliveries(self, query: DeliveryQuery) -> builtins.list[Delivery]:
        rows = self._connections.conn.execute(outbox.LISTED, outbox.listed(query))
        return [Delivery(*row) for row in rows]

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self._connections.conn.execute(outbox.ONE, {"id": delivery_id}).fetchone()
        return None if row is None else Delivery(*row)

    def redeliver(self, delivery_id: str, now: datetime) -> bool:
        return self._run(outbox.REDELIVER, {"now": now, "id": delivery_id}) > 0

    def stored(self) -> builtins.list[Delivery]:
        return [Delivery(*row) for row in self._connections.conn.execute(outbox.ALL)]

    def insert_stored(self, deliveries: Sequence[Delivery]) -> None:
        for each in deliveries:
            self._run(outbox.INSERT_STORED, outbox.stored(each, _as_is))
