"""The storage port over one PostgreSQL database (one schema of it):
:class:`PostgresStorage`.

Two pools of connections (``psycopg_pool``), one for reads and one for writes, so that
the engine's threads (a server's) run their transactions side by side, and a read never
waits for a write, in this process or any other: not for its row locks (a read takes
none), nor for a connection (writes waiting for a lock hold only writers' connections).
Each transaction runs on one connection, which the calling thread holds until it ends
(:class:`Connections` tells the repositories which). Isolation and retries follow the
package's notes: ``REPEATABLE READ`` (``READ ONLY`` for a read), a write locks what it
decides on (the counter row, then the ticket), and a serialization failure, a deadlock
or a versioned update that lost the race runs the whole transaction again after a
jittered pause (:attr:`PostgresStorage.backoff`), up to :data:`RETRY_WAIT`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel
from psycopg_pool import ConnectionPool, PoolTimeout

from ..backoff import Backoff
from ..errors import (
    DatabaseBusy,
    NotATicketDatabase,
    NotSupported,
    StorageUnavailable,
    WriteConflict,
)
from ..findings import Progress, Report
from ..tables import COUNT_ALL, EMPTIED, counted
from .accounts import SALT_SETTING, AgentStore, KeyStore
from .check import check_address
from .errors import RETRIED, translated
from .escalation import EscalationStore
from .idempotency import IdempotencyStore
from .metrics import MetricsStore
from .policies import ACTIVE, BUMP_VERSION, VERSION, PolicyStore
from .routing import RoutingStore
from .schema import applied_migrations, upgrade
from .sync import SyncStore
from .tickets import TicketStore
from .webhooks import WebhookStore

T = TypeVar("T")
Connection = psycopg.Connection[Any]

RETRY_WAIT = 30.0
"""Seconds a transaction is retried for (serialization failures, deadlocks) before the
caller gets :class:`~ayra_tickets.storage.errors.DatabaseBusy`; as long as a SQLite write
waits for the file's lock."""
CONNECT_TIMEOUT = 10
"""Seconds to wait for the server when opening, and for a free connection of the pool."""
POOL_SIZE = 10
"""The most connections an engine holds for reads, and as many for writes (a server's
threads each use one at a time)."""

"""The tables :meth:`PostgresStorage.reset` empties, in an order the foreign keys allow."""
_KEPT_SETTINGS = ("created_in_number_order", SALT_SETTING, VERSION)
"""What describes the database, not its data, stays through a reset (the keys' salt, and
the policies' version, which the reset raises: other processes then reload them)."""


class Connections:
    """Which connection the calling thread's transaction runs on, and whether it writes:
    what the repositories execute their statements on."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def active(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    @property
    def conn(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            raise RuntimeError("no transaction: call the repositories inside storage.atomic()")
        return conn

    @property
    def writing(self) -> bool:
        return bool(getattr(self._local, "write", False))

    @property
    def policies_seen(self) -> int | None:
        """The policies' version this transaction has read, if it asked."""
        return getattr(self._local, "policies_seen", None)

    @policies_seen.setter
    def policies_seen(self, version: int) -> None:
        self._local.policies_seen = version

    def enter(self, conn: Connection, write: bool) -> None:
        self._local.conn, self._local.write = conn, write
        self._local.policies_seen, self._local.after = None, []

    def leave(self) -> None:
        self._local.conn, self._local.write = None, False
        self._local.policies_seen, self._local.after = None, []

    def after_commit(self, sql: str) -> None:
        """Run ``sql`` on this connection once the transaction commits, outside any
        transaction (what cannot run inside one: ``VACUUM``); not at all if it rolls
        back."""
        self._local.after.append(sql)

    def committed(self) -> None:
        """The transaction committed: run what waited for it."""
        pending, self._local.after = self._local.after, []
        for sql in pending:
            self.conn.execute(sql)


