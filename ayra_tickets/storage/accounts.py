"""The agent directory and the API keys, stored only as salted, stretched digests.

A key's stored digest is ``scrypt(SHA-256(secret) as hex, salt, n=2**13, r=8, p=1)``
(32 bytes, hex) with the file's own random salt (``settings``, ``api_key_salt``): the
file, even with its key listing, gives a chosen secret back only at a few dozen guesses a
second per core and 8 MiB each, and two files holding the same secret hold different
digests. Hashing SHA-256 first lets the upgrade stretch the plain SHA-256 digests that
earlier releases stored (migration 14) without knowing the secrets. The digest is
deterministic, so a key is still found by one indexed query; an in-process cache spares
a secret presented again the stretching (the query still runs, so a revoked key stops at
once).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

import attrs
from sqlite_utils import Database

from ..domain.ids import random_token
from ..domain.times import format_time

SCOPES = ("tickets:read", "tickets:write")

SALT_SETTING = "api_key_salt"
"""The ``settings`` row holding the file's salt (32 hex digits), made by migration 14."""
KDF_N, KDF_R, KDF_P = 2**13, 8, 1
"""scrypt's cost: 128 * n * r bytes (8 MiB) and about 17 ms of one core per digest."""
DIGEST_CACHE = 256
"""How many presented secrets' digests a key store keeps (least recently used dropped)."""

MADE_PREFIX = "sk_test_"
MADE_LENGTH = 32
"""A made secret: ``sk_test_`` and 32 random base62 characters (190 bits)."""
SHOWN_OF_MADE = 4
"""How many of a made secret's random characters its listed prefix shows (24 bits)."""

POSSIBLE_SECRET = re.compile(r"[A-Za-z0-9_]{8,200}")
"""What any key's secret looks like, chosen ones from earlier releases (8 characters and
up) included: anything else is refused before any hashing."""


def legacy_hash(secret: str) -> str:
    """The plain SHA-256 (hex) that releases before migration 14 stored."""
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


@attrs.frozen
class ApiKey:
    """A stored key, without its secret. ``prefix`` is what a listing shows to tell keys
    apart: a made key's ``sk_test_`` and first 4 random characters, or for a chosen
    secret (and any key from before migration 14) the key's id, nothing derived from the
    secret."""

    id: str
    name: str | None
    prefix: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None


class AgentStore:
    def __init__(self, db: Database) -> None:
        self._conn = db.conn

    def put(self, agent_id: str, name: str) -> None:
        self._conn.execute(
            "INSERT INTO agents (id, name) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            (agent_id, name),
        )

    def remove(self, agent_id: str) -> bool:
        return self._conn.execute("DELETE FROM agents WHERE id = ?", (agent_id,)).rowcount > 0

    def all(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT id, name FROM agents ORDER BY id").fetchall())


class KeyStore:
    def __init__(self, db: Database) -> None:
        self._conn = db.conn
        self._salt = self._read_salt()  # the file's: made by migration 14, never changed
        self._stretched = functools.lru_cache(maxsize=DIGEST_CACHE)(self._stretch)

    def _read_salt(self) -> str | None:
        row = self._conn.execute(
            "SELECT value FROM settings WHERE key = ?", (SALT_SETTING,)
        ).fetchone()
        return None if row is None else str(row[0])

    def _stretch(self, secret: str) -> str:
        assert self._salt is not None  # checked by digest
        return stretch(legacy_hash(secret), self._salt)

    def digest(self, secret: object) -> str | None:
        """The digest a key with this secret is stored under (``None``: no key can have
        it). A secret not seen lately takes milliseconds to stretch, and no query: call
        it outside the engine's lock."""
        if not isinstance(secret, str) or not POSSIBLE_SECRET.fullmatch(secret):
            return None
        if self._salt is None:
            return None
        return self._stretched(secret)

    def ensure_salt(self) -> None:
        """Give the file a salt if it lacks one (only a hand edit removes it); the caller
        holds the write lock."""
        if self._salt is None:
            self._conn.execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
                (SALT_SETTING, new_salt()),
            )
            self._salt = self._read_salt()

    def create(
        self, scopes: Iterable[str], name: str | None, now: datetime, secret: str, *, chosen: bool
    ) -> ApiKey:
        """Store a key with this secret (``chosen``: given by the caller, not made with
        :func:`make_secret`), listed with a prefix that shows nothing of a chosen one."""
        self.ensure_salt()
        digest = self.digest(secret)
        assert digest is not None  # the caller validated the secret
        key_id = "key_" + random_token(16)
        key = ApiKey(
            id=key_id,
            name=name,
            prefix=key_id if chosen else secret[: len(MADE_PREFIX) + SHOWN_OF_MADE],
            scopes=tuple(scopes),
            created_at=format_time(now),
        )
        self._conn.execute(
            "INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key.id, key.name, key.prefix, digest, " ".join(key.scopes), key.created_at),
        )
        return key

    def exists(self, digest: str) -> bool:
        """Whether some key, live or revoked, is stored under this digest."""
        row = self._conn.execute(
            "SELECT 1 FROM api_keys WHERE secret_hash = ?", (digest,)
        ).fetchone()
        return row is not None

    def find(self, digest: str) -> ApiKey | None:
        """The live key stored under this digest (see :meth:`digest`), or ``None``: one
        indexed query."""
        row = self._conn.execute(
            "SELECT id, name, prefix, scopes, created_at, revoked_at, secret_hash"
            " FROM api_keys WHERE secret_hash = ?",
            (digest,),
        ).fetchone()
        if row is None or row[5] is not None or not hmac.compare_digest(row[6], digest):
            return None
        return ApiKey(row[0], row[1], row[2], tuple(row[3].split()), row[4], row[5])

    def all(self) -> list[ApiKey]:
        rows = self._conn.execute(
            "SELECT id, name, prefix, scopes, created_at, revoked_at FROM api_keys ORDER BY rowid"
        )
        return [ApiKey(r[0], r[1], r[2], tuple(r[3].split()), r[4], r[5]) for r in rows]

    def live_matches(self, key_id: str) -> int:
        """How many live keys have this id or this prefix."""
        (count,) = self._conn.execute(
            "SELECT COUNT(*) FROM api_keys WHERE (id = ? OR prefix = ?) AND revoked_at IS NULL",
            (key_id, key_id),
        ).fetchone()
        return int(count)

    def revoke(self, key_id: str, now: datetime) -> bool:
        cursor = self._conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR prefix = ?) AND revoked_at IS NULL",
            (format_time(now), key_id, key_id),
        )
        return cursor.rowcount > 0
