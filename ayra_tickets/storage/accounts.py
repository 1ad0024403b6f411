"""The agent directory and the API keys (stored only as hashes)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

import attrs
from sqlite_utils import Database

from ..domain.ids import random_token
from ..domain.times import format_time

SCOPES = ("tickets:read", "tickets:write")


def hash_secret(secret: str) -> str:
    # Made secrets are 32 random base62 characters: a fast hash is enough, no stretching
    # needed. (A chosen secret is a test's fixed key, not a password to protect.)
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@attrs.frozen
class ApiKey:
    """A stored key, without its secret."""

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

    def create(
        self, scopes: Iterable[str], name: str | None, now: datetime, secret: str | None = None
    ) -> tuple[str, ApiKey]:
        secret = secret or "sk_test_" + random_token(32)
        key = ApiKey(
            id="key_" + random_token(16),
            name=name,
            prefix=secret[: min(12, len(secret) // 2)],  # never more than half of it
            scopes=tuple(scopes),
            created_at=format_time(now),
        )
        self._conn.execute(
            "INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key.id, key.name, key.prefix, hash_secret(secret), " ".join(key.scopes),
             key.created_at),
        )  # fmt: skip
        return secret, key

    def exists(self, secret: str) -> bool:
        """Whether some key, live or revoked, has this secret."""
        row = self._conn.execute(
            "SELECT 1 FROM api_keys WHERE secret_hash = ?", (hash_secret(secret),)
        ).fetchone()
        return row is not None

    def find(self, secret: str) -> ApiKey | None:
        """The live key whose secret this is, or ``None``."""
        digest = hash_secret(secret)
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
