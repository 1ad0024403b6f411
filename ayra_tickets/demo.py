"""A simulated day of support, for ``ayra-tickets demo``.

:func:`run` opens a database with a :class:`~ayra_tickets.ManualClock`, adds a small
agent directory, and plays a working day through the Python API: a few dozen tickets
arrive from several contacts, are triaged, assigned, worked, parked while waiting on the
customer or a third party, resolved and closed with a satisfaction score and a root
cause; one is reopened, and a couple miss their SLA. It returns a :class:`DemoReport`
with that run's tickets as they stand at the end of the day, and the figures a support
lead looks at.

The day is a plan made up front (:func:`plan_day`) from ``random.Random`` seeded with the
seed and the start time, so a run is deterministic given its start.

The demo never writes the future: a day is played only once it has ended by the real
clock (:data:`REAL_CLOCK`, or ``now``), because the file is a real one and history never
runs backwards (a ticket created after a demo stamped in the future would be stamped in
the future too). Without a start it plays the last working day (08:00 to 18:00 UTC) that
has ended: today's after 18:00 UTC, else yesterday's. Run again on the same file, it
plays the last such day only if the file holds nothing after that day's start, which is
what a new user expects of "another day": the next day, once it has ended (and the days
in between, that nobody played, stay empty). When the file already holds that day (a
second run the same day) it plays nothing and writes nothing: the report is that day as
the file holds it, with :attr:`DemoReport.again` saying why and when the next day can be
played (or how to play one now: on another file). Only when the file's later activity
is not a demo's day (no ticket was created in it) is that :class:`NoDayToPlay`. A given
start is moved to an hour after the file's latest activity when it is earlier, and
refused if the day from it has not ended.

The tickets of the report are read as of the real clock's now, truncated to the second
(:attr:`DemoReport.as_of`): what a list of the same file shows at that instant.
"""

from __future__ import annotations

import os
import random
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import attrs

from .domain.clock import Clock, ManualClock, SystemClock
from .domain.lifecycle import Status
from .domain.priority import Priority
from .domain.ticket import Ticket
from .domain.times import format_time, utc_seconds
from .engine import Engine

DEFAULT_SEED = 20250115
TICKETS = 36
MIN_TICKETS = 12
OPENING = time(8, 0)
DAY = timedelta(hours=10)
"""The simulated working day: nothing is planned after it ends."""
AFTER_LATEST = timedelta(hours=1)
"""A given start earlier than the file's latest activity moves to this long after it."""

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""Where a run's clock stands while it reads the file: before anything the file holds."""
REAL_CLOCK: Clock = SystemClock()
"""The real clock, whose now no timestamp the demo writes may pass. A test sets a
:class:`ManualClock` here (or passes ``now`` to :func:`run`) to play as of a fixed now."""

AGENTS: Mapping[str, str] = {
    "user_jane_smith": "Jane Smith",
    "user_omar_haddad": "Omar Haddad",
    "user_li_wei": "Li Wei",
    "user_billing_specialist": "Priya Natarajan",
    "user_sam_okafor": "Sam Okafor",
}

DESKS: Mapping[str, tuple[str, ...]] = {
    "technical": ("user_omar_haddad", "user_li_wei", "user_sam_okafor"),
    "billing": ("user_billing_specialist", "user_billing_specialist", "user_jane_smith"),
    "account": ("user_jane_smith", "user_sam_okafor"),
    "product": ("user_sam_okafor", "user_jane_smith"),
    "bug": ("user_li_wei", "user_omar_haddad"),
    "feature_request": ("user_sam_okafor", "user_jane_smith"),
}
"""Who picks up which category."""

CATEGORIES = tuple(DESKS)

CONTACTS = (
    "contact_acme_ops",
    "contact_globex_it",
    "contact_initech_finance",
    "contact_umbrella_admin",
    "contact_hooli_support",
    "contact_stark_billing",
    "contact_wayne_ops",
    "contact_wonka_it",
    "contact_tyrell_hr",
    "contact_cyberdyne_dev",
)

