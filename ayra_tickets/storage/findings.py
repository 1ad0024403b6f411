"""What a check of a database says: its findings and the report that holds them.

The checks themselves are an adapter's (``storage/sqlite/check.py`` for a file); what
they say is the same shape whatever the database, for the engine, the CLI and the
control plane to show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

Progress = Callable[[int, int], None]
"""Told how many tickets have been checked so far, and about how many there are."""


@attrs.frozen
class Finding:
    """One thing a check found: which check, where (a ticket's number or a table) and
    what was wrong. A note (``problem=False``) is worth knowing but is no damage."""

    check: str
    message: str
    ticket: int | None = None
    table: str | None = None
    problem: bool = True

    @property
    def where(self) -> str:
        if self.ticket is not None:
            return f"TICK-{self.ticket}"
        return self.table or "file"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "ticket": None if self.ticket is None else f"TICK-{self.ticket}",
            "table": self.table,
            "problem": self.problem,
            "message": self.message,
        }

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@attrs.frozen
class Report:
    """What a check of a database ran and found. ``clean`` when nothing is wrong."""

    path: str
    checks: tuple[str, ...]
    findings: tuple[Finding, ...]
    tickets: int = 0
    events: int = 0

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.problem)

    @property
    def notes(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if not finding.problem)

    @property
    def clean(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "clean": self.clean,
            "checks": list(self.checks),
            "tickets": self.tickets,
            "events": self.events,
            "findings": [finding.to_dict() for finding in self.findings],
        }


class Unreadable(Exception):
    """The database cannot be checked at all: missing, not SQLite, or not ayra-tickets'."""
