"""The SQLite adapter of the storage port: one file through sqlite-utils.

``adapter.py`` holds :class:`SqliteStorage`, the port over one file; the rest are its
parts: the file's opening (``database.py``), transactions and the write lock
(``locking.py``), the schema and its migrations (``schema.py``), a ticket's rows
(``rows.py``), the SQL of lists and searches (``query.py``), the repositories
(``tickets.py``, ``idempotency.py``, ``accounts.py``, ``policies.py``), the figures
(``metrics.py``), the checks of a file (``check.py``) and SQLite's errors as the port's
(``errors.py``).
"""

from .adapter import SqliteStorage

__all__ = ["SqliteStorage"]
