"""The work every side of the benchmarks does, on either backend: the create bodies (a
realistic mix), the changes, the lists, the read dataset, and how calls are timed and
summed up."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ayra_tickets import Engine, ManualClock

START = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
# Text for search: a Zipf-distributed vocabulary, as in real tickets. The first ranks are
# the words every ticket has, then the support terms people search for (a few per cent
# of tickets each), then a long tail of rarer words.
COMMON = "the to and a i is it on my for not with this we have please can you".split()
TERMS = (
    "refund invoice charge login password reset export crash slow timeout billing "
    "account upgrade downgrade webhook api token sync mobile desktop printer email "
    "attachment ink report dashboard permission error install update license "
    "subscription card declined notification calendar import backup restore"
).split()
CATEGORIES = ("technical", "billing", "account", "product", "bug", "feature_request")
CREATE_STATUSES = ("new", "new", "open", "open", "in_progress")


def _vocabulary(size: int = 5_000) -> tuple[list[str], list[float]]:
    rng = random.Random(3)
    letters = "bcdfghjklmnprstvwz"
    tail = {
        "".join(rng.choice(letters) + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
        for _ in range(size)
    }
    words = COMMON + TERMS + sorted(tail - set(COMMON) - set(TERMS))
    weights, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1 / rank**1.07
        weights.append(total)
    return words, weights


def bodies(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Create bodies: skewed assignees and contacts, a mix of statuses and priorities,
    due dates on some, tags on most, subjects and descriptions of Zipfian text."""
    rng = random.Random(seed)
    words, weights = _vocabulary()
    made = []
    for _ in range(count):
        body = {
            "subject": " ".join(rng.choices(words, cum_weights=weights, k=6)).capitalize(),
            "description": " ".join(rng.choices(words, cum_weights=weights, k=45)),
            "priority": rng.choice((1, 2, 3, 3, 3, 4)),
            "status": rng.choice(CREATE_STATUSES),
            "category": rng.choice(CATEGORIES),
            "contact_id": f"contact_{int(rng.paretovariate(1.2)) % 5000}",
            "assigned_to": f"user_{int(rng.paretovariate(1.5)) % 40}",
            "tags": rng.sample(TERMS[:10], k=rng.randint(0, 2)),
        }
        if rng.random() < 0.3:
            due = START + timedelta(hours=rng.randint(1, 24 * 30))
            body["due_date"] = due.isoformat().replace("+00:00", "Z")
        made.append(body)
    return made


def timed(calls: Iterator[Callable[[], Any]]) -> list[float]:
    samples = []
    for call in calls:
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e6

    return {
        "ops_per_s": len(samples) / sum(samples),
        "p50_us": pct(0.50),
        "p95_us": pct(0.95),
        "p99_us": pct(0.99),
    }


UPDATE_BODY = {"status": "in_progress", "priority": 2, "assigned_to": "user_7"}
CLOSE_BODY = {"resolution_note": "Fixed in the latest release", "customer_satisfaction": 9}

LIST_CALLS = 200
"""Calls per list measurement: enough that p99 is not simply the slowest call."""

LIST_MIX: list[dict[str, Any]] = [
    {},
    {"status": "open"},
    {"status": "open", "priority": 2},
    {"status": "open", "priority": 2, "assigned_to": "user_1"},
    {"assigned_to": "user_3"},
    {"contact_id": "contact_2"},
    {"sla_breach": True},
    {"sla_breach": True, "status": "open"},
    {"tags": "refund"},
    {"tags": "refund", "status": "open"},
    {"created_after": "2025-01-18T00:00:00Z", "created_before": "2025-01-19T00:00:00Z"},
    {"due_before": "2025-01-22T00:00:00Z", "status": "in_progress"},
    {"category": "billing", "sort_by": "priority"},
    {"status": "open", "sort_by": "due_date", "sort_order": "asc"},
    {"search": "invoice", "status": "open"},
]
SEARCHES = ("invoice", "printer ink", "refund login password", "declined card")
SLICES = 100  # the read dataset arrives in this many imports, two hours apart
BULK_CHUNK = 10_000  # rows per transaction, for both sides


def build_read_database(address: str | Path, work: list[dict[str, Any]]) -> datetime:
    """The dataset the reads run over (a SQLite file, or a PostgreSQL URL): created in slices two hours apart, a sample then
    moved on (waiting, resolved, closed), read a day after the last slice. Returns that
    moment."""
    clock = ManualClock(START)
    with Engine.open(address, clock=clock) as engine:
        size = -(-len(work) // SLICES)
        for start in range(0, len(work), size):
            engine.tickets.import_many(work[start : start + size], chunk_size=BULK_CHUNK)
            clock.advance(timedelta(hours=2))
        moves = random.Random(11)
        sample = [t["id"] for t in engine.tickets.export(status="open")]
        for ticket_id in moves.sample(sample, k=min(len(sample) // 10, 3_000)):
            move = moves.choice(("waiting_on_customer", "resolved", "close"))
            if move == "close":
                engine.tickets.close(ticket_id, customer_satisfaction=moves.randint(1, 10))
            else:
                engine.tickets.update(ticket_id, status=move)
        clock.advance(timedelta(days=1))
        return clock.now()


def interleaved(sides: dict[str, list[Callable[[], Any]]], block: int) -> dict[str, list[float]]:
    """Run each side's calls in turns of ``block`` calls (A, B, A, B, ...), timing each
    call: a moment of noise on the machine falls on every side alike."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    longest = max(len(calls) for calls in sides.values())
    for start in range(0, longest, block):
        for name, calls in sides.items():
            samples[name] += timed(iter(calls[start : start + block]))
    return samples
