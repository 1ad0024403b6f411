"""API keys: their scopes, how a secret is made, and the digest a key is stored under.

A key's stored digest is ``scrypt(SHA-256(secret) as hex, salt, n=2**13, r=8, p=1)``
(32 bytes, hex) with the database's own random salt: the database, even with its key
listing, gives a chosen secret back only at a few dozen guesses a second per core and
8 MiB each, and two databases holding the same secret hold different digests. Hashing
SHA-256 first lets an upgrade stretch the plain SHA-256 digests that earlier releases
stored without knowing the secrets. The digest is deterministic, so a key is still found
by one indexed query. Every storage adapter stores keys this way.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

import attrs

from .ids import random_token
from .times import format_time

SCOPES = ("tickets:read", "tickets:write")

KDF_N, KDF_R, KDF_P = 2**13, 8, 1
"""scrypt's cost: 128 * n * r bytes (8 MiB) and about 17 ms of one core per digest."""

MADE_PREFIX = "sk_test_"
MADE_LENGTH = 32
"""A made secret: ``sk_test_`` and 32 random base62 characters (190 bits)."""
SHOWN_OF_MADE = 4
"""How many of a made secret's random characters its listed prefix shows (24 bits)."""

POSSIBLE_SECRET = re.compile(r"[A-Za-z0-9_]{8,200}")
"""What any key's secret looks like, chosen ones from earlier releases (8 characters and
up) included: anything else is refused before any hashing."""


def legacy_hash(secret: str) -> str:
    """The plain SHA-256 (hex) that releases before the salted digests stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def stretch(legacy: str, salt: str) -> str:
    """The stored digest of the secret whose :func:`legacy_hash` is ``legacy``."""
    return hashlib.scrypt(
        legacy.encode("ascii"), salt=bytes.fromhex(salt), n=KDF_N, r=KDF_R, p=KDF_P, dklen=32
    ).hex()


def new_salt() -> str:
    return secrets.token_hex(16)


def make_secret() -> str:
    return MADE_PREFIX + random_token(MADE_LENGTH)


def listed_prefix(key_id: str, secret: str, *, chosen: bool) -> str:
    """What a listing shows of a key: a made secret's ``sk_test_`` and first random
    characters; for a chosen secret the key's id, nothing derived from the secret."""
    return key_id if chosen else secret[: len(MADE_PREFIX) + SHOWN_OF_MADE]


@attrs.frozen
class ApiKey:
    """A stored key, without its secret. ``prefix`` is what a listing shows to tell keys
    apart: a made key's ``sk_test_`` and first 4 random characters, or for a chosen
    secret (and any key from before the salted digests) the key's id, nothing derived
    from the secret."""

    id: str
    name: str | None
    prefix: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None

    @classmethod
    def new(
        cls, scopes: Iterable[str], name: str | None, now: datetime, secret: str, *, chosen: bool
    ) -> ApiKey:
        """A new key's record: a fresh id, and the prefix its listing shows
        (:func:`listed_prefix`; ``chosen``: the secret was given, not made)."""
        key_id = "key_" + random_token(16)
        return cls(
            id=key_id,
            name=name,
            prefix=listed_prefix(key_id, secret, chosen=chosen),
            scopes=tuple(scopes),
            created_at=format_time(now),
        )
