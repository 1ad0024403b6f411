"""ayra-tickets: the Ayra Ticket API as an embedded engine over SQLite.

>>> import ayra_tickets
>>> engine = ayra_tickets.Engine.open(":memory:")
>>> ticket = engine.tickets.create(subject="Printer on fire", description="Send help")
>>> ticket.to_dict()["number"]
'TICK-1'
"""

from .domain.calendar import BusinessCalendar
from .domain.clock import Clock, ManualClock, SystemClock
from .domain.errors import TicketError
from .domain.escalation import AddTag, EscalationLevel, Notify, RaisePriority, Reassign
from .domain.lifecycle import TRANSITIONS, Status
from .domain.priority import Priority
from .domain.routing import Agent, RoutingRule
from .domain.sla import SlaPolicy, Targets
from .domain.ticket import Event, Ticket
from .engine import Engine
from .service import ImportReport, ImportStopped, Page
from .storage.errors import (
    DatabaseBusy,
    DatabaseGone,
    NewerSchema,
    NotATicketDatabase,
    StorageFull,
    StorageUnavailable,
)
from .sync import SyncReport, SyncStatus, SyncUnavailable
from .webhooks import SignatureInvalid, verify
from .wire import Response

__all__ = [
    "TRANSITIONS",
    "AddTag",
    "Agent",
    "BusinessCalendar",
    "Clock",
    "DatabaseBusy",
    "DatabaseGone",
    "Engine",
    "EscalationLevel",
    "Event",
    "ImportReport",
    "ImportStopped",
    "ManualClock",
    "NewerSchema",
    "NotATicketDatabase",
    "Notify",
    "Page",
    "Priority",
    "RaisePriority",
    "Reassign",
    "Response",
    "RoutingRule",
    "SignatureInvalid",
    "SlaPolicy",
    "Status",
    "StorageFull",
    "StorageUnavailable",
    "SyncReport",
    "SyncStatus",
    "SyncUnavailable",
    "SystemClock",
    "Targets",
    "Ticket",
    "TicketError",
    "verify",
]
