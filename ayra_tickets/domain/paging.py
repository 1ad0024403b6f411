"""Cursors for keyset pagination: opaque to callers, checked when they come back.

A cursor names where the last page ended (that ticket's sort value and number) and
carries a fingerprint of the filters and order it was made for, so that a cursor used
with other filters is refused rather than answering a page of something else.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from .errors import ParameterInvalid
from .times import format_optional, format_time

if TYPE_CHECKING:
    from .ticket import Ticket

SQLITE_INTEGER_MAX = 2**63 - 1
"""The largest integer SQLite holds: a cursor's numbers beyond it are forged."""


@attrs.frozen
class Cursor:
    key: str | int | None  # the last ticket's value of the sort column
    number: int  # the last ticket's number, the tie-breaker
    fingerprint: str


def sort_key(ticket: Ticket, sort_by: str) -> str | int | None:
    """A ticket's value of the sort column, as a cursor carries it: a priority as a
    number, a time as RFC 3339 text (``None`` for no due date)."""
    if sort_by == "priority":
        return int(ticket.priority)
    value: datetime | None = getattr(ticket, sort_by)
    return format_optional(value)


def fingerprint(filters: dict[str, Any]) -> str:
    """A short digest of a query's filters, sort column and order."""
    canonical = json.dumps(filters, sort_keys=True, default=_plain, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if hasattr(value, "tzinfo"):
        return format_time(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    return str(value)


def encode(cursor: Cursor) -> str:
    raw = json.dumps([1, cursor.key, cursor.number, cursor.fingerprint], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).rstrip(b"=").decode("ascii")


def decode(text: Any) -> Cursor:
    """A cursor from its text; a 400 naming ``cursor`` when it is not one of ours."""
    invalid = ParameterInvalid("cursor is not a cursor this API gave out", param="cursor")
    if not isinstance(text, str) or not 0 < len(text) <= 512:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, key, number, digest = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise invalid from None
    valid = (
        version == 1
        and _integer(version)
        and _integer(number)
        and 0 < number <= SQLITE_INTEGER_MAX
        and isinstance(digest, str)
        and (key is None or isinstance(key, str) or _integer(key))
        and not (isinstance(key, int) and abs(key) > SQLITE_INTEGER_MAX)
    )
    if not valid:
        raise invalid
    return Cursor(key, number, digest)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
