"""Storage: the port the services use, and the adapters behind it.

``port.py`` says what the services need of a database; ``errors.py`` what a database
can refuse and ``findings.py`` what a check of one says, whatever the database. The
adapters implement the port: ``sqlite/`` for a file, ``postgres/`` for a PostgreSQL
database. Only the engine (the composition root) picks an adapter; the domain and the
services never import one.
"""