SUBJECTS: Mapping[str, tuple[str, ...]] = {
    "technical": (
        "SSO login fails with 'invalid SAML response'",
        "API returns 429 well below our rate limit",
        "Webhook deliveries delayed by {n} minutes",
        "Dashboard takes over {n} seconds to load",
        "Cannot connect the Slack integration",
        "Password reset emails are not arriving",
        "Zapier automation stopped creating tickets",
        "Custom domain shows a certificate warning",
    ),
    "billing": (
        "Duplicate billing charge needs refund",
        "Invoice #{order} shows the wrong VAT rate",
        "Charged for {n} seats after downgrading",
        "Card declined on renewal although it is valid",
        "Need copies of last quarter's invoices",
        "Switch billing from monthly to annual",
        "Purchase order number missing on invoice",
    ),
    "account": (
        "Transfer account ownership to a new admin",
        "Locked out after enabling two-factor authentication",
        "Please merge our two workspaces",
        "Remove a former employee's access",
        "Change the company name on the account",
        "Add a second admin to our workspace",
    ),
    "product": (
        "How do I export tickets to CSV?",
        "Where did the weekly report setting go?",
        "Question about data retention on the Pro plan",
        "Custom fields do not show in the mobile app",
        "Can agents see each other's drafts?",
        "Difference between the Pro and Enterprise plans",
        "How do canned responses work with macros?",
    ),
    "bug": (
        "Attachments over {n} MB fail to upload",
        "Search ignores accented characters",
        "Email notifications show the wrong time zone",
        "Saving a draft duplicates the message",
        "Mobile app crashes when opening a conversation",
    ),
    "feature_request": (
        "Dark mode for the agent workspace",
        "Bulk-assign tickets from the list view",
        "Allow more than {n} custom fields per ticket",
        "Export SLA reports to PDF",
        "Let customers reopen their own tickets",
    ),
}

URGENT_SUBJECTS: Mapping[str, tuple[str, ...]] = {
    "technical": (
        "Production API times out on every request",
        "No one on our team can sign in",
        "Inbound email stopped creating tickets",
    ),
    "bug": (
        "Saved replies vanished after this morning's update",
        "Ticket list shows other customers' tickets",
    ),
    "billing": ("Every invoice run failed today", "Customers charged ten times the price"),
    "account": ("Admin account compromised: lock it now", "Whole workspace suspended by mistake"),
}
"""What a critical ticket of an ordinary day is about."""

TAGS: Mapping[str, tuple[str, ...]] = {
    "technical": ("sso", "api", "integration", "performance", "email"),
    "billing": ("refund", "invoice", "duplicate_charge", "renewal"),
    "account": ("access", "security", "admin"),
    "product": ("how_to", "mobile", "reporting"),
    "bug": ("regression", "mobile", "search", "attachments"),
    "feature_request": ("roadmap", "ux"),
}

ROOT_CAUSES: Mapping[str, tuple[str, ...]] = {
    "technical": ("system_error", "configuration_error", "third_party_outage", "user_error"),
    "billing": ("billing_error", "billing_error", "payment_provider_error", "user_error"),
    "account": ("user_error", "configuration_error"),
    "product": ("documentation_gap", "user_error"),
    "bug": ("system_error", "system_error", "software_defect"),
    "feature_request": ("known_limitation",),
}

CHANNELS = ("email", "email", "chat", "web_form", "phone")
PLANS = ("starter", "pro", "pro", "enterprise")

RESOLUTIONS: Mapping[str, str] = {
    "technical": "Found the cause and fixed it on our side; please let us know if it recurs.",
    "billing": "Corrected the charge; the adjustment shows on your next statement.",
    "account": "The account change is done and confirmed with your admin.",
    "product": "Sent step-by-step instructions and a link to the guide.",
    "bug": "A fix is deployed to production; thanks for the detailed report.",
    "feature_request": "Logged with the product team; we will update you when it ships.",
}

WAITING_NOTES = (
    "Asked the customer for a HAR file and the exact time of the failure.",
    "Asked the customer to confirm which workspace is affected.",
    "Waiting for the customer's admin to approve the change.",
)
VENDOR_NOTES: Mapping[str, tuple[str, ...]] = {
    "technical": (
        "Opened a case with the identity provider's support.",
        "Waiting on the email delivery vendor to lift the block.",
    ),
    "billing": ("Escalated to the payment provider; they are checking the settlement.",),
    "account": ("Waiting on the customer's SSO provider to confirm the domain change.",),
    "product": ("Asked the app store review team why the update is held back.",),
    "bug": ("Reported to the file storage vendor; they reproduced it.",),
    "feature_request": ("Waiting on the product team's roadmap review.",),
}

