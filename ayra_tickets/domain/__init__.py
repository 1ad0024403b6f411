"""The pure domain core: statuses, priorities, SLA clock, validation, tickets, errors.

Nothing in this package knows that SQLite or HTTP exist.
"""

from .clock import Clock, ManualClock, SystemClock
from .lifecycle import TRANSITIONS, Status
from .priority import Priority
from .sla import DEFAULT_POLICY, Sla, SlaPolicy, Targets
from .ticket import Event, Ticket

__all__ = [
    "DEFAULT_POLICY",
    "TRANSITIONS",
    "Clock",
    "Event",
    "ManualClock",
    "Priority",
    "Sla",
    "SlaPolicy",
    "Status",
    "SystemClock",
    "Targets",
    "Ticket",
]
