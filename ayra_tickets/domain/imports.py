"""What one row of an import asks for: a create body, or a ticket as an export wrote it.

An import takes create bodies (``{"subject": ..., "description": ...}``) and also the
API's ticket objects, as ``export`` writes them, so that tickets move between databases
with their ids. Of such an object, the import keeps the ticket's id, every field a create
takes, its status and its resolution; what the API works out for itself (its number,
times, version, SLA, assignee's name) is the new database's, and so set aside.

With ``resume``, a row without an id gets one derived from its content and from how
many identical rows came before it in the input, so that importing the same input again
finds the tickets it made and skips them instead of making them twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .errors import InvalidJson, ParameterInvalid
from .ids import number_in_label
from .lifecycle import CREATE_STATUSES, Status
from .validation import validate_close, validate_create

_ID = re.compile(r"ticket_[0-9A-Za-z]{12,64}")


def _text(value: object) -> bool:
    return isinstance(value, str)


def _maybe_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _count(least: int) -> Callable[[object], bool]:
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= least


COMPUTED: Mapping[str, tuple[str, Callable[[object], bool]]] = {
    "number": ("a ticket number such as TICK-12", lambda v: number_in_label(v) is not None),
    "priority_label": ("a string", _text),
    "assigned_name": ("a string or null", _maybe_text),
    "sla": ("an object or null", lambda v: v is None or isinstance(v, dict)),
    "version": ("a whole number, 1 or more", _count(1)),
    "created_at": ("a time", _text),
    "updated_at": ("a time", _text),
    "first_response_at": ("a time or null", _maybe_text),
    "resolved_at": ("a time or null", _maybe_text),
    "closed_at": ("a time or null", _maybe_text),
    "reopened_count": ("a whole number, 0 or more", _count(0)),
}  # fmt: skip
"""Fields of an exported ticket that the API works out itself, with the shape an export
writes them in: an import checks the shape and sets them aside (the new database gives
the ticket its own number, times, version and SLA)."""

RESOLUTION = ("resolution_note", "customer_satisfaction", "resolution_time", "root_cause")
"""Fields of an exported ticket that its closing set: a closed ticket is closed again with
them; a ticket that is not closed keeps them only when they are empty."""


@attrs.frozen
class ImportRow:
    """One row, validated: the id it keeps (if any), the create's fields, the status it
    is to reach after its create, and the details of its closing."""

    id: str | None
    fields: dict[str, Any]
    status: Status | None = None
    resolution: dict[str, Any] = attrs.field(factory=dict)

    def fingerprint(self) -> bytes:
        """The row's content, canonically (equal rows, equal fingerprints)."""
        content = [self.fields, None if self.status is None else str(self.status), self.resolution]
        text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    def derived_id(self, occurrence: int) -> str:
        """The id a resumable import gives this row: the same for the same content and
        the same count of identical rows before it, whichever run reads it."""
        digest = hashlib.sha256(self.fingerprint() + occurrence.to_bytes(8, "big"))
        return "ticket_" + digest.hexdigest()[:32]


def read_row(row: object) -> ImportRow:
    """Validate one row of an import, as a create body or an exported ticket."""
    if not isinstance(row, Mapping):
        raise InvalidJson("each row must be a JSON object")
    given = _given_id(row)
    for name, (shape, fits) in COMPUTED.items():
        if name in row and not fits(row[name]):
            raise ParameterInvalid(
                f"{name} must be {shape}, as an export writes it (an import sets it aside)",
                param=name,
            )
    rest = {name: value for name, value in row.items() if name != "id" and name not in COMPUTED}
    status = _status(rest.get("status"))
    resolution = {name: rest.pop(name) for name in RESOLUTION if name in rest}
    if status is not None and status not in CREATE_STATUSES:
        del rest["status"]
    else:
        status = None  # reached by the create itself
    clean = validate_create(rest)
    kept = validate_close({k: v for k, v in resolution.items() if v is not None})
    if kept and status is not Status.CLOSED:
        name = next(iter(kept))
        raise ParameterInvalid(
            f"{name} is set, but only a closed ticket is imported with its resolution",
            param=name,
        )
    return ImportRow(given, clean, status, kept)


def _status(value: object) -> Status | None:
    if value is None:
        return None
    if isinstance(value, str) and value in Status._value2member_map_:
        return Status(value)
    raise ParameterInvalid(
        f"status must be one of {', '.join(s.value for s in Status)}", param="status"
    )


def _given_id(row: Mapping[str, Any]) -> str | None:
    """The id a row asks for (``ticket_`` and 12 to 64 letters and digits), so that
    tickets keep their ids when they move between databases."""
    given = row.get("id")
    if given is None:
        return None
    if not isinstance(given, str) or not _ID.fullmatch(given):
        raise ParameterInvalid(
            "id must be 'ticket_' followed by 12 to 64 letters and digits", param="id"
        )
    return given