# How long each kind of step takes, in minutes (low, high), before scaling by priority.
TRIAGE = (15, 120)
PICK_UP = (10, 60)
WORK = (40, 200)
VERIFY = (20, 120)
SPEED = {Priority.CRITICAL: 0.25, Priority.HIGH: 0.5, Priority.NORMAL: 1.0, Priority.LOW: 1.4}

# The fates of ordinary tickets, with weights and the latest hour they may arrive.
FATES: Mapping[str, tuple[int, float]] = {
    "closed": (11, 5.5),
    "closed_first_contact": (4, 7.5),
    "resolved": (4, 7.0),
    "in_progress": (4, 8.0),
    "waiting_on_customer": (3, 7.5),
    "customer_replied": (2, 6.0),
    "waiting_on_third_party": (2, 7.5),
    "untriaged": (3, 9.6),
}

UNLIKELY_CRITICAL = frozenset(CATEGORIES) - frozenset(URGENT_SUBJECTS)
NOT_FOR_CRITICAL = frozenset({"untriaged", "in_progress"})
"""A critical ticket is an outage or a blocker, and it is dealt with the same day."""


# -- the plan -------------------------------------------------------------------------


@attrs.frozen
class Step:
    """One call of the day: ``create``, ``update`` or ``close`` on one of its tickets."""

    at: timedelta
    ticket: int
    verb: str
    fields: Mapping[str, Any]


@attrs.define
class _Story:
    """One ticket's day, written step by step with a moving cursor."""

    ticket: int
    rng: random.Random
    priority: Priority
    cursor: timedelta
    steps: list[Step] = attrs.field(factory=list)

    def at_once(self, verb: str, **fields: Any) -> None:
        self.steps.append(Step(self.cursor, self.ticket, verb, fields))

    def later(
        self, minutes: tuple[int, int], verb: str, *, scale: bool = True, **fields: Any
    ) -> None:
        low, high = minutes
        factor = SPEED[self.priority] if scale else 1.0
        self.cursor += timedelta(minutes=max(2, round(self.rng.randint(low, high) * factor)))
        self.at_once(verb, **fields)


