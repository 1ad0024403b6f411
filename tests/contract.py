"""The contract's tables, transcribed by hand from ``docs/contract.md``.

Tests compare the engine with these, never with the package's own tables, so that a
wrong table in the package fails a test.
"""

from __future__ import annotations

from datetime import timedelta

TRANSITIONS: dict[str, set[str]] = {
    "new": {"open", "in_progress", "waiting_on_customer", "waiting_on_third_party", "resolved", "closed"},
    "open": {"in_progress", "waiting_on_customer", "waiting_on_third_party", "resolved", "closed"},
    "in_progress": {"open", "waiting_on_customer", "waiting_on_third_party", "resolved", "closed"},
    "waiting_on_customer": {"open", "in_progress", "waiting_on_third_party", "resolved", "closed"},
    "waiting_on_third_party": {"open", "in_progress", "waiting_on_customer", "resolved", "closed"},
    "resolved": {"reopened", "closed"},
    "closed": {"reopened"},
    "reopened": {"open", "in_progress", "waiting_on_customer", "waiting_on_third_party", "resolved", "closed"},
}  # fmt: skip
"""The Lifecycle table, row by row: where each status may move."""

PAUSED = {"waiting_on_customer", "waiting_on_third_party", "resolved", "closed"}
"""Where the resolution clock stands still."""

DEFAULT_TARGETS: dict[int, tuple[timedelta, timedelta]] = {
    1: (timedelta(hours=1), timedelta(hours=4)),
    2: (timedelta(hours=8), timedelta(days=2)),
    3: (timedelta(days=2), timedelta(days=5)),
    4: (timedelta(days=7), timedelta(days=14)),
}
"""Default (first response, resolution) targets per priority, in calendar time."""
