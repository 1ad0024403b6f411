"""Random identifiers: ticket ids, key secrets, request ids."""

from __future__ import annotations

import secrets
import string

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
