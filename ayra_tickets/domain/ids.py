"""Identifiers: random ones (ticket ids, key secrets, request ids), and the ticket
number a person reads (``TICK-36``) taken as an id."""

from __future__ import annotations

import re
import secrets
import string

from .paging import SQLITE_INTEGER_MAX  # no ticket number is above it

_NUMBER_LABEL = re.compile(r"TICK-([1-9][0-9]{0,18})")

_BASE62 = string.digits + string.ascii_letters
# Random bytes below 248 (4 x 62) map evenly onto the 62 characters; the rest are dropped.
_TO_BASE62 = bytes(ord(_BASE62[b % 62]) for b in range(256))
_UNEVEN = bytes(range(248, 256))


def random_token(length: int) -> str:
    """``length`` characters from [0-9A-Za-z], each uniformly random (``secrets``)."""
    while True:
        chars = secrets.token_bytes(length + 8).translate(_TO_BASE62, _UNEVEN)
        if len(chars) >= length:
            return chars[:length].decode("ascii")


def number_in_label(label: object) -> int | None:
    """The number of a ticket label as the API writes it (``TICK-36`` -> 36), or None
    for anything else (``tick-36``, ``TICK-036``, ``36``, a number no ticket can have)."""
    if not isinstance(label, str):
        return None
    found = _NUMBER_LABEL.fullmatch(label)
    number = int(found.group(1)) if found else None
    return number if number is not None and number <= SQLITE_INTEGER_MAX else None
