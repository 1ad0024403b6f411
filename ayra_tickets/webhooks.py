"""Events out: ``engine.webhooks`` (subscriptions, the outbox, sends and retries) and
the in-process subscribers of ``engine.on``.

Every ticket write of the API is reacted to in its own transaction (see
``UnitOfWork.reactions``): its events become webhook events
(:func:`~ayra_tickets.domain.webhooks.occurrences`), and each one a subscription wants
becomes a delivery row of the outbox, committed with the change or not at all.
``engine.run_due()`` sends what is due (``("webhooks", ...)``): it claims deliveries in
one transaction, posts them outside any, and records each outcome in another; a failed
one is tried again on the schedule of :mod:`ayra_tickets.domain.webhooks`, by the
engine's clock. Sending is at least once: a receiver dedupes by the ``Idempotency-Key``
header (the delivery's id, the same on every attempt).

:func:`verify` checks a received delivery's signature (for receivers).
"""

from __future__ import annotations

import builtins
import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .domain.errors import ParameterInvalid
from .domain.ids import random_token
from .domain.ticket import Ticket
from .domain.webhooks import (
    ALL,
    EVENT_NAMES,
    IDEMPOTENCY_HEADER,
    MAX_SUBSCRIPTIONS,
    SIGNATURE_HEADER,
    STATUSES,
    Delivery,
    SignatureInvalid,
    Subscription,
    body,
    breach_key,
    encoded,
    new_delivery_id,
    new_secret,
    new_subscription_id,
    occurrence_data,
    occurrences,
    payload,
    retry_delay,
    signature_header,
    validate_events,
    validate_secret,
    validate_url,
    verify,
)
from .sender import Outcome, post
from .service import UnitOfWork, Written
from .storage.port import Attempt, Claimed, DeliveryQuery, NewDelivery

__all__ = ["EVENT_NAMES", "SignatureInvalid", "Webhooks", "verify"]

log = logging.getLogger("ayra_tickets")

Listener = Callable[[str, dict[str, Any]], None]
"""An in-process subscriber: called with the event's name and its payload."""
Send = Callable[[str, bytes, Mapping[str, str], float], Outcome]
"""How a delivery is posted: url, body, headers, timeout in seconds."""

TIMEOUT = 10.0
"""Seconds a receiver has to answer an attempt (``engine.webhooks.timeout``)."""
LEASE = timedelta(minutes=5)
"""How long, by the engine's clock, a claimed delivery is held for the process that
claimed it: if that process dies mid-send, another sends it once the hold lapses."""
BATCH = 50
"""The most deliveries one claim takes."""
MAX_LISTED = 1_000