class _Subjects:
    """Subjects dealt from a shuffled deck per category, so a day rarely repeats one."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._decks: dict[str, list[str]] = {}

    def deal(self, category: str, *, urgent: bool = False) -> str:
        source = URGENT_SUBJECTS if urgent else SUBJECTS
        deck = self._decks.setdefault(("!" if urgent else "") + category, [])
        if not deck:
            deck.extend(source[category])
            self._rng.shuffle(deck)
        n = self._rng.choice((5, 10, 20, 25, 30))
        return deck.pop().format(n=n, order=self._rng.randint(10000, 99999))


def _ticket_fields(
    rng: random.Random, priority: Priority, category: str, subject: str
) -> dict[str, Any]:
    contact = rng.choice(CONTACTS)
    channel = rng.choice(CHANNELS)
    fields: dict[str, Any] = {
        "subject": subject,
        "description": (
            f"{subject}.\n\nReported by **{contact}** via {channel.replace('_', ' ')}. "
            "Details and screenshots are in the conversation."
        ),
        "priority": int(priority),
        "contact_id": contact,
        "tags": rng.sample(TAGS[category], k=min(len(TAGS[category]), rng.randint(1, 2))),
        "custom_fields": {"plan": rng.choice(PLANS)},
        "metadata": {"channel": channel, "source": "demo"},
    }
    if channel in ("chat", "email"):
        fields["conversation_id"] = f"conv_{rng.getrandbits(48):012x}"
    # Customers filing by email rarely pick a category; triage sets it.
    if channel != "email":
        fields["category"] = category
    return fields


def _close_fields(
    rng: random.Random, category: str, spent: timedelta, *, unhappy: bool = False
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "resolution_note": RESOLUTIONS[category],
        "resolution_time": rng.randint(10, max(10, int(spent.total_seconds() // 60))),
        "root_cause": rng.choice(ROOT_CAUSES[category]),
    }
    if rng.random() < 0.85:  # not every customer answers the survey
        fields["customer_satisfaction"] = (
            rng.randint(2, 5) if unhappy else rng.choice((6, 7, 8, 8, 9, 9, 9, 10, 10, 10))
        )
    return fields


def _triage(
    story: _Story,
    category: str,
    agent: str,
    fields: Mapping[str, Any],
    delay: tuple[int, int] = TRIAGE,
    *,
    scale: bool = True,
) -> None:
    triage: dict[str, Any] = {
        "status": "open",
        "assigned_to": agent,
        "internal_note": f"Triaged as {category}; assigned to {AGENTS[agent]}.",
    }
    if "category" not in fields:
        triage["category"] = category
    story.later(delay, "update", scale=scale, **triage)


def _resolve_and_close(
    story: _Story, category: str, arrival: timedelta, *, unhappy: bool = False
) -> None:
    story.later(WORK, "update", status="resolved", internal_note="Fix confirmed on our side.")
    spent = story.cursor - arrival
    story.later(
        VERIFY, "close", scale=False, **_close_fields(story.rng, category, spent, unhappy=unhappy)
    )


def _ordinary(
    story: _Story, fate: str, category: str, agent: str, fields: Mapping[str, Any]
) -> None:
    rng, arrival = story.rng, story.cursor
    story.at_once("create", **fields)
    if fate == "untriaged":
        return
    _triage(story, category, agent, fields)
    if fate == "closed_first_contact":
        story.later(PICK_UP, "close", **_close_fields(rng, category, story.cursor - arrival))
        return
    story.later(PICK_UP, "update", status="in_progress")
    if fate == "closed":
        _resolve_and_close(story, category, arrival)
    elif fate == "resolved":
        story.later(
            WORK,
            "update",
            status="resolved",
            internal_note="Sent the fix; waiting for the customer to confirm.",
        )
    elif fate in ("waiting_on_customer", "customer_replied"):
        story.later(
            WORK, "update", status="waiting_on_customer", internal_note=rng.choice(WAITING_NOTES)
        )
        if fate == "customer_replied":
            story.later(
                (30, 150),
                "update",
                scale=False,
                status="in_progress",
                internal_note="Customer replied with the details.",
            )
            story.later(WORK, "update", status="resolved")
    elif fate == "waiting_on_third_party":
        story.later(
            WORK,
            "update",
            status="waiting_on_third_party",
            internal_note=rng.choice(VENDOR_NOTES[category]),
        )


def _outage(story: _Story) -> None:
    """A critical outage picked up late: it misses both its response and its resolution."""
    fields = _ticket_fields(
        story.rng,
        Priority.CRITICAL,
        "technical",
        "Checkout returns 500 errors for all EU customers",
    )
    fields["tags"] = ["outage", "checkout"]
    arrival = story.cursor
    story.at_once("create", **fields)
    _triage(story, "technical", "user_omar_haddad", fields, delay=(70, 95), scale=False)
    story.later(
        (5, 10),
        "update",
        scale=False,
        status="in_progress",
        internal_note="Paged the on-call engineer; EU checkout pods are crash-looping.",
    )
    story.later(
        (200, 240),
        "update",
        scale=False,
        status="resolved",
        internal_note="Rolled back the faulty deploy; error rate back to normal.",
    )
    spent = story.cursor - arrival
    close = _close_fields(story.rng, "technical", spent, unhappy=True)
    close["root_cause"] = "system_error"
    story.later((20, 40), "close", scale=False, **close)


def _forgotten(story: _Story) -> None:
    """A high-priority ticket nobody triages all day: its response target passes."""
    story.at_once(
        "create",
        **_ticket_fields(
            story.rng, Priority.HIGH, "billing", "Customer charged twice for annual renewal"
        ),
    )


def _reopened(story: _Story) -> None:
    """Closed before lunch, back in the afternoon: the issue recurred."""
    fields = _ticket_fields(
        story.rng, Priority.HIGH, "technical", "SSO login loops back to the sign-in page"
    )
    arrival = story.cursor
    story.at_once("create", **fields)
    _triage(story, "technical", "user_li_wei", fields, delay=(10, 20), scale=False)
    story.later((10, 20), "update", scale=False, status="in_progress")
    story.later(
        (40, 60),
        "update",
        scale=False,
        status="resolved",
        internal_note="Cleared the stale IdP certificate from the cache.",
    )
    close = _close_fields(story.rng, "technical", story.cursor - arrival)
    close["root_cause"] = "configuration_error"
    story.later((15, 30), "close", scale=False, **close)
    story.later(
        (90, 120),
        "update",
        scale=False,
        status="reopened",
        internal_note="Customer reports the login loop is back for some users.",
    )
    story.later((5, 15), "update", scale=False, status="in_progress")
    story.later(
        (45, 90),
        "update",
        scale=False,
        status="resolved",
        internal_note="Second IdP node had the old certificate too; rotated it.",
    )
    close = _close_fields(story.rng, "technical", story.cursor - arrival)
    close["root_cause"] = "configuration_error"
    story.later((15, 30), "close", scale=False, **close)


def _escalated(story: _Story) -> None:
    """A normal ticket the customer escalates: raised to critical, handled fast."""
    fields = _ticket_fields(story.rng, Priority.NORMAL, "bug", "Exports stop at 10,000 rows")
    arrival = story.cursor
    story.at_once("create", **fields)
    _triage(story, "bug", "user_li_wei", fields, delay=(30, 60), scale=False)
    story.later((20, 40), "update", scale=False, status="in_progress")
    story.later(
        (30, 60),
        "update",
        scale=False,
        priority=1,
        internal_note="Customer's quarter-end audit depends on it; raised to Critical.",
    )
    story.later(
        (40, 80),
        "update",
        scale=False,
        status="resolved",
        internal_note="Hotfix removed the row cap.",
    )
    close = _close_fields(story.rng, "bug", story.cursor - arrival)
    close["root_cause"] = "system_error"
    story.later((20, 40), "close", scale=False, **close)


def _spread(
    rng: random.Random, values: Iterable[Any], count: int, weights: Sequence[float]
) -> list[Any]:
    """``count`` values with every one of ``values`` at least once, the rest by weight."""
    choices = list(values)
    picked = choices + rng.choices(choices, weights=weights, k=count - len(choices))
    rng.shuffle(picked)
    return picked


def _suit_critical(priorities: list[Priority], categories: list[str], fates: list[str]) -> None:
    """Give critical tickets urgent categories and fates that end the same day, by
    swapping with other tickets so that every category and fate still appears."""
    for values, unfit in ((categories, UNLIKELY_CRITICAL), (fates, NOT_FOR_CRITICAL)):
        for i, priority in enumerate(priorities):
            if priority is not Priority.CRITICAL or values[i] not in unfit:
                continue
            j = next(
                (
                    j
                    for j, other in enumerate(priorities)
                    if other is not Priority.CRITICAL and values[j] not in unfit
                ),
                i,
            )
            values[i], values[j] = values[j], values[i]


def plan_day(rng: random.Random, count: int = TICKETS) -> list[Step]:
    """The day's calls, in order of time, for ``count`` tickets."""
    if count < MIN_TICKETS:
        raise ValueError(f"a day needs at least {MIN_TICKETS} tickets, not {count}")
    specials = [
        (timedelta(minutes=rng.randint(15, 35)), _outage),
        (timedelta(minutes=rng.randint(30, 50)), _forgotten),
        (timedelta(minutes=rng.randint(40, 70)), _reopened),
        (timedelta(minutes=rng.randint(90, 150)), _escalated),
    ]
    ordinary = count - len(specials)  # at least one of every fate and category
    priorities = _spread(rng, Priority, ordinary, (1, 6, 12, 5))
    categories = _spread(rng, CATEGORIES, ordinary, (8, 6, 4, 3, 4, 2))
    fates = _spread(rng, FATES, ordinary, [weight for weight, _ in FATES.values()])
    _suit_critical(priorities, categories, fates)
    subjects = _Subjects(rng)
    stories: list[_Story] = []
    for priority, category, fate in zip(priorities, categories, fates, strict=True):
        latest = FATES[fate][1]
        arrival = timedelta(minutes=rng.randint(0, int(latest * 60)))
        story = _Story(0, rng, priority, arrival)
        fields = _ticket_fields(
            rng, priority, category, subjects.deal(category, urgent=priority is Priority.CRITICAL)
        )
        _ordinary(story, fate, category, rng.choice(DESKS[category]), fields)
        stories.append(story)
    for arrival, write in specials:
        special = _Story(0, rng, Priority.CRITICAL, arrival)
        write(special)
        stories.append(special)
    # Numbers follow arrival order, as they would at a real help desk.
    stories.sort(key=lambda story: story.steps[0].at)
    steps: list[Step] = []
    for index, story in enumerate(stories):
        steps.extend(attrs.evolve(step, ticket=index) for step in story.steps if step.at < DAY)
    return sorted(steps, key=lambda step: step.at)


