"""A ticket's fields, each described once: its name, its kind of value, whether the API
shows it and whether the event log carries it.

Everything else that lists a ticket's fields is derived from :data:`TICKET_FIELDS` and
:data:`CLOCK_FIELDS`: the fields the log carries (:data:`PERSISTENT_FIELDS`,
``Ticket.persistent()``), the API's ticket object (``Ticket.to_dict()``, in
:data:`API_ORDER`), and each storage adapter's columns and row converters, which map a
:class:`Kind` to the database's type. Adding a field is one row here, a migration that
makes its column, and its validation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from .times import format_time

T = TypeVar("T")


class Kind(enum.Enum):
    """What a field holds, which says how it is written on the wire and stored."""

    NUMBER = "number"
    """A ticket's number, an integer; ``TICK-N`` on the wire."""
    TEXT = "text"
    INTEGER = "integer"
    STATUS = "status"
    """A :class:`~ayra_tickets.domain.lifecycle.Status`; its name on the wire."""
    TIME = "time"
    """An aware UTC ``datetime``; RFC 3339 text on the wire."""
    TAGS = "tags"
    """A tuple of strings; a JSON list on the wire."""
    OBJECT = "object"
    """A JSON object (a mapping)."""
    FLAG = "flag"
    """``True``, ``False`` or (optional) ``None``: undecided."""


def _number_label(number: int) -> str:
    return f"TICK-{number}"


Convert = Callable[[Any], Any] | None
"""How a value is converted (``None``: it is taken as it is)."""

_TO_WIRE: dict[Kind, Convert] = {
    Kind.NUMBER: _number_label,
    Kind.TEXT: None,
    Kind.INTEGER: None,
    Kind.STATUS: str,
    Kind.TIME: format_time,
    Kind.TAGS: list,
    Kind.OBJECT: dict,
    Kind.FLAG: None,
}


@attrs.frozen
class Field:
    """One field: ``name`` (the attribute, and its column), its ``kind``, whether it may
    be ``None`` (``optional``), whether the API's ticket object shows it (``wire``) and
    whether the event log carries it (``logged``: :func:`~.ticket.replay` rebuilds
    it)."""

    name: str
    kind: Kind
    optional: bool = False
    wire: bool = True
    logged: bool = False

    @property
    def to_wire(self) -> Convert:
        """How a value of this field is written as JSON (``None`` stays ``None``)."""
        convert = _TO_WIRE[self.kind]
        if convert is None or not self.optional:
            return convert
        return NoneOr(convert)


def _field(name: str, kind: Kind, *, optional: bool = False, logged: bool = True) -> Field:
    return Field(name, kind, optional=optional, logged=logged)


TICKET_FIELDS: tuple[Field, ...] = (
    _field("number", Kind.NUMBER, logged=False),
    _field("id", Kind.TEXT, logged=False),
    _field("subject", Kind.TEXT),
    _field("description", Kind.TEXT),
    _field("priority", Kind.INTEGER),
    _field("status", Kind.STATUS),
    _field("category", Kind.TEXT, optional=True),
    _field("contact_id", Kind.TEXT, optional=True),
    _field("conversation_id", Kind.TEXT, optional=True),
    _field("assigned_to", Kind.TEXT, optional=True),
    _field("due_date", Kind.TIME, optional=True),
    _field("tags", Kind.TAGS),
    _field("custom_fields", Kind.OBJECT),
    _field("metadata", Kind.OBJECT),
    _field("resolution_note", Kind.TEXT, optional=True),
    _field("customer_satisfaction", Kind.INTEGER, optional=True),
    _field("resolution_time", Kind.INTEGER, optional=True),
    _field("root_cause", Kind.TEXT, optional=True),
    _field("first_response_at", Kind.TIME, optional=True),
    _field("resolved_at", Kind.TIME, optional=True),
    _field("closed_at", Kind.TIME, optional=True),
    _field("reopened_count", Kind.INTEGER),
    _field("version", Kind.INTEGER, logged=False),
    _field("created_at", Kind.TIME),
    _field("updated_at", Kind.TIME, logged=False),
)
"""The ticket's own fields, in the order of the tickets table's columns (the order the
event log carries them in too). The API shows every one."""


def _clock_field(name: str, kind: Kind, *, optional: bool = False) -> Field:
    return Field(name, kind, optional=optional, wire=False, logged=False)


