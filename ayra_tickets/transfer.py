"""Copying a whole database to another, of either kind (``ayra-tickets copy``), and
checking the copy.

A copy reads the source in one read transaction (one snapshot, whatever is written to
it meanwhile) and writes everything it holds through the storage port, a batch of
tickets at a time, in one write transaction of the target: tickets with their events
(ids kept), states, tags and search words, the keys' digests and salt, agents (with
their routing fields), SLA policies (and which is active), idempotency keys with their
answers, routing's rules, round-robin turns and queues, webhook subscriptions and their
deliveries (the outbox, pending or not), the escalation policy with every ticket's timer
and fired levels (so that the copy routes and escalates as the source would have). A
file target is
written beside its place and renamed into it at the end (:class:`~.engine.Staged`), so
that a copy stopped at any moment leaves no target, or nothing committed in it.

Then the check, still in the source's snapshot: both sides are counted, kind by kind,
and every ticket's and event's wire JSON (the bytes the API answers, as of one instant
for both) is read afresh from each side's storage, in number and event order, hashed
(SHA-256) and compared, to name the first difference.

Nothing here knows an adapter: the engine opens the databases by their addresses.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from .domain.clock import Clock, ManualClock, SystemClock
from .engine import Staged, is_server_address, open_storage, redacted
from .service import Tickets, UnitOfWork
from .storage.errors import NewerSchema, NotATicketDatabase
from .storage.port import COUNTED, Storage
from .wire import encoded

BATCH = 1_000
"""Tickets read and written a step (with their events and states)."""

Progress = Callable[[int, int], None]
"""Told after each step how many tickets are copied, of how many."""
Hook = Callable[[Storage], None]


class CopyRefused(Exception):
    """The copy was refused before anything was written: the message says why."""


@attrs.frozen
class Side:
    """One side of a copy as the check read it: its address (without a password), how
    many records of each kind it holds, and the SHA-256 of its tickets' and events'
    wire JSON."""

    location: str
    counts: dict[str, int]
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "counts": dict(self.counts), "digest": self.digest}


@attrs.frozen
class CopySummary:
    """What a copy wrote and what its check found: ``identical`` when both sides hold
    the same counts and the same wire JSON; else ``difference`` names the first."""

    source: Side
    target: Side
    difference: str | None

    @property
    def identical(self) -> bool:
        return self.difference is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
            "identical": self.identical,
            "difference": self.difference,
        }


def copy_database(
    source: str,
    target: str,
    *,
    clock: Clock | None = None,
    progress: Progress | None = None,
    before_check: Hook | None = None,
) -> CopySummary:
    """Copy the database at ``source`` (a path or a ``postgresql://`` URL) to ``target``,
    then check the copy (see the module's notes). Refused (:class:`CopyRefused`),
    changing nothing, when the source does not exist or holds no ticket database, when
    both name the same database, when the target holds anything (which is said), or when
    either was written by a newer release. ``progress`` is told how far the copy is;
    ``before_check`` gets the target's storage once written, before it is checked (for
    tests). ``clock`` gives the instant both sides' JSON is read as of."""
    now = (clock or SystemClock()).now()
    opened = _opened(source, existing=True, role="source")
    try:
        staged = _stage(opened, target)
        try:
            summary = opened.atomic(
                lambda: _copy_and_check(opened, staged, now, progress, before_check)
            )
        finally:
            staged.close()
    finally:
        opened.close()
    return summary


def _opened(address: str, *, existing: bool, role: str) -> Storage:
    """The storage at ``address``, or a refusal that names it and says why."""
    try:
        return open_storage(address, existing=existing)
    except (NotATicketDatabase, NewerSchema) as error:
        raise CopyRefused(f"cannot copy: the {role} {redacted(address)!r}: {error}") from error


def _stage(source: Storage, target: str) -> Staged:
    """Where the copy is written, once the target is known to be another database and
    empty (a file that is not there yet is both)."""
    if not is_server_address(target) and not Path(target).exists():
        return Staged(target)
    probe = _opened(target, existing=False, role="target")
    try:
        if probe.identity == source.identity:
            raise CopyRefused(
                f"cannot copy: {redacted(target)!r} is the source database itself"
                f" ({source.location!r}); name another target"
            )
        refuse_data(probe)
    except BaseException:
        probe.close()
        raise
    if is_server_address(target):
        return Staged(target, probe)
    probe.close()
    return Staged(target)


def refuse_data(target: Storage) -> None:
    """Raise :class:`CopyRefused` naming what ``target`` holds, if anything: a copy goes
    only into an empty database, never merged into another's records."""
    held = target.atomic(target.counts)
    found = [f"{kind.replace('_', ' ')}: {held[kind]:,}" for kind in COUNTED if held[kind]]
    if found:
        raise CopyRefused(
            f"cannot copy: the target {target.location!r} already holds data"
            f" ({', '.join(found)}); a copy goes only into an empty database"
        )


def _copy_and_check(
    source: Storage,
    staged: Staged,
    now: datetime,
    progress: Progress | None,
    before_check: Hook | None,
) -> CopySummary:
    """In the source's read transaction: write the copy, publish it, check it."""
    copy(source, staged.storage, progress)
    target = staged.publish()
    if before_check is not None:
        before_check(target)
    return compare(source, target, ManualClock(now))


def copy(source: Storage, target: Storage, progress: Progress | None = None) -> None:
    """Write everything ``source`` holds into the empty ``target``, in one transaction of
    the target (the caller holds the source's read transaction, so that every step reads
    one snapshot)."""
    total = source.counts()["tickets"]

    def write() -> None:
        refuse_data(target)  # again, inside the transaction that writes
        target.tickets.defer_indexes()
        target.keys.insert_stored(*source.keys.stored())
        for agent in source.agents.agents():  # with their routing fields
            target.agents.put_agent(agent)
        policies, active = source.policies.stored()
        for stored in sorted(policies, key=lambda each: each.policy.name == active):
            target.policies.put(stored.policy, stored.updated_at)  # the active one last
        done = 0
        for batch in _steps(lambda after: source.tickets.stored(after, BATCH)):
            target.tickets.insert_stored(batch)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        target.routing.insert_stored(source.routing.stored())  # rules, turns, queues
        target.escalations.put_policy(source.escalations.load_policy())
        timers = 0
        while kept := source.escalations.stored(timers, BATCH):
            target.escalations.insert_stored(kept)
            timers = kept[-1].number
        after: tuple[str, str] | None = None
        while remembered := source.idempotency.stored(after, BATCH):
            for each in remembered:
                target.idempotency.remember(
                    each.owner, each.key, each.request, each.ticket, each.created_at
                )
            after = (remembered[-1].owner, remembered[-1].key)
        # Webhooks: the subscriptions and the outbox, pending deliveries with their
        # schedule and sent ones with their keys (an occurrence announced again after
        # the copy is still delivered once).
        for subscription in source.webhooks.subscriptions():
            target.webhooks.subscribe(subscription)
        target.webhooks.insert_stored(source.webhooks.stored())
        target.tickets.restore_indexes()
        target.tickets.analyze()

    target.atomic(write, write=True)


def _steps(read: Callable[[int], list[Any]]) -> Iterator[list[Any]]:
    """The batches ``read(after)`` gives, each after the last ticket of the one before."""
    after = 0
    while batch := read(after):
        yield batch
        after = batch[-1].ticket.number


def compare(source: Storage, target: Storage, clock: Clock) -> CopySummary:
    """Both sides counted and their wire JSON hashed and compared (read as of ``clock``'s
    instant), the target in one read transaction, the source in the caller's."""

    def both() -> CopySummary:
        counts = source.counts(), target.counts()
        hashes = hashlib.sha256(), hashlib.sha256()
        difference = None
        sides = (_wire(source, clock), _wire(target, clock))
        for ours, theirs in itertools.zip_longest(*sides):
            for item, digest in zip((ours, theirs), hashes, strict=True):
                if item is not None:
                    digest.update(item[1])
            if difference is None and ours != theirs:
                difference = _first(ours, theirs)
        if difference is None and counts[0] != counts[1]:
            kinds = [kind for kind in COUNTED if counts[0][kind] != counts[1][kind]]
            difference = "the counts of " + ", ".join(
                f"{kind} ({counts[0][kind]:,} against {counts[1][kind]:,})" for kind in kinds
            )
        return CopySummary(
            Side(source.location, counts[0], hashes[0].hexdigest()),
            Side(target.location, counts[1], hashes[1].hexdigest()),
            difference,
        )

    return target.atomic(both)


def _wire(storage: Storage, clock: Clock) -> Iterator[tuple[str, bytes]]:
    """Every ticket's and event's wire JSON (one line each), with what it is, in number
    order, each ticket followed by its events."""
    for ticket, events in Tickets(UnitOfWork(storage, clock)).histories():
        number = ticket["number"]
        yield number, encoded(ticket) + b"\n"
        for event in events:
            yield f"event {event['id']} of {number}", encoded(event) + b"\n"


def _first(ours: tuple[str, bytes] | None, theirs: tuple[str, bytes] | None) -> str:
    """The first difference, in words."""
    if theirs is None:
        assert ours is not None
        return f"{ours[0]} is missing from the target"
    if ours is None:
        return f"{theirs[0]} is in the target only"
    if ours[0] != theirs[0]:
        return f"{ours[0]} in the source where the target has {theirs[0]}"
    return f"{ours[0]} differs"