# -- running it -----------------------------------------------------------------------


def _latest_activity(engine: Engine) -> datetime | None:
    page = engine.tickets.list(sort_by="updated_at", sort_order="desc", per_page=1)
    return page.data[0].updated_at if page.data else None


def morning_of(day: datetime) -> datetime:
    """08:00 UTC on ``day``'s date (in UTC)."""
    return datetime.combine(day.astimezone(UTC).date(), OPENING, tzinfo=UTC)


class NoDayToPlay(Exception):
    """No day can be played on this file now without writing the future or going back
    in time; the message says why, and what to do."""


class AlreadyPlayed(NoDayToPlay):
    """The file already holds activity after the opening of the last working day that
    has ended (a second run the same day): that day is not played twice."""

    def __init__(self, message: str, opening: datetime) -> None:
        super().__init__(message)
        self.opening = opening


def last_day_ended(now: datetime) -> datetime:
    """The opening of the last working day that has ended by ``now``: today's after
    18:00 UTC, else yesterday's."""
    today = morning_of(now)
    return today if today + DAY <= now else today - timedelta(days=1)


def _when(instant: datetime) -> str:
    return f"{instant:%a %d %b %Y, %H:%M} UTC"


def choose_opening(
    path: str, now: datetime, latest: datetime | None, start: datetime | None = None
) -> datetime:
    """When the day played on ``path`` opens, given the real clock's ``now`` and the
    file's latest activity: see the module's docstring. Refused: :class:`NoDayToPlay`."""
    if start is None:
        opening = last_day_ended(now)
        if latest is not None and latest > opening:
            following = opening + timedelta(days=1)
            raise AlreadyPlayed(
                f"{path} already holds activity up to {_when(latest)}, after the start of"
                f" the last working day that has ended ({_when(opening)}); the demo plays"
                " only days that have ended, after everything in the file (history never"
                f" runs backwards). The next day can be played from {_when(following + DAY)};"
                " to play one now, name another file (--db).",
                opening,
            )
        return opening
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    opening = start if latest is None or latest <= start else latest + AFTER_LATEST
    if opening + DAY > now:
        moved = "" if opening == start else " (moved after the file's latest activity)"
        raise NoDayToPlay(
            f"a day from {_when(opening)}{moved} would end at {_when(opening + DAY)}, after"
            f" the real clock's now ({_when(now)}): the demo writes only the past. Give an"
            " earlier --start, or none to play the last day that has ended."
        )
    return opening