CLOCK_FIELDS: tuple[Field, ...] = (
    _clock_field("policy", Kind.TEXT),
    _clock_field("response_target", Kind.INTEGER),
    _clock_field("resolution_target", Kind.INTEGER),
    _clock_field("response_due_at", Kind.TIME),
    _clock_field("resolution_due_at", Kind.TIME),
    _clock_field("paused_since", Kind.TIME, optional=True),
    _clock_field("paused_seconds", Kind.INTEGER),
    _clock_field("response_met", Kind.FLAG, optional=True),
    _clock_field("resolution_met", Kind.FLAG, optional=True),
    _clock_field("resolution_missed_at", Kind.TIME, optional=True),
)
"""The fields of a ticket's SLA clock (:class:`~ayra_tickets.domain.sla.SlaClock`), stored
beside the ticket's as ``sla_<name>`` (its ``started_at`` is the ticket's
``created_at``). Neither the API nor the log shows them: the API shows the ``sla`` the
engine reads from them. Storage keeps one more column derived from them,
``sla_breach_at`` (:func:`~ayra_tickets.domain.sla.breach_at`), so that "breached now?"
is a range over an index."""

FIELDS: dict[str, Field] = {field.name: field for field in TICKET_FIELDS}
"""The ticket's own fields by name."""

PERSISTENT_FIELDS: tuple[str, ...] = tuple(field.name for field in TICKET_FIELDS if field.logged)
"""The fields the event log carries; :func:`~.ticket.replay` rebuilds exactly these."""

READ_SIDE = ("priority_label", "assigned_name", "sla")
"""The API object's values that no column holds: the engine works them out as it reads a
ticket (the priority's name, the assignee's name from the agent directory, the SLA as of
that moment)."""

API_ORDER: tuple[str, ...] = (
    "id", "number", "subject", "description", "priority", "priority_label", "status",
    "category", "contact_id", "conversation_id", "assigned_to", "assigned_name",
    "due_date", "tags", "custom_fields", "metadata", "resolution_note",
    "customer_satisfaction", "resolution_time", "root_cause", "sla", "first_response_at",
    "reopened_count", "version", "resolved_at", "closed_at", "created_at", "updated_at",
)  # fmt: skip
"""The order of the API's ticket object (the contract's table of it): every field the
API shows and the read-side values. Only the order is said here; what each key holds is
its field's (a test holds this to the table)."""


def wire_value(name: str, value: Any) -> Any:
    """A ticket field's value as JSON (a name that is no field's is left as it is)."""
    field = FIELDS.get(name)
    convert = None if field is None else field.to_wire
    return value if convert is None else convert(value)


# -- derived functions ----------------------------------------------------------------
#
# The functions that write a ticket's fields out (its API object, its log entry, its
# row) and read them back are made once from the table, as attrs makes ``__init__``
# from its fields: each is one literal (a dict, a tuple, a call), half the cost of any
# loop that builds the same, and they run for every ticket read and written.

Item = tuple[str, str, Convert]
"""One value of a derived function: its name, where it is read (an expression of the
function's arguments, such as ``o.subject`` or ``o[2]``) and how it is converted."""


def dict_maker(name: str, items: Sequence[Item]) -> Callable[[Any], dict[str, Any]]:
    """A function of ``o`` that returns ``{name: converted value}`` for each item, in
    order."""
    body = ", ".join(f"{item[0]!r}: {_value(n, item)}" for n, item in enumerate(items))
    return _compiled(f"{name}(o)", f"{{{body}}}", items)


def tuple_maker(name: str, items: Sequence[Item]) -> Callable[[Any], tuple[Any, ...]]:
    """A function of ``o`` that returns the converted values, in order (a row)."""
    body = "".join(f"{_value(n, item)}, " for n, item in enumerate(items))
    return _compiled(f"{name}(o)", f"({body})", items)


def call_maker(
    name: str, make: Callable[..., T], items: Sequence[Item], params: Sequence[str] = ()
) -> Callable[..., T]:
    """A function of ``o`` and ``params`` (which items may read) that returns
    ``make(name=converted value, ...)``: a value built straight from a row."""
    body = ", ".join(f"{item[0]}={_value(n, item)}" for n, item in enumerate(items))
    return _compiled(f"{name}({', '.join(['o', *params])})", f"_make({body})", items, _make=make)


@attrs.frozen
class NoneOr:
    """A converter of a value that may be ``None``, which stays ``None``: the derived
    functions test for it in line, and call ``convert`` only on a value (most optional
    columns are empty, and a call costs more than the test)."""

    convert: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.convert(value)


def _value(n: int, item: Item) -> str:
    _, where, convert = item
    if convert is None:
        return where
    if isinstance(convert, NoneOr):
        return f"(None if {where} is None else _{n}({where}))"
    return f"_{n}({where})"


def _compiled(
    signature: str, expression: str, items: Sequence[Item], **scope: Any
) -> Callable[..., Any]:
    """The function ``def <signature>: return <expression>``, with each item's converter
    in scope as ``_<n>``."""
    for n, (_, _, convert) in enumerate(items):
        if convert is not None:
            scope[f"_{n}"] = convert.convert if isinstance(convert, NoneOr) else convert
    exec(f"def {signature}:\n    return {expression}\n", scope)  # the table's own names
    made: Callable[..., Any] = scope[signature.partition("(")[0]]
    return made