def configure(conn: Connection) -> None:
    """Every connection of both pools: times in UTC (psycopg then reads instants as UTC
    datetimes), and its transactions at REPEATABLE READ."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.isolation_level = IsolationLevel.REPEATABLE_READ


def _pool(address: str, size: int, name: str) -> ConnectionPool[Connection]:
    """An open pool of up to ``size`` connections to ``address``, configured as
    :func:`configure` says (raises ``PoolTimeout`` if none can be made)."""
    pool: ConnectionPool[Connection] = ConnectionPool(
        address,
        min_size=1,
        max_size=max(1, size),
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
        configure=configure,
        timeout=CONNECT_TIMEOUT,
        open=False,
        name=name,
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT)
    except PoolTimeout:
        pool.close()
        raise
    return pool


class PostgresStorage:
    """The storage port (:class:`~ayra_tickets.storage.port.Storage`) over one PostgreSQL
    database, in the first schema of the connection's ``search_path`` (a URL may name
    one: ``?options=-csearch_path%3Dmine``)."""

    def __init__(
        self,
        readers: ConnectionPool[Connection],
        writers: ConnectionPool[Connection],
        location: str,
        salt: str | None,
    ) -> None:
        self._pools = {False: readers, True: writers}
        self._location = location
        self._named = repr(location)
        self.connections = Connections()
        self.tickets = TicketStore(self.connections)
        self.idempotency = IdempotencyStore(self.connections)
        self.keys = KeyStore(self.connections, salt)
        self.agents = AgentStore(self.connections)
        self.policies = PolicyStore(self.connections)
        self.metrics = MetricsStore(self.connections)
        self.routing = RoutingStore(self.connections)
        self.webhooks = WebhookStore(self.connections)
        self.escalations = EscalationStore(self.connections)
        self.sync = SyncStore(self.connections)
        self._seen_version: int | None = None
        self._seen_lock = threading.Lock()
        self.backoff = Backoff(RETRY_WAIT)
        """How a transaction that met another's is run again: jittered pauses, growing,
        for up to :data:`RETRY_WAIT` seconds (a test may give another bound, clock or
        sleep)."""
        self.retried = 0
        """How many times a transaction was run again (for tests and benchmarks)."""

    @classmethod
    def open(
        cls,
        address: str,
        *,
        location: str | None = None,
        pool_size: int = POOL_SIZE,
        existing: bool = False,
    ) -> PostgresStorage:
        """Connect to the database at ``address`` (a ``postgresql://`` URL or a libpq
        connection string), bring its schema up to date (a newer one is refused,
        untouched), and open its pools of connections, for reads and for writes, of up
        to ``pool_size`` each. ``location`` is what messages call it (the address
        without its password). ``existing``: only a ticket database that is there
        already (a schema without one is
        :class:`~ayra_tickets.storage.errors.NotATicketDatabase`, and nothing is made)."""
        where = repr(location) if location else "at the given address"
        try:
            with psycopg.connect(address, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
                configure(conn)
                if existing and not applied_migrations(conn):
                    raise NotATicketDatabase(
                        f"the PostgreSQL database {where} holds no ticket database"
                    )
                upgrade(conn)
                row = conn.execute(
                    "SELECT value FROM settings WHERE key = %s", (SALT_SETTING,)
                ).fetchone()
        except psycopg.Error as error:
            unavailable = translated(error, where)
            if unavailable is None:
                raise
            raise unavailable from error
        pools: list[ConnectionPool[Connection]] = []
        try:
            for name in ("ayra-tickets-reads", "ayra-tickets-writes"):
                pools.append(_pool(address, pool_size, name))
        except PoolTimeout as error:
            for pool in pools:
                pool.close()
            raise StorageUnavailable(f"the database {where} cannot be reached") from error
        readers, writers = pools
        return cls(readers, writers, location or "", None if row is None else str(row[0]))

    @property
    def location(self) -> str:
        return self._location

    @property
    def identity(self) -> str:
        """The server (its system identifier where the role may read it, else the address
        it answers on), the database and the schema."""
        with self._pools[False].connection() as conn:
            try:
                with conn.transaction():
                    row = conn.execute(
                        "SELECT system_identifier::text FROM pg_control_system()"
                    ).fetchone()
            except psycopg.Error:
                row = conn.execute(
                    "SELECT coalesce(host(inet_server_addr()), %s) || ':'"
                    " || current_setting('port')",
                    (conn.info.host,),
                ).fetchone()
            server = None if row is None else row[0]
            place = conn.execute("SELECT current_database(), current_schema()").fetchone()
        assert place is not None
        return f"postgresql:{server}/{place[0]}/{place[1]}"

    def counts(self) -> dict[str, int]:
        return counted(self.connections.conn.execute(COUNT_ALL).fetchone())

    def atomic(self, work: Callable[[], T], *, write: bool = False) -> T:
        """One transaction (see the port): ``REPEATABLE READ``, ``READ ONLY`` unless
        ``write``, on a connection of the pool for its kind; run again from its start
        after a serialization failure (SQLSTATE 40001), a deadlock (40P01) or a lost
        versioned update, after pauses of :attr:`backoff`, and past its bound
        :class:`~ayra_tickets.storage.errors.DatabaseBusy`. Inside another it is a
        savepoint of that one (and what fails there is retried with the whole)."""
        try:
            if self.connections.active:
                with self.connections.conn.transaction():
                    return work()
            return self._retried(work, write)
        except PoolTimeout as error:
            raise DatabaseBusy(
                f"the database {self._named} is busy: no connection was free"
                f" within {CONNECT_TIMEOUT} s"
            ) from error
        except psycopg.Error as error:
            unavailable = translated(error, self._named)
            if unavailable is None:
                raise
            raise unavailable from error

    def _retried(self, work: Callable[[], T], write: bool) -> T:
        """``work`` in a transaction of its own, run until it commits, or until the
        backoff's bound has passed."""
        waiting = self.backoff.start()
        while True:
            try:
                return self._once(work, write)
            except (*RETRIED, WriteConflict) as error:
                self.retried += 1  # a race between threads may lose a count: only a gauge
                if not waiting.pause():
                    raise DatabaseBusy(
                        f"the database {self._named} is busy: a transaction kept meeting"
                        f" others' for over {self.backoff.wait:g} s ({error})"
                    ) from error

    def _once(self, work: Callable[[], T], write: bool) -> T:
        with self._pools[write].connection() as conn:
            conn.read_only = not write
            self.connections.enter(conn, write)
            try:
                with conn.transaction():
                    done = work()
                self._saw(self.connections.policies_seen)
                self.connections.committed()
                return done
            finally:
                self.connections.leave()

    sees_every_commit = False  # the version moves for the policies only

    def commit_mark(self) -> object | None:
        return None  # another process's commit goes unseen: every check reads

    def changed(self) -> bool:
        """Whether the SLA policies (what the services cache) have changed since the last
        call, by this process or another: a version in ``settings`` that every change of
        them (and a reset) raises in its transaction. True on the first call.

        A version counts as seen once the transaction that read it commits: one that
        fails before the caller has reloaded the policies (and is run again) leaves it
        unseen, so the next attempt reloads them."""
        version = self.policies.version()
        with self._seen_lock:
            if self._seen_version is not None and version <= self._seen_version:
                return False
        self.connections.policies_seen = version
        return True

    def _saw(self, version: int | None) -> None:
        """A transaction that read the policies' ``version`` has committed."""
        if version is None:
            return
        with self._seen_lock:
            if self._seen_version is None or version > self._seen_version:
                self._seen_version = version

    def reset(self) -> None:
        """Empty the database in the caller's transaction with ``DELETE`` (``TRUNCATE``
        would make every reader wait), the counter first, as every write locks it."""
        conn = self.connections.conn
        conn.execute("UPDATE ticket_counter SET last_number = 0, last_created_at = NULL")
        for table in EMPTIED:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM settings WHERE key <> ALL(%s)", (list(_KEPT_SETTINGS),))
        conn.execute(BUMP_VERSION)
        assert ACTIVE not in _KEPT_SETTINGS

    def check(self, progress: Progress | None = None) -> Report:
        """Every check (:mod:`.check`), in a read-only snapshot on a connection of its
        own."""
        address = self._pools[False].conninfo
        assert isinstance(address, str)  # open() gives the pools their address
        return check_address(address, self._location, progress)

    def backup(self, target: Path) -> Path:
        raise NotSupported(
            f"a backup of a PostgreSQL database ({self._named}) is not made by"
            " ayra-tickets: use pg_dump"
        )

    def close(self) -> None:
        """Close every connection of both pools."""
        for pool in self._pools.values():
            pool.close()