class Webhooks:
    """``engine.webhooks``: subscriptions (stored in the database, so that every engine
    on it sends to them), the deliveries of the outbox, and sending them."""

    def __init__(self, uow: UnitOfWork, send: Send = post) -> None:
        self._uow = uow
        self._store = uow.storage.webhooks
        self._send = send
        self.timeout = TIMEOUT
        """Seconds a receiver has to answer one attempt."""
        self._subscriptions: tuple[Subscription, ...] = ()
        self._listeners: dict[str, builtins.list[Listener]] = {}
        uow.reactions.append(self._react)
        uow.announcers.append(self._announce)
        uow.due.append(("webhooks", self.send_due))
        uow.loaders.append(self._load)

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(
        self, url: str, events: Iterable[str] = (ALL,), secret: str | None = None
    ) -> Subscription:
        """Send ``events`` (names of :data:`EVENT_NAMES`, a ``Notify`` action's names, or
        ``*`` for all) to ``url`` (http or https), signed with ``secret`` (16 to 200
        printable ASCII characters; omitted, one ``whsec_...`` is made). The answer is
        the only one that shows the secret."""
        clean_url = validate_url(url)
        names = validate_events(events)
        key = new_secret() if secret is None else validate_secret(secret)
        uow = self._uow
        subscription_id = new_subscription_id()

        def subscribe() -> Subscription:
            if len(self._store.subscriptions()) >= MAX_SUBSCRIPTIONS:
                raise ParameterInvalid(
                    f"there may be at most {MAX_SUBSCRIPTIONS} subscriptions: unsubscribe one"
                    " first",
                    param="url",
                )
            made = Subscription(subscription_id, clean_url, names, uow.now(), key)
            self._store.subscribe(made)
            self._load()
            return made

        return uow.write(subscribe)

    def unsubscribe(self, subscription_id: str) -> bool:
        """Stop sending to a subscription, and drop its deliveries, sent or not; whether
        there was one."""
        uow = self._uow

        def unsubscribe() -> bool:
            gone = self._store.unsubscribe(subscription_id)
            self._load()
            return gone

        return uow.write(unsubscribe)

    def list(self) -> builtins.list[Subscription]:
        """Every subscription, oldest first (without secrets)."""
        return [each.shown() for each in self._uow.read(lambda: self._subscriptions)]

    def set(self, wanted: Sequence[Mapping[str, Any]]) -> builtins.list[Subscription]:
        """Make the subscriptions these (``{"url", "events", "secret"}`` each; ``events``
        defaults to all, ``secret`` to a new one), in one transaction: one already there
        with the same url, events and (if given) secret stays as it is, with its
        deliveries; the others go. Returns them all, with the secrets of the new ones."""
        if isinstance(wanted, str | bytes | Mapping) or not isinstance(wanted, Sequence):
            raise ParameterInvalid("the webhooks must be a list of objects", param="webhooks")
        if len(wanted) > MAX_SUBSCRIPTIONS:
            raise ParameterInvalid(
                f"there may be at most {MAX_SUBSCRIPTIONS} subscriptions", param="webhooks"
            )
        specs = [_spec(index, each) for index, each in enumerate(wanted)]
        uow = self._uow

        def replace() -> builtins.list[Subscription]:
            kept: dict[str, Subscription] = {}
            result: builtins.list[Subscription] = []
            current = self._store.subscriptions()
            for url, names, secret in specs:
                same = next(
                    (
                        each
                        for each in current
                        if each.id not in kept
                        and (each.url, each.events) == (url, names)
                        and secret in (None, each.secret)
                    ),
                    None,
                )
                if same is not None:
                    kept[same.id] = same
                    result.append(same.shown())
                    continue
                made = Subscription(
                    new_subscription_id(), url, names, uow.now(), secret or new_secret()
                )
                self._store.subscribe(made)
                result.append(made)
            for each in current:
                if each.id not in kept:
                    self._store.unsubscribe(each.id)
            self._load()
            return result

        return uow.write(replace)

    def _load(self) -> None:
        """Read the subscriptions again (in a transaction: another engine may have
        changed them)."""
        self._subscriptions = tuple(self._store.subscriptions())

    # -- in-process subscribers -----------------------------------------------------------

    def on(self, event_name: str, callback: Listener) -> None:
        """Call ``callback(event_name, payload)`` after each commit that makes the event
        (``*``: every event), in this process; the payload is what a webhook receiver
        gets. A callback that raises is logged, and stops nothing."""
        names = validate_events([event_name])
        if not callable(callback):
            raise ParameterInvalid("callback must be callable", param="callback")
        self._listeners.setdefault(names[0], []).append(callback)

    def _listening(self, name: str) -> builtins.list[Listener]:
        listeners = self._listeners
        return [*listeners.get(name, ()), *listeners.get(ALL, ())] if listeners else []

    def _tell(self, listeners: Sequence[Listener], name: str, body: dict[str, Any]) -> None:
        for listener in listeners:
            try:
                listener(name, body)
            except Exception:  # one subscriber's failure is not the engine's
                log.exception("a subscriber of %s failed", name)

    # -- the outbox -----------------------------------------------------------------------

    def _react(self, written: Written) -> None:
        """A ticket write's events, to the outbox (and to the in-process subscribers,
        after the commit). Nothing is computed when nobody listens."""
        if not self._subscriptions and not self._listeners:
            return
        ticket: dict[str, Any] | None = None
        text: str | None = None
        rows: builtins.list[NewDelivery] = []
        for occurrence in occurrences(written.after.id, written.events):
            targets = [s for s in self._subscriptions if s.wants(occurrence.name)]
            listeners = self._listening(occurrence.name)
            if not targets and not listeners:
                continue
            if ticket is None:  # the ticket as answered, once a write at most
                ticket = self._uow.answered(written.after, written.now).to_dict()
            if targets and text is None:  # and encoded, once too
                text = encoded(ticket)
            rows += self._out(
                occurrence.name,
                written.after,
                ticket,
                text or "",
                occurrence_data(occurrence),
                occurrence.key,
                targets,
                listeners,
                written.now,
            )
        if rows:
            self._store.enqueue(rows, written.now)

    def _announce(
        self,
        name: str,
        ticket: Ticket,
        now: datetime,
        key: str,
        data: Mapping[str, Any] | None,
    ) -> None:
        """An event no write records, to the outbox: once per subscription and key (a
        breach's key is its ticket, target and deadline, however it is announced)."""
        targets = [s for s in self._subscriptions if s.wants(name)]
        listeners = self._listening(name)
        if not targets and not listeners:
            return
        if name == "sla.breached":
            key = breach_key(ticket.id, data) or key
        shown = self._uow.answered(ticket, now).to_dict()
        text = encoded(shown) if targets else ""
        rows = self._out(name, ticket, shown, text, dict(data or {}), key, targets, listeners, now)
        if rows:
            self._store.enqueue(rows, now)

    def _out(
        self,
        name: str,
        about: Ticket,
        ticket: dict[str, Any],
        text: str,
        extra: dict[str, Any],
        key: str | None,
        targets: Sequence[Subscription],
        listeners: Sequence[Listener],
        now: datetime,
    ) -> builtins.list[NewDelivery]:
        """The outbox rows of one event, one a subscription (``text``: the ticket
        encoded); the listeners are called after the commit."""
        rows = []
        for subscription in targets:
            delivery_id = new_delivery_id(about.number)
            sent = body(delivery_id, name, now, text, extra)
            rows.append(
                NewDelivery(delivery_id, subscription.id, name, about.id, about.number, sent, key)
            )
        if listeners:
            told = payload("evt_" + random_token(24), name, now, ticket, extra)
            self._uow.after_commit(lambda: self._tell(listeners, name, told))
        return rows

    # -- sending --------------------------------------------------------------------------

    def send_due(self, now: datetime | None = None) -> int:
        """Attempt every delivery due by ``now`` (default: the engine's clock), each
        after the earlier ones of its ticket (a ticket's events arrive in the order
        their changes committed). How many attempts were made. Several processes may
        run it at once: each attempt is claimed by one.

        A receiver that gives no answer (refused, unreachable, past the timeout) is
        passed over for the rest of the run once one attempt at it has failed so: its
        other deliveries are let go unattempted, due as they were, and the run goes on
        with every other receiver's, waiting on a dead one for one timeout at most."""
        uow = self._uow
        moment = uow.now() if now is None else now
        if not uow.read(lambda: bool(self._subscriptions)):
            return 0
        attempted = 0
        silent: set[str] = set()  # the URLs that gave no answer in this run
        while True:
            token = random_token(24)

            def claim(
                token: str = token, passed: Sequence[str] = sorted(silent)
            ) -> builtins.list[Claimed]:
                until = max(moment, uow.now()) + LEASE
                return self._store.claim(moment, until, token, BATCH, passed)

            claimed = uow.write(claim)
            if not claimed:
                return attempted
            for n, delivery in enumerate(claimed):
                if delivery.url in silent:
                    continue  # let go already
                attempted += 1
                if not self._attempt(delivery, token):
                    silent.add(delivery.url)
                    rest = [d.id for d in claimed[n + 1 :] if d.url == delivery.url]
                    if rest:
                        uow.write(functools.partial(self._release, rest, token))

    def _release(self, delivery_ids: Sequence[str], token: str) -> None:
        for delivery_id in delivery_ids:
            self._store.release(delivery_id, token)

    def _attempt(self, delivery: Claimed, token: str) -> bool:
        """Post one claimed delivery (outside any transaction), then record what came of
        it: delivered, or the next attempt on the schedule, or dead. False if the
        receiver gave no answer at all (a sender that raised is not the receiver's
        silence)."""
        uow = self._uow
        at = uow.now()
        body = delivery.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(delivery.secret, int(at.timestamp()), body),
            IDEMPOTENCY_HEADER: delivery.id,
        }
        try:
            outcome = self._send(delivery.url, body, headers, self.timeout)
            heard = outcome.status is not None
        except Exception as error:  # a sender's failure is one attempt's, not the run's
            log.exception("sending %s failed", delivery.id)
            outcome = Outcome(None, f"{type(error).__name__}: {error}"[:500])
            heard = True
        attempt = delivery.attempts + 1
        delay = None if outcome.delivered else retry_delay(delivery.id, attempt)
        if outcome.delivered:
            status, next_at = "delivered", None
        elif delay is None:
            status, next_at = "dead", None
        else:
            status, next_at = "pending", at + delay
        result = Attempt(at, status, next_at, outcome.status, outcome.error)
        uow.write(lambda: self._store.record(delivery.id, token, result))
        return heard

    # -- deliveries -----------------------------------------------------------------------

    def deliveries(
        self,
        subscription: str | None = None,
        status: str | None = None,
        ticket: str | None = None,
        limit: int = 100,
    ) -> builtins.list[Delivery]:
        """Deliveries, newest first: of one ``subscription``, in one ``status``
        (``pending``, ``delivered``, ``dead``), about one ``ticket`` (its id), up to
        ``limit`` (1 to 1,000)."""
        for param, value in (("subscription", subscription), ("ticket", ticket)):
            if value is not None and not isinstance(value, str):
                raise ParameterInvalid(f"{param} must be an id", param=param)
        if status is not None and status not in STATUSES:
            raise ParameterInvalid(f"status must be one of {', '.join(STATUSES)}", param="status")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LISTED:
            raise ParameterInvalid(f"limit must be 1 to {MAX_LISTED}", param="limit")
        query = DeliveryQuery(subscription, status, ticket, limit)
        return self._uow.read(lambda: self._store.deliveries(query))

    def delivery(self, delivery_id: str) -> Delivery:
        """One delivery by its id (``whd_...``)."""
        found = self._uow.read(lambda: self._store.delivery(delivery_id))
        if found is None:
            raise ParameterInvalid(f"no delivery {delivery_id!r}", param="id")
        return found

    def redeliver(self, delivery_id: str) -> Delivery:
        """Send a delivered or dead delivery again: pending, due now, with a new series
        of attempts on the schedule. Its id (the ``Idempotency-Key``) and body stay
        what they were, so a receiver that has it already can tell."""
        uow = self._uow

        def redeliver() -> Delivery:
            found = self._store.delivery(delivery_id)
            if found is None:
                raise ParameterInvalid(f"no delivery {delivery_id!r}", param="id")
            if found.status == "pending":
                raise ParameterInvalid(
                    f"delivery {delivery_id} is pending already: it is sent when due",
                    param="id",
                )
            self._store.redeliver(delivery_id, uow.now())
            again = self._store.delivery(delivery_id)
            assert again is not None
            return again

        return uow.write(redeliver)


def _spec(index: int, spec: object) -> tuple[str, tuple[str, ...], str | None]:
    """One webhook of a configuration: its url, events and secret (if given)."""
    if not isinstance(spec, Mapping):
        raise ParameterInvalid(f"webhook {index}: must be an object", param="webhooks")
    unknown = sorted(set(spec) - {"url", "events", "secret"})
    if unknown:
        raise ParameterInvalid(
            f"webhook {index}: unknown field {unknown[0]!r} (url, events, secret)",
            param="webhooks",
        )
    try:
        url = validate_url(spec.get("url"))
        names = validate_events(spec.get("events", [ALL]))
        secret = None if spec.get("secret") is None else validate_secret(spec["secret"])
    except ParameterInvalid as error:
        raise ParameterInvalid(f"webhook {index}: {error}", param="webhooks") from error
    return url, names, secret
