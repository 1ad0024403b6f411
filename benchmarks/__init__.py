"""Benchmarks of ayra-tickets against raw sqlite3 doing the same work (``python -m benchmarks``)."""
