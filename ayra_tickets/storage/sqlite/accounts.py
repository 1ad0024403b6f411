"""The agent directory and the API keys in SQLite, keys stored only as salted, stretched
digests (see :mod:`ayra_tickets.domain.keys`).

The file's salt is a ``settings`` row (``api_key_salt``), made by migration 14. An
in-process cache spares a secret presented again the stretching (the query still runs,
so a revoked key stops at once).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlite_utils import Database

from ...domain.keys import POSSIBLE_SECRET, ApiKey, legacy_hash, new_salt, stretch
from ...domain.times import format_time
from ..port import StoredKey
from .routing import AgentRecords

SALT_SETTING = "api_key_salt"
"""The ``settings`` row holding the file's salt (32 hex digits), made by migration 14."""
DIGEST_CACHE = 256
"""How many presented secrets' digests a key store keeps (least recently used dropped)."""


class AgentStore(AgentRecords):
    """The agent directory (``agents``); the caller owns the transaction. Routing's
    fields of an agent are read and written by :class:`~.routing.AgentRecords`."""

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

    def name(self, agent_id: str) -> str | None:
        """The name of the agent with this id, if there is one."""
        row = self._conn.execute("SELECT name FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return None if row is None else str(row[0])


class KeyStore:
    """The API keys (``api_keys``); the caller owns the transaction, except for
    :meth:`digest`, which reads nothing."""

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

    def forget_digests(self) -> None:
        """Forget the digests of the secrets seen lately: the next time each is
        presented it is stretched anew, as in a new process (for tests and benchmarks)."""
        self._stretched.cache_clear()

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
        key = ApiKey.new(scopes, name, now, secret, chosen=chosen)
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
        return _key(row)

    def all(self) -> list[ApiKey]:
        rows = self._conn.execute(
            "SELECT id, name, prefix, scopes, created_at, revoked_at FROM api_keys ORDER BY rowid"
        )
        return [_key(row) for row in rows]

    def stored(self) -> tuple[str | None, list[StoredKey]]:
        """The file's salt, and every key with its digest, oldest first."""
        rows = self._conn.execute(
            "SELECT id, name, prefix, scopes, created_at, revoked_at, secret_hash"
            " FROM api_keys ORDER BY rowid"
        )
        return self._read_salt(), [StoredKey(_key(row), row[6]) for row in rows]

    def insert_stored(self, salt: str | None, keys: Sequence[StoredKey]) -> None:
        """Take ``salt`` as the file's (``None``: keep its own), and store ``keys`` as they
        are, in order."""
        if salt is not None:
            self._conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (SALT_SETTING, salt),
            )
            self._salt = salt
            self.forget_digests()
        self._conn.executemany(
            "INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, created_at, revoked_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (k.key.id, k.key.name, k.key.prefix, k.digest, " ".join(k.key.scopes),
                 k.key.created_at, k.key.revoked_at)
                for k in keys
            ],
        )  # fmt: skip

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


def _key(row: Sequence[str]) -> ApiKey:
    """A key from (id, name, prefix, scopes, created_at, revoked_at, ...)."""
    return ApiKey(row[0], row[1], row[2], tuple(row[3].split()), row[4], row[5])