def run(
    path: str,
    *,
    seed: int = DEFAULT_SEED,
    start: datetime | None = None,
    count: int = TICKETS,
    now: datetime | None = None,
) -> DemoReport:
    """Play a day of support on the database at ``path`` and report on it.

    ``now`` is the real clock's now (by default :data:`REAL_CLOCK`'s): no timestamp the
    run writes is after it. Without ``start`` the day is the last working day that has
    ended by ``now``; with one, it starts there, or an hour after the file's latest
    activity if that is later. A day that would end after ``now``, or that the file
    already holds, is :class:`NoDayToPlay` (see the module's docstring); nothing is
    written then.
    """
    real_now = utc_seconds(now if now is not None else REAL_CLOCK.now())
    # The clock starts before anything a file holds and moves forward only: to the
    # opening once it is known, through the day, and last to the real now.
    clock = ManualClock(EARLIEST)
    with Engine.open(path, clock=clock) as engine:
        try:
            opening = choose_opening(engine.path, real_now, _latest_activity(engine), start)
        except AlreadyPlayed as played:
            clock.set(real_now)
            again = _played_day(engine, path, played.opening, str(played))
            if again is None:
                raise
            return again
        clock.set(opening)
        rng = random.Random(f"{seed}:{opening.isoformat()}")
        for agent_id, name in AGENTS.items():
            engine.agents.add(agent_id, name)
        ids: dict[int, str] = {}
        for step in plan_day(rng, count):
            clock.set(opening + step.at)
            if step.verb == "create":
                ids[step.ticket] = engine.tickets.create(**step.fields).id
            elif step.verb == "update":
                engine.tickets.update(ids[step.ticket], **step.fields)
            else:
                engine.tickets.close(ids[step.ticket], **step.fields)
        clock.set(real_now)  # read as a list of the file reads it now
        tickets = [engine.tickets.get(ids[index]) for index in sorted(ids)]
        return _report(engine, path, opening, tickets)


