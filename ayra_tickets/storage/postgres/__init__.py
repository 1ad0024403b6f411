"""The PostgreSQL adapter: the storage port over psycopg 3.

``adapter.py`` holds :class:`~.adapter.PostgresStorage`, the port over one database (one
schema of it), its pools of connections and its transactions; the rest are its parts:
the schema and its migrations (``schema.py``), a ticket's rows (``rows.py``), the SQL of
lists (``query.py``), search with SQLite's word and prefix rules (``search.py``), the
repositories (``tickets.py``, ``idempotency.py``, ``accounts.py``, ``policies.py``), the
figures (``metrics.py``), the checks of a database (``check.py``) and psycopg's errors
as the port's (``errors.py``). Not here: ``backup`` (it raises
:class:`~ayra_tickets.storage.errors.NotSupported`: use ``pg_dump``); ``ayra-tickets
copy`` moves a whole database here from a file and back (:mod:`ayra_tickets.transfer`).
``python -m benchmarks --postgres URL`` measures it beside raw psycopg running its very
statements (which is why they are named constants). Only the engine imports it, and only to open a PostgreSQL URL, so that the ``postgres``
extra (psycopg) stays optional.

Design decisions
================

Isolation: REPEATABLE READ, with explicit row locks, and every transaction retried
----------------------------------------------------------------------------------
- **Reads** (a page and its count, a ticket, its events, the figures) run as
  ``REPEATABLE READ READ ONLY``: one snapshot for the count and the page, and on
  PostgreSQL such a transaction never waits for a writer's locks and never fails to
  serialize. Reads wait only for DDL (a migration), so the adapter must keep DDL out of
  normal operation: ``DELETE``, not ``TRUNCATE``, for a reset; no dropped indexes for an
  import (SQLite's ``defer_indexes``), or ``CREATE INDEX CONCURRENTLY`` outside a
  transaction.
- **Writes** run as ``REPEATABLE READ`` and first lock what they decide on, in one
  order: the counter row (a create, an import, a reset), then tickets by ascending
  number (``SELECT ... FOR UPDATE``, which also makes If-Match a plain comparison with
  the locked row's version), then the rest. Every invariant of the engine lives in one
  row or one unique key: a ticket's version, the counter, ``(owner, key)`` of an
  idempotency key, a ticket id, a key digest. So snapshot isolation with those locks
  gives the same outcomes as serial execution, and no write skew is left to guard
  against (a policy changed during a create may apply or not: either order is a serial
  one).
- **Every transaction is a function re-run from its start** on SQLSTATE 40001
  (serialization failure) and 40P01 (deadlock), after jittered pauses that grow from
  2 ms to 100 ms (:mod:`ayra_tickets.storage.backoff`), for up to 30 s; then the caller
  gets ``DatabaseBusy``. Nothing outside the database changes before the commit (the
  services compute, the transaction writes; the SLA policies the services cache count
  as seen only once a transaction that read them commits). On PostgreSQL, at REPEATABLE
  READ, a writer that waited for a row lock gets 40001 when the holder commits a change
  to that row; with the lock order above, 40P01 should not occur, but costs nothing to
  retry.
- **A unique key met at once is a serialization failure too**: a plain ``INSERT`` that
  meets a row committed after its snapshot raises a unique violation (23505), not 40001,
  at REPEATABLE READ. So an insert whose key the transaction checked first (a key's
  chosen secret) is ``INSERT ... ON CONFLICT DO NOTHING``, which PostgreSQL then fails
  to serialize, and the re-run sees the row and refuses as the API says. Creates and
  imports need no such care: each locks the counter row, which every other create has
  changed, so one that read before another committed fails to serialize there.

Why not SERIALIZABLE on PostgreSQL: its checks (SSI) add predicate locks to every read
of a write transaction, abort writers on dependencies through index pages and whole
tables (a list or a search read in a write would do it) that are no conflict of the
engine's, and can abort read-only transactions too, unless they are ``DEFERRABLE``,
which then wait for a safe snapshot: against "reads never wait". Nothing it would catch
is left uncaught by the locks above.

Why the same code runs on CockroachDB and YugabyteDB: both speak this SQL, both take
``FOR UPDATE`` locks, and both need the client to retry 40001 at any level, which the
retry loop does. CockroachDB runs SERIALIZABLE by default and, depending on its version
and cluster settings, runs a REPEATABLE READ request as SERIALIZABLE: the code is
correct at either level, only retried more often. There, unlike PostgreSQL, a read can
wait for a conflicting writer's intent; reads that must never wait would read ``AS OF
SYSTEM TIME`` a moment ago (a few seconds stale), a choice for the adapter's options.

Measured here (``tests/postgres/test_schema.py``, 4 writers each creating 25 tickets
against one counter, a fifth rolled back): READ COMMITTED retried nothing,
REPEATABLE READ and SERIALIZABLE retried roughly every other create (the counter's row lock
queues creates; at these levels the queued ones fail and start again). If creates under
contention prove costly, creates alone (which insert new rows and lock only the counter)
may run at READ COMMITTED on PostgreSQL, where the counter's ``UPDATE`` waits and reads
the committed row instead of failing. The numbers stay gapless at every level.

The gapless ticket number
-------------------------
Not a sequence: a sequence's values are not returned by a rollback, so every rejected
create, failed insert or retried transaction would leave a gap. ``ticket_counter`` is
one row, updated by ``schema.NEXT_NUMBER`` (``UPDATE ... SET last_number = last_number
+ 1 ... RETURNING``) in the transaction that inserts the ticket. The update locks the
row until that transaction ends, so creates queue there one at a time; a rollback undoes
the increment with the rest of the create, and the next create takes the same number.
The row also keeps the latest creation time, raised by the same update (``greatest`` of
it and the writer's now), so creation times never go down as numbers go up, even
between app servers whose clocks differ (SQLite's ``created_in_number_order``). The
cost: creates are serial, so the transaction that holds the counter is kept short (the
ticket is built before it; its statements go in one pipeline).

A ticket's objects are ``json``: what was written comes back
-------------------------------------------------------------
``jsonb`` keeps values, not their spelling: objects come back with their keys in
jsonb's order (shorter keys first), and numbers as PostgreSQL's ``numeric`` spells them
(``1e+20`` comes back ``100000000000000000000``, an int; ``-0.0`` comes back ``0.0``;
``tests/postgres/test_schema.py`` shows it). The API answers ``custom_fields`` and
``metadata`` with their keys in the order they were sent, as SQLite keeps them, and the
same wire JSON on both backends is what ``copy`` compares. So those columns, the
events' values (which carry the same objects) and an idempotency key's remembered row
are ``json``: the text as the engine wrote it (compact, keys in order), checked to be
JSON, read back with ``json.loads``. Nothing filters or indexes inside them, so nothing
is lost; a later index on a key would be an expression index (``(metadata->>'k')``). The
SLA policies, which the engine alone reads and never shows as stored, stay ``jsonb``.

The pool, and who sees what
---------------------------
An engine holds two ``psycopg_pool.ConnectionPool`` (up to ``POOL_SIZE`` connections
each, autocommit, time zone UTC), one for reads and one for writes: each transaction
takes a connection of its kind for its duration, so a server's threads read and write
side by side, and a read never queues behind this engine's own writes as it does on
SQLite's single connection, even when every writer's connection waits for a locked row.

``changed()`` answers whether the SLA policies (the one thing the services cache) may
have changed since the last call: a ``policies_version`` row of ``settings`` that every
change of the policies, and a reset, raises in the same transaction. Read in each
transaction's snapshot, it is exact across processes and engines (a number not yet seen
means reload), costs one primary-key read, and needs no server-side state such as
``pg_stat`` counters (which lag, and count other tables' writes) or ``LISTEN/NOTIFY``
(which a pooled connection would miss between transactions).

Lists and their indexes
-----------------------
Every filter and order has an index (``schema.INDEXES``), and
``tests/postgres/test_query_plans.py`` holds the server's plans to them. The SQL of a
list helps the planner in two ways (:mod:`.query`): one status or priority is an
equality, not ``= ANY``, so that an index led by that column gives the page in its
order without a sort; and a cursor page in due-date order reads two index ranges in
turn (the dated tickets after the cursor, then the undated ones), since one condition
joining them by ``OR`` is a range of no index, and each deeper page would read more.

Search
------
See :mod:`.search`: the adapter writes each ticket's words as a ``tsvector`` (no
stemming, no stop words, SQLite's own folding and word breaks) with a GIN index, and a
search as a ``tsquery`` of prefixes; a test compares both backends' answers.
"""
