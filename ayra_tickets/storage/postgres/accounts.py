"""The agent directory and the API keys on PostgreSQL, keys stored only as salted,
stretched digests (see :mod:`ayra_tickets.domain.keys`), with the database's own salt (a
``settings`` row the baseline makes).

As on SQLite, an in-process cache spares a secret presented again the stretching (the
query still runs, so a revoked key stops at once).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...domain.keys import POSSIBLE_SECRET, ApiKey, legacy_hash, new_salt, stretch
from ...domain.times import format_optional, format_time, load_optional, load_time
from ..errors import WriteConflict
from ..port import StoredKey
from .policies import BUMP_VERSION
from .routing import AgentRecords

if TYPE_CHECKING:
    from .adapter import Connections

SALT_SETTING = "api_key_salt"
DIGEST_CACHE = 256
"""How many presented secrets' digests a key store keeps (least recently used dropped)."""
AGENT_NAME = "SELECT name FROM agents WHERE id = %s"


class AgentStore(AgentRecords):
    """The agent directory (``agents``); the caller owns the transaction. Routing's
    fields of an agent are read and written by :class:`~.routing.AgentRecords`."""

    def put(self, agent_id: str, name: str) -> None:
        self._run(
            "INSERT INTO agents (id, name) VALUES (%s, %s)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            (agent_id, name),
        )
        self._run(BUMP_VERSION)  # routing caches the directory: see .routing

    def remove(self, agent_id: str) -> bool:
        if "\x00" in agent_id:  # no text column holds a NUL
            return False
        removed = bool(self._run("DELETE FROM agents WHERE id = %s", (agent_id,)).rowcount > 0)
        if removed:
            self._run(BUMP_VERSION)  # routing caches the directory: see .routing
        return removed

    def all(self) -> dict[str, str]:
        # In code point order, as SQLite's: not the database's collation.
        return dict(self._run('SELECT id, name FROM agents ORDER BY id COLLATE "C"').fetchall())

    def name(self, agent_id: str) -> str | None:
        if "\x00" in agent_id:
            return None
        row = self._run(AGENT_NAME, (agent_id,)).fetchone()
        return None if row is None else str(row[0])


def _key(row: Any) -> ApiKey:
    """A key from (id, name, prefix, scopes, created_at, revoked_at)."""
    return ApiKey(
        row[0], row[1], row[2], tuple(row[3]), format_time(row[4]), format_optional(row[5])
    )


_KEY_COLUMNS = "id, name, prefix, scopes, created_at, revoked_at"


class KeyStore:
    """The API keys (``api_keys``); the caller owns the transaction, except for
    :meth:`digest`, which reads nothing."""

    def __init__(self, connections: Connections, salt: str | None) -> None:
        self._connections = connections
        self._salt = salt  # the database's: made by the baseline, never changed
        self._stretched = functools.lru_cache(maxsize=DIGEST_CACHE)(self._stretch)

    def _run(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self._connections.conn.execute(sql, tuple(params))

    def _stretch(self, secret: str) -> str:
        assert self._salt is not None  # checked by digest
        return stretch(legacy_hash(secret), self._salt)

    def digest(self, secret: object) -> str | None:
        if not isinstance(secret, str) or not POSSIBLE_SECRET.fullmatch(secret):
            return None
        if self._salt is None:
            return None
        return self._stretched(secret)

    def forget_digests(self) -> None:
        self._stretched.cache_clear()

    def _ensure_salt(self) -> None:
        """Give the database a salt if it lacks one (only a hand edit removes it)."""
        if self._salt is None:
            self._run(
                "INSERT INTO settings (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (SALT_SETTING, new_salt()),
            )
            row = self._run("SELECT value FROM settings WHERE key = %s", (SALT_SETTING,))
            self._salt = str(row.fetchone()[0])

    def create(
        self, scopes: Iterable[str], name: str | None, now: datetime, secret: str, *, chosen: bool
    ) -> ApiKey:
        self._ensure_salt()
        digest = self.digest(secret)
        assert digest is not None  # the caller validated the secret
        key = ApiKey.new(scopes, name, now, secret, chosen=chosen)
        # The caller found no key with this digest in its snapshot; one committed since
        # makes ON CONFLICT fail to serialize (40001, REPEATABLE READ), not a unique
        # violation, and the transaction runs again and sees it.
        made = self._run(
            "INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (secret_hash) DO NOTHING",
            (key.id, key.name, key.prefix, digest, list(key.scopes), now),
        )
        if made.rowcount != 1:
            raise WriteConflict("another key with this secret was stored meanwhile")
        return key

    def exists(self, digest: str) -> bool:
        row = self._run("SELECT 1 FROM api_keys WHERE secret_hash = %s", (digest,)).fetchone()
        return row is not None

    def find(self, digest: str) -> ApiKey | None:
        row = self._run(
            f"SELECT {_KEY_COLUMNS}, secret_hash FROM api_keys WHERE secret_hash = %s", (digest,)
        ).fetchone()
        if row is None or row[5] is not None or not hmac.compare_digest(row[6], digest):
            return None
        return _key(row)

    def all(self) -> list[ApiKey]:
        return [_key(row) for row in self._run(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY seq")]

    def live_matches(self, key_id: str) -> int:
        if "\x00" in key_id:  # no text column holds a NUL
            return 0
        (count,) = self._run(
            "SELECT count(*) FROM api_keys WHERE (id = %s OR prefix = %s) AND revoked_at IS NULL",
            (key_id, key_id),
        ).fetchone()
        return int(count)

    def revoke(self, key_id: str, now: datetime) -> bool:
        if "\x00" in key_id:
            return False
        cursor = self._run(
            "UPDATE api_keys SET revoked_at = %s"
            " WHERE (id = %s OR prefix = %s) AND revoked_at IS NULL",
            (now, key_id, key_id),
        )
        return bool(cursor.rowcount > 0)

    def stored(self) -> tuple[str | None, list[StoredKey]]:
        """The database's salt, and every key with its digest, oldest first."""
        row = self._run("SELECT value FROM settings WHERE key = %s", (SALT_SETTING,)).fetchone()
        keys = self._run(f"SELECT {_KEY_COLUMNS}, secret_hash FROM api_keys ORDER BY seq")
        return (None if row is None else str(row[0])), [StoredKey(_key(r), r[6]) for r in keys]

    def insert_stored(self, salt: str | None, keys: Sequence[StoredKey]) -> None:
        """Take ``salt`` as the database's (``None``: keep its own), and store ``keys`` as
        they are, in order."""
        if salt is not None:
            self._run(
                "INSERT INTO settings (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (SALT_SETTING, salt),
            )
            self._salt = salt
            self.forget_digests()
        if not keys:
            return
        self._connections.conn.cursor().executemany(
            "INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, created_at, revoked_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (k.key.id, k.key.name, k.key.prefix, k.digest, list(k.key.scopes),
                 load_time(k.key.created_at), load_optional(k.key.revoked_at))
                for k in keys
            ],
        )  # fmt: skip