def _report(
    engine: Engine, path: str, opening: datetime, tickets: list[Ticket], again: str | None = None
) -> DemoReport:
    """The report of the day from ``opening``, its tickets read as of the engine's now."""
    return DemoReport(
        path=engine.path if path == ":memory:" or "://" in path else os.path.abspath(path),
        start=opening,
        end=opening + DAY,
        tickets=tickets,
        total=engine.tickets.count(),
        as_of=engine.clock.now(),
        again=again,
    )


def _played_day(engine: Engine, path: str, opening: datetime, why: str) -> DemoReport | None:
    """The report of the day from ``opening`` as the file holds it, written nothing; None
    when no ticket was created in that day (the file's activity is not a demo's)."""
    window = {"created_after": format_time(opening), "created_before": format_time(opening + DAY)}
    tickets: list[Ticket] = []
    page = 1
    while True:
        found = engine.tickets.list(
            **window, sort_by="created_at", sort_order="asc", per_page=100, page=page
        )
        tickets += found.data
        if page >= found.meta["total_pages"]:
            break
        page += 1
    if not tickets:
        return None
    return _report(engine, path, opening, tickets, again=why)


# -- the report -----------------------------------------------------------------------


def _share(met: int, decided: int) -> str:
    if not decided:
        return "none decided yet"
    return f"{met}/{decided} ({100 * met / decided:.0f}%)"


def _counts(counter: Counter[str], order: Iterable[str]) -> str:
    return ", ".join(f"{name} {counter[name]}" for name in order if counter[name])


@attrs.frozen
class DemoReport:
    """One run of the demo: its tickets as they stand at the end of its day."""

    path: str
    start: datetime
    end: datetime
    tickets: list[Ticket]
    total: int
    as_of: datetime
    """When the tickets were read (their SLA states are as of then): the real clock's now
    when the run ended, to the second."""
    again: str | None = None
    """Set when this run played nothing because the file already holds the day (a second
    run the same day): why, and when the next day can be played. The report is then the
    day as the file holds it."""

    @property
    def breached(self) -> list[Ticket]:
        return [t for t in self.tickets if t.sla is not None and t.sla.breached]

    def headline(self) -> str:
        """Two lines: the day, then its tickets and agents."""
        first, last = self.tickets[0].number_label, self.tickets[-1].number_label
        ends = "%H:%M" if self.end.date() == self.start.date() else "%a %d %b %H:%M"
        return (
            f"A day of support: {self.start:%a %d %b %Y, %H:%M} to {self.end.strftime(ends)} UTC"
            f"\n{len(self.tickets)} tickets ({first} to {last}), {len(AGENTS)} agents"
        )

    def summary(self, width: int = 80) -> str:
        """The day's figures, a line each, wrapped to ``width`` columns."""
        tickets = self.tickets
        slas = [t.sla for t in tickets if t.sla is not None]
        response = [s.response_met for s in slas if s.response_met is not None]
        resolution = [s.resolution_met for s in slas if s.resolution_met is not None]
        scores = [t.customer_satisfaction for t in tickets if t.customer_satisfaction]
        causes = Counter(t.root_cause for t in tickets if t.root_cause)
        statuses = Counter(str(t.status) for t in tickets)
        priorities = Counter(t.priority_label for t in tickets)
        reopened = sum(1 for t in tickets if t.reopened_count)
        csat = f"{sum(scores) / len(scores):.1f} / 10 from {len(scores)} ratings" if scores else "-"
        rows = [
            ("Status", _counts(statuses, [s.value for s in Status])),
            ("Priority", _counts(priorities, [p.label for p in Priority])),
            ("SLA response met", _share(sum(response), len(response))),
            ("SLA resolution met", _share(sum(resolution), len(resolution))),
            ("SLA breached", str(len(self.breached))),
            ("Mean CSAT", csat),
            ("Reopened", str(reopened)),
            ("Top root causes", _counts(causes, [name for name, _ in causes.most_common(3)])),
            ("As of", f"{format_time(self.as_of)} (the SLA states above)"),
            ("Database", f"{self.path} ({self.total} tickets in all)"),
        ]
        labels = max(len(label) for label, _ in rows) + 3
        return "\n".join(
            textwrap.fill(
                value,
                width=max(width, labels + 20),
                initial_indent=f"{label + ':':<{labels}}",
                subsequent_indent=" " * labels,
                break_on_hyphens=False,
                break_long_words=False,
            )
            for label, value in rows
        )
